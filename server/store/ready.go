package store

import (
	"context"
	"fmt"
	"time"
)

// readyTable is where Ready writes. It is created on first use rather than
// by a migration: it holds no data of the model, so it does not bump the
// schema version (an older build can still open the database) and takes no
// number in the append-only migration list. On PostgreSQL it is created at
// Open under the migration lock instead: two CREATE TABLE IF NOT EXISTS
// racing there (instances probed at once) can fail on the catalogue.
const readyTable = `CREATE TABLE IF NOT EXISTS readiness (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	checked_at BIGINT  NOT NULL
)`

// Ready reports whether the database takes writes: it writes one row in a
// transaction and commits it, so a closed database, a read-only or full disk,
// or a write lock held past ctx's deadline are all errors. Bound ctx: a busy
// database otherwise waits up to its busy timeout (10s).
func (s *Store) Ready(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: ready: %w", err)
	}
	defer tx.Rollback()
	if s.d == sqliteDialect { // PostgreSQL's is made at Open: see readyTable
		if _, err := tx.ExecContext(ctx, readyTable); err != nil {
			return fmt.Errorf("store: ready: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx,
		s.d.q(`INSERT INTO readiness (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`),
		time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("store: ready: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: ready: %w", err)
	}
	return nil
}
