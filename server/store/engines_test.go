package store

import (
	"context"
	"path/filepath"
	"testing"

	"parley/server/store/pgtest"
)

// dbMaker returns a new, empty database for a test: a SQLite file path or a
// PostgreSQL URL, whichever engine the suite runs on. Opening the same name
// twice opens the same database.
type dbMaker func(t *testing.T) string

// shared is the suite every engine passes: the store's behaviour, written
// once, run on SQLite (TestSQLite) and on a real PostgreSQL server
// (TestPostgres).
var shared = []struct {
	name string
	run  func(*testing.T, dbMaker)
}{
	{"Users", testUsers},
	{"ConcurrentRegister", testConcurrentRegister},
	{"Guests", testGuests},
	{"DisplayNameHygiene", testDisplayNameHygiene},
	{"CallLogs", testCallLogs},
	{"CallLogReplace", testCallLogReplace},
	{"Blocks", testBlocks},
	{"SaveCalls", testSaveCalls},
	{"SaveCallsAtomic", testSaveCallsAtomic},
	{"PushSubscriptions", testPushSubscriptions},
	{"Ready", testReady},
	{"SessionExpirySlides", testSessionExpirySlides},
	{"SessionTouchThrottled", testSessionTouchThrottled},
	{"SessionSweep", testSessionSweep},
	{"SessionListAndRevoke", testSessionListAndRevoke},
	{"ConcurrentOpen", testConcurrentOpen},
	{"ConcurrentBlockCap", testConcurrentBlockCap},
}

func TestSQLite(t *testing.T) {
	for _, c := range shared {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "parley.db") })
		})
	}
}

// TestPostgres runs the shared suite on a PostgreSQL server of its own, one
// database per test, the tests in parallel. Without PostgreSQL's binaries
// it skips loudly, and fails in CI.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	newDB := func(t *testing.T) string { return srv.DSN(t) }
	for _, c := range shared {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newDB)
		})
	}
}

// benchEngines runs bench on a fresh store of each engine: sub-benchmarks
// sqlite and postgres. The PostgreSQL server is the tests' (pgtest: fsync
// and synchronous_commit off), on loopback, so its figures are the
// protocol's and the planner's cost, not a durable commit's.
func benchEngines(b *testing.B, bench func(*testing.B, *Store)) {
	b.Run("sqlite", func(b *testing.B) {
		s, err := Open(filepath.Join(b.TempDir(), "bench.db"), WithPasswordParams(cheap))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		bench(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		s, err := Open(pgtest.Start(b).DSN(b), WithPasswordParams(cheap))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		bench(b, s)
	})
}

// BenchmarkSaveCalls is what the hub writes on every change of a live call
// (livecalls.go): one call's state replaced, one statement.
func BenchmarkSaveCalls(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		state := make([]byte, 1500)
		for b.Loop() {
			if err := s.SaveCalls(ctx, nil, []LiveCall{{"room", state}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
