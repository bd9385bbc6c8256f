//go:build !(js && wasm)

package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// What the browser builds (the PWA's wasm and the SDK's) link: every package
// they import costs each page's first visit its wasm bytes, and its package
// init runs at every page start.

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

// TestBrowserBuildsLeaveOutSlog: the engine logs through call.Logger so that
// neither wasm carries log/slog, which nothing logs to in the browser;
// importing it there again would cost each page's first visit about 100 KB
// of wasm.
func TestBrowserBuildsLeaveOutSlog(t *testing.T) {
	if browserDeps(t, "parley/app", "parley/app/sdk")["log/slog"] {
		t.Error("the browser builds import log/slog")
	}
}

// TestBrowserBuildsLeaveOutPion: in the browser a Peer drives the browser's
// own RTCPeerConnection through syscall/js (app/rtc/peer_js.go). pion's
// browser build wraps the same object but links its native stack's packages
// (DTLS, SCTP, ICE, encoding/gob) into the wasm.
func TestBrowserBuildsLeaveOutPion(t *testing.T) {
	for p := range browserDeps(t, "parley/app", "parley/app/sdk") {
		if strings.HasPrefix(p, "github.com/pion/") {
			t.Errorf("the browser builds import %s", p)
		}
	}
}

// TestBrowserBuildsUseTheBrowsersWebSocket: in the browser a wire.Conn drives
// the browser's own WebSocket (app/wire/socket_js.go). coder/websocket's
// browser build brings net/http, and with it crypto/tls and net, into the
// wasm: the SDK's wasm, which has no go-app, is a third smaller without
// them. (The PWA's loses go-app's import of net/http only in the Makefile's
// build, with the trimmed go-app of server/internal/goapptrim, which tests
// that itself.)
func TestBrowserBuildsUseTheBrowsersWebSocket(t *testing.T) {
	if browserDeps(t, "parley/app", "parley/app/sdk")["github.com/coder/websocket"] {
		t.Error("the browser builds import github.com/coder/websocket")
	}
	deps := browserDeps(t, "parley/app/sdk")
	for _, p := range []string{"net/http", "crypto/tls", "net"} {
		if deps[p] {
			t.Errorf("the SDK's browser build imports %s", p)
		}
	}
}
