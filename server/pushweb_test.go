package main

import (
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"parley/web"
)

// pushWorkerJS is the real web/parley-push-sw.js.
func pushWorkerJS(t *testing.T) []byte {
	t.Helper()
	b, err := fs.ReadFile(web.Files, pushWorkerFile)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPushWorker: the service worker carries Parley's push listeners ahead
// of go-app's (so they see Parley's pushes and clicks first), and
// integrators can fetch the same file at /parley-push-sw.js.
func TestPushWorker(t *testing.T) {
	h := testWebHandler(t)
	w := body(t, get(t, h, "/app-worker.js"))
	ours := strings.Index(w, `msg.type.startsWith("parley.")`)
	goapps := strings.Index(w, "// Push Notifications")
	if ours < 0 || goapps < 0 || ours > goapps {
		t.Fatalf("Parley's push handling (at %d) must come before go-app's (at %d)", ours, goapps)
	}
	for _, want := range []string{`requireInteraction: true`, `action: "answer"`, `action: "decline"`,
		`/api/push/decline`, `"parley.push.action"`, `"parley.push.session"`, `event.stopImmediatePropagation()`} {
		if !strings.Contains(w, want) {
			t.Errorf("service worker lacks %q", want)
		}
	}
	for _, path := range []string{"/parley-push-sw.js", "/web/parley-push-sw.js"} {
		res := get(t, h, path)
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "javascript") {
			t.Errorf("%s: %d %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if b := body(t, res); b != string(pushWorkerJS(t)) {
			t.Errorf("%s is not web/%s", path, pushWorkerFile)
		}
	}
	// A snippet that would break the worker's Go template is refused.
	bad := fstest.MapFS{pushWorkerFile: {Data: []byte("let x = {{.Nope}};")}}
	if _, err := withPushWorker("a\n"+workerPushMarker, bad); err == nil {
		t.Error("a push worker with {{ was accepted")
	}
}
