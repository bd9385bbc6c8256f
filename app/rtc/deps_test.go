package rtc

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBrowserBuildsLeaveOutPion: in the browser a Peer drives the browser's
// own RTCPeerConnection through syscall/js (peer_js.go). pion's browser
// build wraps the same object but links its native stack's packages (DTLS,
// SCTP, ICE, encoding/gob) into the wasm, whose package inits run at every
// page start.
func TestBrowserBuildsLeaveOutPion(t *testing.T) {
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
		if strings.HasPrefix(p, "github.com/pion/") {
			t.Errorf("the browser builds import %s", p)
		}
	}
}
