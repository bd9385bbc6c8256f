package wire

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// browserDeps lists the packages the browser build of pkgs links.
func browserDeps(t *testing.T, pkgs ...string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	if len(deps) < 50 {
		t.Fatalf("go list listed %d packages: %q", len(deps), out)
	}
	return deps
}

// TestBrowserBuildsUseTheBrowsersWebSocket: in the browser a Conn drives the
// browser's own WebSocket (socket_js.go). coder/websocket's browser build
// brings net/http, and with it crypto/tls and their package inits, into the
// wasm: the SDK's wasm, which has no go-app (whose own import of net/http
// the PWA keeps), is a third smaller without them.
func TestBrowserBuildsUseTheBrowsersWebSocket(t *testing.T) {
	if deps := browserDeps(t, "parley/app", "parley/app/sdk"); deps["github.com/coder/websocket"] {
		t.Error("the browser builds import github.com/coder/websocket")
	}
	deps := browserDeps(t, "parley/app/sdk")
	for _, p := range []string{"net/http", "crypto/tls", "net"} {
		if deps[p] {
			t.Errorf("the SDK's browser build imports %s", p)
		}
	}
}
