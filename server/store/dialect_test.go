package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestPlaceholders(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?`
	if got := sqliteDialect.q(q); got != q {
		t.Errorf("sqlite: %q", got)
	}
	if got, want := postgresDialect.q(q), `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4`; got != want {
		t.Errorf("postgres: %q, want %q", got, want)
	}
}

// testConcurrentOpen: instances starting at once on one new database all
// open it, migrated once, at the current version.
func testConcurrentOpen(t *testing.T, newDB dbMaker) {
	db := newDB(t)
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(db, WithPasswordParams(cheap)) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer s.Close()
		if v, err := s.SchemaVersion(context.Background()); err != nil || v != len(migrations) {
			t.Errorf("open %d: schema version %d, %v; want %d", i, v, err, len(migrations))
		}
	}
	// What one instance writes, another reads.
	u, err := stores[0].Register(context.Background(), "alice", "password1", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := stores[n-1].UserByUsername(context.Background(), "alice"); err != nil || got.ID != u.ID {
		t.Fatalf("another instance reads %+v, %v", got, err)
	}
}

// testConcurrentBlockCap: blocks racing from several instances never take
// a list over its cap.
func testConcurrentBlockCap(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	db := newDB(t)
	a, b := openTest(t, db), openTest(t, db)
	owner, err := a.Register(ctx, "owner", "password1", "")
	if err != nil {
		t.Fatal(err)
	}
	const others, max = 8, 3
	ids := make([]int64, others)
	for i := range others {
		u, err := a.Register(ctx, fmt.Sprintf("user%d", i), "password1", "")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	var wg sync.WaitGroup
	errs := make([]error, others)
	for i := range others {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() { _, errs[i] = s.Block(ctx, owner.ID, ids[i], max) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrTooMany):
			t.Errorf("block %d: %v", i, err)
		}
	}
	list, err := a.BlockedUsers(ctx, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok != max || len(list) != max {
		t.Fatalf("%d blocks succeeded, %d listed; want %d", ok, len(list), max)
	}
}
