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
)

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewSession creates a sign-in session for the user and returns its token: 32
// random bytes, base64url. Only the token's SHA-256 is stored, so the token is
// returned this once.
func (s *Store) NewSession(ctx context.Context, userID int64) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("store: new session: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at) VALUES (?, ?, ?)`,
		tokenHash(token), userID, time.Now().UnixMilli())
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return "", fmt.Errorf("store: new session for user %d: %w", userID, ErrNotFound)
		}
		return "", fmt.Errorf("store: new session for user %d: %w", userID, err)
	}
	return token, nil
}

// UserByToken returns the user a session token signs in, or ErrNotFound.
func (s *Store) UserByToken(ctx context.Context, token string) (User, error) {
	if token == "" || len(token) > 256 {
		return User{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	var u User
	err := s.db.QueryRowContext(ctx,
		`SELECT u.id, u.username, u.display_name, u.guest, u.created_at
		 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, tokenHash(token)).
		Scan(&u.ID, &u.Username, &u.DisplayName, &u.Guest, scanMillis(&u.Created))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: session: %w", err)
	}
	return u, nil
}

// DeleteSession revokes a session token (logout). ErrNotFound when there was
// no such session.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token))
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
