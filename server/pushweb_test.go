package main

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
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

// TestPushDeclineCORS: an allowed origin's worker gets its preflight and
// POST granted; another origin gets no grant; the request still reaches the
// endpoint (which checks the token) only for POST.
func TestPushDeclineCORS(t *testing.T) {
	reached := 0
	h := pushDeclineCORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		w.WriteHeader(http.StatusUnauthorized)
	}), []string{"app.example"})
	do := func(method, origin string) *http.Response {
		req := httptest.NewRequest(method, "/api/push/decline", nil)
		req.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	pre := do(http.MethodOptions, "https://app.example")
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") || reached != 0 {
		t.Fatalf("preflight of an allowed origin: %d %v (reached %d)", pre.StatusCode, pre.Header, reached)
	}
	if res := do(http.MethodPost, "https://app.example"); res.StatusCode != 401 || res.Header.Get("Access-Control-Allow-Origin") == "" || reached != 1 {
		t.Fatalf("POST of an allowed origin: %d %v", res.StatusCode, res.Header)
	}
	if res := do(http.MethodOptions, "https://evil.example"); res.Header.Get("Access-Control-Allow-Origin") != "" ||
		res.Header.Get("Access-Control-Allow-Headers") != "" {
		t.Fatalf("preflight of another origin granted: %v", res.Header)
	}
}
