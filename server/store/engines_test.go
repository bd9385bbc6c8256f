package store

import (
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
