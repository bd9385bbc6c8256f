package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"parley/app/wire"
)

// CleanDisplayName cleans name and reports whether it is an acceptable
// display name: valid UTF-8 without control characters, at most
// MaxDisplayNameLen characters once cleaned. Cleaning removes invisible
// format characters (bidi overrides and isolates, zero-width spaces and
// joiners, the BOM, soft hyphens: Unicode category Cf), which could make a
// name read as someone else's or reverse how it shows, puts it in NFC so
// that one name has one spelling, and trims spaces. An empty result means
// "use the username".
func CleanDisplayName(name string) (string, bool) {
	if !utf8.ValidString(name) {
		return "", false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", false
		}
	}
	name = strings.TrimSpace(norm.NFC.String(strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)))
	if utf8.RuneCountInString(name) > MaxDisplayNameLen {
		return "", false
	}
	return name, true
}

// Register creates an account. The username must be valid (wire.ValidUsername)
// and not start with GuestPrefix; the password needs MinPasswordLen characters;
// an empty display name defaults to the username.
func (s *Store) Register(ctx context.Context, username, password, displayName string) (User, error) {
	if !wire.NewUsername(username) || strings.HasPrefix(username, GuestPrefix) {
		return User{}, fmt.Errorf("store: register %q: %w: username not allowed", username, ErrInvalid)
	}
	if utf8.RuneCountInString(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return User{}, fmt.Errorf("store: register %q: %w: password length", username, ErrInvalid)
	}
	name, ok := CleanDisplayName(displayName)
	if !ok {
		return User{}, fmt.Errorf("store: register %q: %w: display name", username, ErrInvalid)
	}
	if name == "" {
		name = username
	}
	var (
		hash string
		herr error
	)
	if err := s.hash(ctx, func() { hash, herr = hashPassword(password, s.params) }); err != nil {
		return User{}, fmt.Errorf("store: register %q: %w", username, err)
	}
	if herr != nil {
		return User{}, fmt.Errorf("store: register %q: %w", username, herr)
	}
	now := time.Now()
	var id int64
	err := s.db.QueryRowContext(ctx,
		s.d.q(`INSERT INTO users (username, display_name, password_hash, guest, created_at) VALUES (?, ?, ?, 0, ?)
		 ON CONFLICT (username) DO NOTHING RETURNING id`),
		username, name, hash, now.UnixMilli()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) { // nothing inserted: the name exists
		return User{}, fmt.Errorf("store: register %q: %w", username, ErrUsernameTaken)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: register %q: %w", username, err)
	}
	return User{ID: id, Username: username, DisplayName: name, Created: time.UnixMilli(now.UnixMilli())}, nil
}

// Login checks a username (case-insensitive) and password. Unknown users and
// wrong passwords both give ErrBadCredentials, in about the same time.
func (s *Store) Login(ctx context.Context, username, password string) (User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	var (
		u    User
		hash string
	)
	err := s.db.QueryRowContext(ctx,
		s.d.q(`SELECT id, username, display_name, password_hash, guest, created_at FROM users WHERE username = ?`), username).
		Scan(&u.ID, &u.Username, &u.DisplayName, &hash, &u.Guest, scanMillis(&u.Created))
	known := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
		hash = s.dummyHash
	case err != nil:
		return User{}, fmt.Errorf("store: login %q: %w", username, err)
	case hash == "": // guests have no password
		hash = s.dummyHash
		known = false
	}
	if len(password) > MaxPasswordLen {
		password = password[:MaxPasswordLen]
		known = false
	}
	var (
		ok   bool
		verr error
	)
	if err := s.hash(ctx, func() { ok, verr = verifyPassword(password, hash) }); err != nil {
		return User{}, fmt.Errorf("store: login %q: %w", username, err)
	}
	if verr != nil {
		return User{}, fmt.Errorf("store: login %q: stored hash: %w", username, verr)
	}
	if !ok || !known {
		return User{}, fmt.Errorf("store: login %q: %w", username, ErrBadCredentials)
	}
	return u, nil
}

// CreateGuest creates a guest account: username GuestPrefix followed by 12
// random characters of a-z and 0-9, the guest flag set, no password (Login
// never succeeds for it; it signs in with session tokens only). The display
// name must be non-empty after trimming and pass CleanDisplayName, else
// ErrInvalid.
func (s *Store) CreateGuest(ctx context.Context, displayName string) (User, error) {
	name, ok := CleanDisplayName(displayName)
	if !ok || name == "" {
		return User{}, fmt.Errorf("store: create guest: %w: display name", ErrInvalid)
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for range 5 {
		var raw [12]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return User{}, fmt.Errorf("store: create guest: %w", err)
		}
		b := []byte(GuestPrefix)
		for _, x := range raw {
			b = append(b, alphabet[int(x)%len(alphabet)])
		}
		username := string(b)
		now := time.Now()
		var id int64
		err := s.db.QueryRowContext(ctx,
			s.d.q(`INSERT INTO users (username, display_name, password_hash, guest, created_at) VALUES (?, ?, '', 1, ?)
			 ON CONFLICT (username) DO NOTHING RETURNING id`), username, name, now.UnixMilli()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue // a name clash: draw again
		}
		if err != nil {
			return User{}, fmt.Errorf("store: create guest: %w", err)
		}
		return User{ID: id, Username: username, DisplayName: name, Guest: true, Created: time.UnixMilli(now.UnixMilli())}, nil
	}
	return User{}, fmt.Errorf("store: create guest: %w", ErrUsernameTaken)
}

// UserByUsername returns the account named username, or ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	var u User
	err := s.db.QueryRowContext(ctx,
		s.d.q(`SELECT id, username, display_name, guest, created_at FROM users WHERE username = ?`), username).
		Scan(&u.ID, &u.Username, &u.DisplayName, &u.Guest, scanMillis(&u.Created))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", username, err)
	}
	return u, nil
}
