package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultSessionTTL is how long a session token stays valid without being
// used (WithSessionTTL changes it).
const DefaultSessionTTL = 30 * 24 * time.Hour

// MaxDeviceLen is the longest device label stored with a session, in bytes.
const MaxDeviceLen = 128

// ErrSessionExpired: a session token that was not used for longer than the
// session TTL. Errors carrying it also match ErrNotFound, because the token no
// longer exists once it is found expired.
var ErrSessionExpired = errors.New("store: session expired")

// Session is one sign-in session (one token) of an account, as its owner may
// see it. The token itself is never returned after NewSession.
type Session struct {
	// ID is opaque and stable: derived from the token's hash, so it names the
	// session without revealing or allowing to rebuild the token.
	ID     string
	UserID int64
	// Device is the label given at creation (e.g. "Chromium on Linux").
	Device string
	// Created is when the session was made by a login, registration or guest
	// sign-in; LastUsed when it last signed in (or was seen online),
	// accurate to the touch interval.
	Created  time.Time
	LastUsed time.Time
}

// WithSessionTTL sets how long a session token may go unused before it no
// longer signs in and is deleted (default DefaultSessionTTL). Every use slides
// the expiry.
func WithSessionTTL(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.sessionTTL = d
		}
	}
}

// WithClock replaces the clock sessions are dated and expired by (tests).
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// SessionTTL is how long a session token may go unused.
func (s *Store) SessionTTL() time.Duration { return s.sessionTTL }

