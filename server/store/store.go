// Package store keeps Parley's durable state in SQLite (the pure Go driver
// modernc.org/sqlite, no cgo): user accounts with argon2id password hashes,
// sign-in sessions stored as SHA-256 hashes of their tokens, and the call log.
//
// The database runs in WAL mode with synchronous=FULL, so a write that returned
// survives a crash or power loss. Every method takes a context and wraps its
// errors; callers test for ErrUsernameTaken, ErrBadCredentials, ErrNotFound and
// ErrInvalid with errors.Is.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"parley/app/wire"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Errors callers can test for with errors.Is.
var (
	// ErrUsernameTaken: Register with a username that already exists.
	ErrUsernameTaken = errors.New("store: username already taken")
	// ErrBadCredentials: Login with an unknown username or a wrong password.
	ErrBadCredentials = errors.New("store: bad credentials")
	// ErrNotFound: no such user, session token or row.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid: an argument that can never succeed (bad username, short
	// password, page < 1, ...). Nothing was changed.
	ErrInvalid = errors.New("store: invalid argument")
)

// GuestPrefix starts the usernames reserved for guest identities; Register
// refuses them.
const GuestPrefix = "guest-"

// PageSize is the number of call log entries per page.
const PageSize = 20

// Password length limits, in characters (min) and bytes (max).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// MaxDisplayNameLen is the longest display name, in characters.
const MaxDisplayNameLen = 64

// User is an account.
type User struct {
	ID          int64
	Username    string
	DisplayName string
	Guest       bool
	Created     time.Time
}

// CallLog is one user's entry in the call log: the owner's user ID and the
// entry as the SDK sees it. An empty CallLogID is filled in by AddCallLogs.
type CallLog struct {
	UserID int64
	wire.CallLog
	// Replace makes this entry overwrite an earlier one of the same user and
	// room (keeping its CallLogID), for a user who took part in a call again
	// after their first part ended (invited back, or joined by link).
	Replace bool
}

// Store is an open database. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	params PasswordParams
	// hashing bounds the number of concurrent argon2 computations, each of
	// which holds params.Memory KiB.
	hashing chan struct{}
	// dummyHash is verified against when a username does not exist, so that
	// Login takes the same time either way.
	dummyHash string
}

// Option configures Open.
type Option func(*Store)

// WithPasswordParams sets the argon2id parameters for new hashes (tests use
// cheap ones; production keeps DefaultPasswordParams).
func WithPasswordParams(p PasswordParams) Option {
	return func(s *Store) { s.params = p }
}

// WithMaxConcurrentHashes bounds how many password hashes are computed at once
// (default: GOMAXPROCS).
func WithMaxConcurrentHashes(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.hashing = make(chan struct{}, n)
		}
	}
}

// migrations[i] brings the schema from version i to i+1. Append only.
var migrations = []string{
	`CREATE TABLE users (
		id            INTEGER PRIMARY KEY,
		username      TEXT    NOT NULL UNIQUE,
		display_name  TEXT    NOT NULL,
		password_hash TEXT    NOT NULL DEFAULT '',
		guest         INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL
	);
	CREATE TABLE sessions (
		token_hash BLOB    PRIMARY KEY,
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		created_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX sessions_user ON sessions(user_id);
	CREATE TABLE call_logs (
		id               INTEGER PRIMARY KEY,
		user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		call_log_id      TEXT    NOT NULL UNIQUE,
		room_id          TEXT    NOT NULL,
		room_link        TEXT    NOT NULL,
		call_mode        TEXT    NOT NULL,
		call_type        TEXT    NOT NULL,
		call_state       TEXT    NOT NULL,
		from_user        TEXT    NOT NULL,
		to_users         TEXT    NOT NULL,
		user_list        TEXT    NOT NULL,
		invite_user_list TEXT    NOT NULL,
		group_id         TEXT,
		call_time        INTEGER NOT NULL,
		start_time       INTEGER,
		end_time         INTEGER NOT NULL,
		duration         INTEGER NOT NULL,
		UNIQUE (user_id, room_id)
	);
	CREATE INDEX call_logs_user_time ON call_logs(user_id, call_time DESC, id DESC);`,
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(path string, opts ...Option) (*Store, error) {
	s := &Store{params: DefaultPasswordParams}
	for _, o := range opts {
		o(s)
	}
	if s.hashing == nil {
		s.hashing = make(chan struct{}, runtime.GOMAXPROCS(0))
	}
	if err := s.params.validate(); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.db = db
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// A hash with the configured parameters, so the unknown-user path of Login
	// costs what the known-user path costs.
	if s.dummyHash, err = hashPassword("parley-dummy-password", s.params); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// SchemaVersion returns the schema version of the open database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

func (s *Store) hash(ctx context.Context, f func()) error {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashing }()
	f()
	return nil
}

// CleanDisplayName trims name and reports whether it is an acceptable display
// name: at most MaxDisplayNameLen characters of valid UTF-8 without control
// characters. An empty result means "use the username".
func CleanDisplayName(name string) (string, bool) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxDisplayNameLen {
		return "", false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", false
		}
	}
	return name, true
}

