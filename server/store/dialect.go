package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is the database engine a Store runs on. Both hold the same tables
// and columns at every schema version (migrations); what differs is kept
// here: placeholders, row locks, transaction options and error codes.
type dialect int

const (
	sqliteDialect   dialect = iota // the default: one file under -data
	postgresDialect                // -database postgres://…, shared by several instances
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// q returns query in d's placeholder syntax. Queries are written with ?
// (SQLite's); PostgreSQL numbers them ($1, $2, …). No query holds a ? in a
// string literal.
func (d dialect) q(query string) string {
	if d != postgresDialect || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lockUser serialises the transactions of tx that check a count of user
// id's rows and then add one (Block's cap). SQLite transactions take the
// write lock when they begin (_txlock=immediate), so only PostgreSQL, whose
// default isolation lets two such transactions both see room for one more,
// locks the user's row.
func (d dialect) lockUser(ctx context.Context, tx *sql.Tx, id int64) error {
	if d != postgresDialect {
		return nil
	}
	var got int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// readTx is the options of a transaction that reads several statements as
// one snapshot (a count and the page it counts). SQLite's transactions
// already are; PostgreSQL needs repeatable read for it.
func (d dialect) readTx() *sql.TxOptions {
	if d == postgresDialect {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// isForeignKeyViolation reports whether err is a write refused because a
// referenced row (a user, a session) does not exist.
func isForeignKeyViolation(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "23503" // foreign_key_violation
	}
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY")
}

// migration brings the schema up one version, written once per engine:
// the same tables, columns, keys and indexes in each one's types (SQLite's
// INTEGER is 64-bit and takes the row ID; PostgreSQL's is 32-bit, so times
// and IDs are BIGINT there, and BLOB is BYTEA).
type migration struct {
	sqlite, postgres string
}

// schemaLock is the PostgreSQL advisory lock instances take while they
// migrate, so that several starting at once migrate one at a time.
const schemaLock = 0x7061726c6579 // "parley"

// migratePostgres brings a PostgreSQL schema up to date, under schemaLock.
// The version lives in parley_schema, one row.
func (s *Store) migratePostgres(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLock)); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS parley_schema (
		one     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
		version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: version table: %w", err)
	}
	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM parley_schema`).Scan(&version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i].postgres); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, readyTable); err != nil { // here, under the lock: see readyTable
		return fmt.Errorf("migrate: readiness table: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO parley_schema (one, version) VALUES (TRUE, $1)
		ON CONFLICT (one) DO UPDATE SET version = excluded.version`, len(migrations)); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