// touchEvery is how stale a session's last-used time may get before a use
// writes it again: at most once an hour per session, to spare the database,
// and more often for short TTLs so the sliding expiry stays accurate.
func (s *Store) touchEvery() time.Duration {
	return min(time.Hour, s.sessionTTL/24)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// SessionID returns the opaque ID of the session a token signs in (see
// Session.ID). It needs no database.
func SessionID(token string) string { return sessionIDOf(tokenHash(token)) }

func sessionIDOf(hash []byte) string {
	h := sha256.Sum256(append([]byte("parley session id\x00"), hash...))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// NewSession creates a sign-in session for the user and returns its token: 32
// random bytes, base64url. Only the token's SHA-256 is stored, so the token is
// returned this once.
func (s *Store) NewSession(ctx context.Context, userID int64) (string, error) {
	return s.NewDeviceSession(ctx, userID, "")
}

// NewDeviceSession is NewSession with a device label to show in the list of
// the account's sessions (cut to MaxDeviceLen bytes).
func (s *Store) NewDeviceSession(ctx context.Context, userID int64, device string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("store: new session: %w", err)
	}
	device = strings.ToValidUTF8(device, "")
	for len(device) > MaxDeviceLen {
		_, n := utf8.DecodeLastRuneInString(device)
		device = device[:len(device)-n]
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now().UnixMilli()
	_, err := s.db.ExecContext(ctx, s.d.q(`INSERT INTO sessions (token_hash, user_id, created_at, last_used_at, device) VALUES (?, ?, ?, ?, ?)`),
		tokenHash(token), userID, now, now, device)
	if err != nil {
		if isForeignKeyViolation(err) {
			return "", fmt.Errorf("store: new session for user %d: %w", userID, ErrNotFound)
		}
		return "", fmt.Errorf("store: new session for user %d: %w", userID, err)
	}
	return token, nil
}

// UserByToken returns the user a session token signs in, or ErrNotFound. A
// token unused for longer than the session TTL is deleted and gives an error
// matching both ErrSessionExpired and ErrNotFound. A use slides the expiry:
// the last-used time is written when it is older than the touch interval.
func (s *Store) UserByToken(ctx context.Context, token string) (User, error) {
	if token == "" || len(token) > 256 {
		return User{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	hash := tokenHash(token)
	var (
		u        User
		lastUsed time.Time
	)
	err := s.db.QueryRowContext(ctx,
		s.d.q(`SELECT u.id, u.username, u.display_name, u.guest, u.created_at, s.last_used_at
		 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`), hash).
		Scan(&u.ID, &u.Username, &u.DisplayName, &u.Guest, scanMillis(&u.Created), scanMillis(&lastUsed))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: session: %w", err)
	}
	now := s.now()
	if now.Sub(lastUsed) > s.sessionTTL {
		// The condition is repeated so that a use racing this one is not undone.
		if _, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE token_hash = ? AND last_used_at < ?`),
			hash, now.Add(-s.sessionTTL).UnixMilli()); err != nil {
			return User{}, fmt.Errorf("store: delete expired session: %w", err)
		}
		return User{}, fmt.Errorf("store: session: %w (%w)", ErrSessionExpired, ErrNotFound)
	}
	if now.Sub(lastUsed) >= s.touchEvery() {
		if _, err := s.db.ExecContext(ctx, s.d.q(`UPDATE sessions SET last_used_at = ? WHERE token_hash = ?`),
			now.UnixMilli(), hash); err != nil {
			return User{}, fmt.Errorf("store: touch session: %w", err)
		}
	}
	return u, nil
}

// TouchSessions marks the sessions of these tokens as used now (they are
// online), writing only those whose last-used time is older than the touch
// interval. Unknown tokens are ignored.
func (s *Store) TouchSessions(ctx context.Context, tokens []string) error {
	if len(tokens) == 0 {
		return nil
	}
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: touch sessions: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, s.d.q(`UPDATE sessions SET last_used_at = ? WHERE token_hash = ? AND last_used_at < ?`))
	if err != nil {
		return fmt.Errorf("store: touch sessions: %w", err)
	}
	defer stmt.Close()
	stale := now.Add(-s.touchEvery()).UnixMilli()
	for _, t := range tokens {
		if _, err := stmt.ExecContext(ctx, now.UnixMilli(), tokenHash(t), stale); err != nil {
			return fmt.Errorf("store: touch sessions: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: touch sessions: %w", err)
	}
	return nil
}

// Sessions lists the user's sessions that have not expired, the most recently
// used first.
func (s *Store) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx,
		s.d.q(`SELECT token_hash, device, created_at, last_used_at FROM sessions
		 WHERE user_id = ? AND last_used_at >= ? ORDER BY last_used_at DESC, created_at DESC`),
		userID, s.now().Add(-s.sessionTTL).UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: sessions of user %d: %w", userID, err)
	}
	defer rows.Close()
	list := []Session{}
	for rows.Next() {
		var (
			hash []byte
			ss   = Session{UserID: userID}
		)
		if err := rows.Scan(&hash, &ss.Device, scanMillis(&ss.Created), scanMillis(&ss.LastUsed)); err != nil {
			return nil, fmt.Errorf("store: sessions of user %d: %w", userID, err)
		}
		ss.ID = sessionIDOf(hash)
		list = append(list, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sessions of user %d: %w", userID, err)
	}
	return list, nil
}

// DeleteSessionByID revokes the user's session with this ID (Session.ID).
// ErrNotFound when the user has no such session; another user's session is
// never touched.
func (s *Store) DeleteSessionByID(ctx context.Context, userID int64, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: delete session %q: %w", id, err)
	}
	defer tx.Rollback()
	hashes, err := s.userTokenHashes(ctx, tx, userID)
	if err != nil {
		return fmt.Errorf("store: delete session %q: %w", id, err)
	}
	for _, h := range hashes {
		if sessionIDOf(h) != id {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE token_hash = ?`), h); err != nil {
			return fmt.Errorf("store: delete session %q: %w", id, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: delete session %q: %w", id, err)
		}
		return nil
	}
	return fmt.Errorf("store: delete session %q: %w", id, ErrNotFound)
}

// DeleteOtherSessions revokes every session of the user but the one of
// keepToken ("" keeps none) and returns the IDs it revoked.
func (s *Store) DeleteOtherSessions(ctx context.Context, userID int64, keepToken string) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: delete other sessions: %w", err)
	}
	defer tx.Rollback()
	hashes, err := s.userTokenHashes(ctx, tx, userID)
	if err != nil {
		return nil, fmt.Errorf("store: delete other sessions: %w", err)
	}
	keep := ""
	if keepToken != "" {
		keep = SessionID(keepToken)
	}
	ids := []string{}
	for _, h := range hashes {
		id := sessionIDOf(h)
		if id == keep {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE token_hash = ?`), h); err != nil {
			return nil, fmt.Errorf("store: delete other sessions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: delete other sessions: %w", err)
	}
	return ids, nil
}

func (s *Store) userTokenHashes(ctx context.Context, tx *sql.Tx, userID int64) ([][]byte, error) {
	rows, err := tx.QueryContext(ctx, s.d.q(`SELECT token_hash FROM sessions WHERE user_id = ?`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hashes [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	return hashes, rows.Err()
}

// DeleteExpiredSessions deletes every session unused for longer than the
// session TTL and returns how many it deleted.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE last_used_at < ?`),
		s.now().Add(-s.sessionTTL).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}

// DeleteSession revokes a session token (logout). ErrNotFound when there was
// no such session.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	res, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM sessions WHERE token_hash = ?`), tokenHash(token))
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	} else if n == 0 {
		return fmt.Errorf("store: delete session: %w", ErrNotFound)
	}
	return nil
}