// Register creates an account. The username must be valid (wire.ValidUsername)
// and not start with GuestPrefix; the password needs MinPasswordLen characters;
// an empty display name defaults to the username.
func (s *Store) Register(ctx context.Context, username, password, displayName string) (User, error) {
	if !wire.ValidUsername(username) || strings.HasPrefix(username, GuestPrefix) {
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
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO users (username, display_name, password_hash, guest, created_at) VALUES (?, ?, ?, 0, ?)
		 ON CONFLICT (username) DO NOTHING`,
		username, name, hash, now.UnixMilli())
	if err != nil {
		return User{}, fmt.Errorf("store: register %q: %w", username, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return User{}, fmt.Errorf("store: register %q: %w", username, err)
	} else if n == 0 {
		return User{}, fmt.Errorf("store: register %q: %w", username, ErrUsernameTaken)
	}
	id, err := res.LastInsertId()
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
		`SELECT id, username, display_name, password_hash, guest, created_at FROM users WHERE username = ?`, username).
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
		res, err := s.db.ExecContext(ctx,
			`INSERT INTO users (username, display_name, password_hash, guest, created_at) VALUES (?, ?, '', 1, ?)
			 ON CONFLICT (username) DO NOTHING`, username, name, now.UnixMilli())
		if err != nil {
			return User{}, fmt.Errorf("store: create guest: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return User{}, fmt.Errorf("store: create guest: %w", err)
		} else if n == 0 {
			continue // a name clash: draw again
		}
		id, err := res.LastInsertId()
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
		`SELECT id, username, display_name, guest, created_at FROM users WHERE username = ?`, username).
		Scan(&u.ID, &u.Username, &u.DisplayName, &u.Guest, scanMillis(&u.Created))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", username, err)
	}
	return u, nil
}

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

func newLogID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func jsonList(l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// AddCallLogs writes call log entries in one transaction; when it returns nil
// they are on disk. Entries without a CallLogID get a random one. A second
// entry for the same user and room is ignored, so retrying is safe, unless it
// has Replace set: then it overwrites the earlier entry (keeping its
// CallLogID), which is just as safe to retry.
func (s *Store) AddCallLogs(ctx context.Context, logs ...CallLog) error {
	if len(logs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: add call logs: %w", err)
	}
	defer tx.Rollback()
	const insert = `INSERT INTO call_logs (user_id, call_log_id, room_id, room_link, call_mode,
		call_type, call_state, from_user, to_users, user_list, invite_user_list, group_id, call_time, start_time,
		end_time, duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	stmt, err := tx.PrepareContext(ctx, insert+` ON CONFLICT (user_id, room_id) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("store: add call logs: %w", err)
	}
	defer stmt.Close()
	replace, err := tx.PrepareContext(ctx, insert+` ON CONFLICT (user_id, room_id) DO UPDATE SET
		room_link = excluded.room_link, call_mode = excluded.call_mode, call_type = excluded.call_type,
		call_state = excluded.call_state, from_user = excluded.from_user, to_users = excluded.to_users,
		user_list = excluded.user_list, invite_user_list = excluded.invite_user_list, group_id = excluded.group_id,
		call_time = excluded.call_time, start_time = excluded.start_time, end_time = excluded.end_time,
		duration = excluded.duration`)
	if err != nil {
		return fmt.Errorf("store: add call logs: %w", err)
	}
	defer replace.Close()
	for _, l := range logs {
		if l.CallLogID == "" {
			if l.CallLogID, err = newLogID(); err != nil {
				return fmt.Errorf("store: add call logs: id: %w", err)
			}
		}
		to, err1 := jsonList(l.ToUsers)
		users, err2 := jsonList(l.UserList)
		invited, err3 := jsonList(l.InviteUserList)
		if err := errors.Join(err1, err2, err3); err != nil {
			return fmt.Errorf("store: add call log %s: %w", l.CallLogID, err)
		}
		st := stmt
		if l.Replace {
			st = replace
		}
		if _, err := st.ExecContext(ctx, l.UserID, l.CallLogID, l.RoomID, l.RoomLink, l.CallMode, l.CallType,
			l.CallState, l.FromUser, to, users, invited, l.GroupID, l.CallTime, l.StartTime, l.EndTime, l.Duration); err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") {
				err = fmt.Errorf("user %d: %w", l.UserID, ErrNotFound)
			}
			return fmt.Errorf("store: add call log %s: %w", l.CallLogID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: add call logs: commit: %w", err)
	}
	return nil
}

// CallLogs returns page (1-based) of the user's call log, PageSize entries,
// newest first, and the number of pages. No entries: an empty, non-nil list
// and TotalPages 0.
func (s *Store) CallLogs(ctx context.Context, userID int64, page int) (wire.CallLogPage, error) {
	out := wire.CallLogPage{CallLogs: []wire.CallLog{}}
	if page < 1 {
		return out, fmt.Errorf("store: call logs page %d: %w", page, ErrInvalid)
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return out, fmt.Errorf("store: call logs: %w", err)
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM call_logs WHERE user_id = ?`, userID).Scan(&total); err != nil {
		return out, fmt.Errorf("store: call logs: count: %w", err)
	}
	out.TotalPages = (total + PageSize - 1) / PageSize
	if page > out.TotalPages {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT call_log_id, room_id, room_link, call_mode, call_type, call_state,
		from_user, to_users, user_list, invite_user_list, group_id, call_time, start_time, end_time, duration
		FROM call_logs WHERE user_id = ? ORDER BY call_time DESC, id DESC LIMIT ? OFFSET ?`,
		userID, PageSize, (page-1)*PageSize)
	if err != nil {
		return out, fmt.Errorf("store: call logs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			l                  wire.CallLog
			to, users, invited string
			groupID            sql.NullString
			startTime          sql.NullInt64
		)
		if err := rows.Scan(&l.CallLogID, &l.RoomID, &l.RoomLink, &l.CallMode, &l.CallType, &l.CallState,
			&l.FromUser, &to, &users, &invited, &groupID, &l.CallTime, &startTime, &l.EndTime, &l.Duration); err != nil {
			return out, fmt.Errorf("store: call logs: scan: %w", err)
		}
		for _, f := range []struct {
			s   string
			dst *[]string
		}{{to, &l.ToUsers}, {users, &l.UserList}, {invited, &l.InviteUserList}} {
			if err := json.Unmarshal([]byte(f.s), f.dst); err != nil {
				return out, fmt.Errorf("store: call log %s: %w", l.CallLogID, err)
			}
			if *f.dst == nil {
				*f.dst = []string{}
			}
		}
		if groupID.Valid {
			l.GroupID = &groupID.String
		}
		if startTime.Valid {
			l.StartTime = &startTime.Int64
		}
		out.CallLogs = append(out.CallLogs, l)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: call logs: %w", err)
	}
	return out, nil
}

// scanMillis scans an epoch-milliseconds column into a time.Time.
func scanMillis(t *time.Time) sql.Scanner { return millis{t} }

type millis struct{ t *time.Time }

func (m millis) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("timestamp column holds %T", v)
	}
	*m.t = time.UnixMilli(n)
	return nil
}
