//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// holdHeavy waits until no other test process on this machine runs a test
// with three pages or more, then holds that right until t ends. `make test`
// runs this package as two processes at once beside the native packages;
// when both ran a 3- or 4-page video call together (TestPWAInCallFeatures
// beside TestClusterCalls in CI12) the 2-core machine's load average went
// past 45 and a 45 s test took over 5 minutes, long enough for leases,
// rings and resume graces to run out. The lock is an flock on a file in
// the temporary directory: the kernel releases it if a process dies.
func holdHeavy(t *testing.T) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "parley-e2e-heavy.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("heavy test lock: %v", err)
	}
	start := time.Now()
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		t.Fatalf("heavy test lock: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("waited %v for another process's test with three pages or more", d.Round(time.Second))
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
