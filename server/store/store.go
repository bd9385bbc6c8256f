// Package store keeps Parley's durable state: user accounts with argon2id
// password hashes, sign-in sessions stored as SHA-256 hashes of their tokens,
// call logs, block lists, push subscriptions and live call state.
//
// It runs on one of two engines, with the same schema and migrations
// (dialect.go): SQLite by default (the pure Go driver modernc.org/sqlite, no
// cgo; WAL mode with synchronous=FULL, so a write that returned survives a
// crash or power loss), or PostgreSQL (github.com/jackc/pgx/v5) for several
// instances sharing one database. Every method takes a context and wraps its
// errors; callers test for ErrUsernameTaken, ErrBadCredentials, ErrNotFound and
// ErrInvalid with errors.Is.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"parley/app/wire"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
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
	d      dialect
	params PasswordParams
	// hashing bounds the number of concurrent argon2 computations, each of
	// which holds params.Memory KiB.
	hashing *slots
	// hashStats counts the hashes running now and the most ever at once.
	hashStats hashStats
	// dummyHash is verified against when a username does not exist, so that
	// Login takes the same time either way.
	dummyHash string
	// sessionTTL is how long a session token may go unused (WithSessionTTL).
	sessionTTL time.Duration
	// now is the clock sessions are dated and expired by (WithClock).
	now func() time.Time
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
			s.hashing = newSlots(n)
		}
	}
}

// migrations[i] brings the schema from version i to i+1. Append only. They
// are SQLite's DDL; PostgreSQL runs the same text translated by postgresDDL
// (dialect.go), so both engines hold the same schema by construction.
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
	// Block lists (blocks.go): user_id does not want to be rung by blocked_id.
	`CREATE TABLE blocks (
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		blocked_at INTEGER NOT NULL,
		PRIMARY KEY (user_id, blocked_id)
	) WITHOUT ROWID;
	CREATE INDEX blocks_blocked ON blocks(blocked_id);`,
	// Sessions expire when unused for the session TTL, and list with a
	// device label: last_used_at slides, device is set at creation.
	`ALTER TABLE sessions ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
	UPDATE sessions SET last_used_at = created_at;
	ALTER TABLE sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';
	CREATE INDEX sessions_last_used ON sessions(last_used_at);`,
	// Live call state (the hub's restore.go): one row per live call, the
	// hub's own encoding, replaced on every change and deleted when the call
	// ends, in the transaction that writes the call's logs.
	`CREATE TABLE live_calls (
		room_id  TEXT    PRIMARY KEY,
		state    BLOB    NOT NULL,
		saved_at INTEGER NOT NULL
	) WITHOUT ROWID;`,
	// Web Push subscriptions (push.go): one per signed-in device, gone with
	// its session; vapid_key is the server key it was made for.
	`CREATE TABLE push_subscriptions (
		endpoint   TEXT    PRIMARY KEY,
		p256dh     BLOB    NOT NULL,
		auth       BLOB    NOT NULL,
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		token_hash BLOB    NOT NULL REFERENCES sessions(token_hash) ON DELETE CASCADE,
		vapid_key  TEXT    NOT NULL,
		created_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX push_subscriptions_user ON push_subscriptions(user_id);
	CREATE INDEX push_subscriptions_token ON push_subscriptions(token_hash);`,
}

// Open opens the database and brings its schema up to date. database is
// either a PostgreSQL URL (postgres://… or postgresql://…, any form pgx
// takes), which several Parley instances may share, or the path of a SQLite
// file, created if needed and private to this process.
func Open(database string, opts ...Option) (*Store, error) {
	s := &Store{params: DefaultPasswordParams, sessionTTL: DefaultSessionTTL, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.hashing == nil {
		s.hashing = newSlots(runtime.GOMAXPROCS(0))
	}
	name := database
	if IsPostgresURL(database) {
		s.d = postgresDialect
		name = redactURL(database)
	}
	if err := s.params.validate(); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", name, err)
	}
	var err error
	if s.d == postgresDialect {
		err = s.openPostgres(database)
	} else {
		err = s.openSQLite(database)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", name, err)
	}
	// A hash with the configured parameters, so the unknown-user path of Login
	// costs what the known-user path costs.
	if s.dummyHash, err = hashPassword("parley-dummy-password", s.params); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: open %s: %w", name, err)
	}
	return s, nil
}

// IsPostgresURL reports whether database names a PostgreSQL server rather
// than a SQLite file.
func IsPostgresURL(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// redactURL is database without its password, for errors and logs.
func redactURL(database string) string {
	u, err := url.Parse(database)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// Engine names the database engine: "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.String() }

func (s *Store) openSQLite(path string) error {
	if err := ownerOnly(path); err != nil {
		return err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	s.db = db
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return err
	}
	return nil
}

func (s *Store) openPostgres(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	// Enough for a busy instance; the server's max_connections is shared
	// by every instance.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.db = db
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.migratePostgres(ctx); err != nil {
		db.Close()
		return err
	}
	return nil
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
	query := "PRAGMA user_version"
	if s.d == postgresDialect {
		query = "SELECT version FROM parley_schema"
	}
	var v int
	if err := s.db.QueryRowContext(ctx, query).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// ownerOnly creates the database file readable and writable by its owner
// only, and takes group and other access away from an existing one and its
// WAL files: it holds password hashes and session token hashes. SQLite gives
// the WAL and shared-memory files it creates later the database file's mode.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
