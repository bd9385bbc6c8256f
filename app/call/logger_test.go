package call_test

import (
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"

	"parley/app/call"
)

// A *slog.Logger is a call.Logger: native callers hand theirs in as before.
var _ call.Logger = (*slog.Logger)(nil)

// TestBrowserBuildsLeaveOutSlog: the engine logs through call.Logger so that
// neither wasm (the PWA's, the SDK's) carries log/slog, which nothing logs
// to in the browser; importing it there again would cost each page's first
// visit about 100 KB of wasm.
func TestBrowserBuildsLeaveOutSlog(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "parley/app", "parley/app/sdk")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list listed %d packages: %q", len(deps), out)
	}
	for _, p := range deps {
		if p == "log/slog" {
			t.Fatal("the browser builds import log/slog")
		}
	}
}
