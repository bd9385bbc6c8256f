package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// integratorPage serves, from its own origin, a page that loads the SDK
// from the Parley server at the URL given to the returned function (the
// page's server starts first so that Parley can be told its origin).
func integratorPage(t *testing.T) (*httptest.Server, func(server string)) {
	t.Helper()
	var server atomic.Value
	server.Store("")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Integrator</title>
<script src="%s/parley.js"></script></head>
<body><h1>An integrator's page</h1><div id="media"></div></body></html>`, server.Load())
	}))
	t.Cleanup(ts.Close)
	return ts, func(s string) { server.Store(s) }
}

// TestSDKFromAnotherOrigin: a page on another origin loads parley.js, the
// wasm and the signalling socket from the Parley server the operator allowed
// it on, and makes a video call with media both ways to a user of the
// server's own SDK page.
func TestSDKFromAnotherOrigin(t *testing.T) {
	b := newBrowser(t)
	site, useServer := integratorPage(t)
	srv := startServerWith(t, serverOptions{Args: []string{"-allowed-origins", strings.TrimPrefix(site.URL, "http://")}})
	useServer(srv.URL)

	alice := newSDKUserAt(t, b, site.URL+"/", fmt.Sprintf(`{serverUrl: %q}`, srv.URL))
	bob := newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	if o := eval[string](t, alice.ctx, `location.origin`); o == srv.URL || !strings.HasPrefix(o, "http://127.0.0.1:") {
		t.Fatalf("alice's page is on %s, want another origin than %s", o, srv.URL)
	}
	videoCall(alice, bob)
	link := alice.ok(`Parley.getCallLink()`)
	if !strings.Contains(string(link.Data), srv.URL+"/join/") {
		t.Fatalf("the call link %s does not point at the Parley server %s", link.Data, srv.URL)
	}
	alice.ok(`Parley.endCall()`)
	bob.waitEvent("callStatusListener", `a.status === "ended" || a.status === "disconnected"`)
}

// TestSDKFromAnUnlistedOrigin: without the operator's leave, another origin's
// page cannot run the engine; the loader says so instead of hanging.
func TestSDKFromAnUnlistedOrigin(t *testing.T) {
	b := newBrowser(t)
	srv := startServer(t)
	site, useServer := integratorPage(t)
	useServer(srv.URL)
	ctx := newUser(t, b)
	navigate(t, ctx, site.URL+"/")
	env := eval[string](t, ctx, `(async () => JSON.stringify(await Parley.ready))()`)
	if !strings.Contains(env, `"statusCode":100620`) {
		t.Fatalf("Parley.ready on an unlisted origin = %s, want the 100620 envelope", env)
	}
}
