package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestHashingBounded: however many logins and registrations run at once, at
// most WithMaxConcurrentHashes argon2 computations run together (and that
// many do, so the test would see a missing bound).
func TestHashingBounded(t *testing.T) {
	const bound = 2
	// Dear enough (4 MiB, a few ms) that unbounded hashes would overlap.
	params := PasswordParams{Memory: 4 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	s, err := Open(filepath.Join(t.TempDir(), "p.db"), WithPasswordParams(params), WithMaxConcurrentHashes(bound))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := s.Register(ctx, "alice", "correct horse", ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%4 == 0 {
				_, err = s.Register(ctx, fmt.Sprintf("user%d", i), "correct horse", "")
			} else if _, err = s.Login(ctx, "alice", fmt.Sprintf("guess %d", i)); errors.Is(err, ErrBadCredentials) {
				err = nil
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if peak := s.hashStats.peak.Load(); peak != bound {
		t.Fatalf("at most %d hashes ran at once, want exactly the bound %d", peak, bound)
	}
	if n := s.hashStats.running.Load(); n != 0 {
		t.Fatalf("%d hashes still counted as running", n)
	}
}

// TestHashingWaitEndsWithContext: a login waiting for a hashing slot gives
// up when its context ends, hashes nothing, and says why.
func TestHashingWaitEndsWithContext(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "p.db"), WithPasswordParams(cheap), WithMaxConcurrentHashes(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Register(context.Background(), "alice", "correct horse", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.hashing.acquire(context.Background(), false); err != nil { // every slot busy
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Login(ctx, "alice", "correct horse")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("login while every hashing slot is busy: %v, want the context's deadline", err)
	}
	if _, err := s.Register(ctx, "bob", "correct horse", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("register with an ended context: %v", err)
	}
	s.hashing.release()
	if _, err := s.Login(context.Background(), "alice", "correct horse"); err != nil {
		t.Fatalf("login once a slot is free: %v", err)
	}
	if _, err := s.UserByUsername(context.Background(), "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob after a refused registration: %v, want not found", err)
	}
}
