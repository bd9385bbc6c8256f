package store

import (
	"context"
	"testing"
	"time"
)

func testReady(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	path := newDB(t)
	s := openTest(t, path)
	for i := range 2 { // creates its table once, then only writes
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("Ready #%d: %v", i+1, err)
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM readiness").Scan(&n); err != nil || n != 1 {
		t.Fatalf("readiness rows = %d, %v; want 1", n, err)
	}
	// The probe is not a migration: the schema version stays, so an older
	// build still opens the database.
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Errorf("schema version %d, %v; want %d", v, err, len(migrations))
	}

	// Another writer holding the lock Ready needs: Ready gives up when its
	// context ends instead of waiting out the busy timeout.
	other := openTest(t, path)
	tx, err := other.db.BeginTx(ctx, nil) // SQLite (_txlock=immediate): takes the write lock now
	if err != nil {
		t.Fatal(err)
	}
	if other.d == postgresDialect { // PostgreSQL: the row's lock
		if _, err := tx.ExecContext(ctx, `SELECT id FROM readiness WHERE id = 1 FOR UPDATE`); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = s.Ready(short)
	cancel()
	tx.Rollback()
	if err == nil {
		t.Error("Ready succeeded while another connection held the write lock")
	}
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready after the lock was released: %v", err)
	}

	s.Close()
	if err := s.Ready(ctx); err == nil {
		t.Error("Ready succeeded on a closed database")
	}
}
