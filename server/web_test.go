package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func testWebHandler(t *testing.T) http.Handler {
	t.Helper()
	files := fstest.MapFS{
		"wasm_exec.js":          {Data: []byte("// toolchain wasm_exec.js\n")},
		"parley.js":             {Data: []byte("// sdk loader\n")},
		"app.wasm":              {Data: []byte("\x00asm raw")},
		"app.wasm.br":           {Data: []byte("brotli bytes")},
		"app.wasm.gz":           {Data: []byte("gzip bytes")},
		"sdk.wasm":              {Data: []byte("\x00asm sdk")},
		"sdk.wasm.gz":           {Data: []byte("sdk gzip")},
		"parley.css":            {Data: []byte("body{}")},
		"icon-192.png":          {Data: []byte("png")},
		"icon-512.png":          {Data: []byte("png")},
		"icon-maskable-512.png": {Data: []byte("png")},
		"icon.svg":              {Data: []byte("<svg/>")},
		"embed.go":              {Data: []byte("package web")},
		"sdk.html":              {Data: []byte("<!doctype html>")},
		pushWorkerFile:          {Data: pushWorkerJS(t)},
	}
	h, err := webHandler("test-version", files, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWebRoutes(t *testing.T) {
	h := testWebHandler(t)
	for _, tc := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/", 200, "text/html"},
		{"/join/abc-defg-hij", 200, "text/html"},
		{"/manifest.webmanifest", 200, "application/manifest+json"},
		{"/app.js", 200, "application/javascript"},
		{"/app-worker.js", 200, "application/javascript"},
		{"/wasm_exec.js", 200, "text/javascript"},
		{"/parley.js", 200, "text/javascript"},
		{"/web/parley.css", 200, "text/css"},
		{"/web/icon-192.png", 200, "image/png"},
		{"/web/icon.svg", 200, "image/svg+xml"},
		{"/robots.txt", 200, "text/plain"},
		{"/web/sdk.html", 200, "text/html"},
		{"/web/embed.go", 404, ""},
		{"/web/app.wasm.br", 404, ""},
		{"/web/missing.png", 404, ""},
		{"/no-such-page", 404, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res := get(t, h, tc.path)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.ctype != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.ctype)
			}
		})
	}
}

func TestWasmExecIsOurs(t *testing.T) {
	res := get(t, testWebHandler(t), "/wasm_exec.js")
	if got := body(t, res); got != "// toolchain wasm_exec.js\n" {
		t.Fatalf("/wasm_exec.js served %q, want the embedded toolchain copy", got)
	}
}

func TestWasmNegotiation(t *testing.T) {
	h := testWebHandler(t)
	for _, tc := range []struct {
		path, accept, encoding, body string
	}{
		{"/web/app.wasm", "gzip, deflate, br, zstd", "br", "brotli bytes"},
		{"/web/app.wasm", "gzip", "gzip", "gzip bytes"},
		{"/web/app.wasm", "br;q=0, gzip", "gzip", "gzip bytes"},
		{"/web/app.wasm", "gzip;q=0.5, br;q=0.8", "br", "brotli bytes"},
		{"/web/app.wasm", "", "", "\x00asm raw"},
		{"/web/app.wasm", "identity", "", "\x00asm raw"},
		{"/web/sdk.wasm", "br, gzip", "gzip", "sdk gzip"},
		{"/web/sdk.wasm", "br", "", "\x00asm sdk"},
	} {
		t.Run(tc.path+" "+tc.accept, func(t *testing.T) {
			res := get(t, h, tc.path, "Accept-Encoding", tc.accept)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			if got := res.Header.Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type %q", got)
			}
			if got := res.Header.Values("Vary"); !slices.Contains(got, "Accept-Encoding") {
				t.Errorf("Vary %q lacks Accept-Encoding", got)
			}
			if got := body(t, res); got != tc.body {
				t.Errorf("body %q, want %q", got, tc.body)
			}
		})
	}
	// A conditional request for the same encoding is a 304.
	res := get(t, h, "/web/app.wasm", "Accept-Encoding", "br")
	res2 := get(t, h, "/web/app.wasm", "Accept-Encoding", "br", "If-None-Match", res.Header.Get("ETag"))
	if res2.StatusCode != http.StatusNotModified {
		t.Errorf("conditional request: status %d, want 304", res2.StatusCode)
	}
}

var remoteURL = regexp.MustCompile(`https?://`)

func TestNoRemoteURLs(t *testing.T) {
	h := testWebHandler(t)
	// go-app writes attributes in random order: look at pages many times.
	for i := 0; i < 20; i++ {
		for _, p := range []string{"/", "/join/abc-defg-hij"} {
			if b := body(t, get(t, h, p)); remoteURL.MatchString(b) {
				t.Fatalf("%s refers to a remote URL (try %d)", p, i)
			}
		}
	}
	for _, p := range []string{"/", "/join/abc-defg-hij", "/manifest.webmanifest", "/app.js", "/app-worker.js", "/web/parley.css"} {
		t.Run(p, func(t *testing.T) {
			b := body(t, get(t, h, p))
			if loc := remoteURL.FindStringIndex(b); loc != nil {
				start := max(loc[0]-80, 0)
				t.Errorf("%s refers to a remote URL: …%s…", p, b[start:min(loc[1]+80, len(b))])
			}
		})
	}
}

func TestPageUsesOurResources(t *testing.T) {
	h := testWebHandler(t)
	page := body(t, get(t, h, "/"))
	for _, want := range []string{`/web/parley.css`, `/wasm_exec.js`, `/app.js`, `/web/icon.svg`, `/manifest.webmanifest`, `Parley`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	appJS := body(t, get(t, h, "/app.js"))
	if !strings.Contains(appJS, `"/web/app.wasm"`) {
		t.Errorf("app.js does not load /web/app.wasm")
	}
	if !strings.Contains(appJS, `X-Wasm-Content-Length`) {
		t.Errorf("app.js does not read the wasm's real size")
	}
	worker := body(t, get(t, h, "/app-worker.js"))
	if !strings.Contains(worker, "test-version") {
		t.Errorf("service worker does not carry the version")
	}
	res := get(t, h, "/")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("page CSP %q", csp)
	}
}

func TestEmbeddedHandler(t *testing.T) {
	h, err := newWebHandler("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/web/parley.css", "/web/icon-192.png", "/web/icon-512.png", "/web/icon-maskable-512.png", "/web/icon.svg"} {
		if res := get(t, h, p); res.StatusCode != 200 {
			t.Errorf("GET %s: status %d", p, res.StatusCode)
		}
	}
}

// TestManifest checks what Chromium's installability check needs (the e2e
// TestPWAInstallable runs the check itself): names, our icons at 192 and 512
// px and a maskable one, colours, standalone display, start URL and scope.
func TestManifest(t *testing.T) {
	h := testWebHandler(t)
	res := get(t, h, "/manifest.webmanifest")
	if ct := res.Header.Get("Content-Type"); ct != "application/manifest+json" {
		t.Errorf("manifest Content-Type %q", ct)
	}
	raw := body(t, res)
	// The manifest's keys are snake_case.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &keys); err != nil {
		t.Fatalf("manifest: %v\n%s", err, raw)
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(keys[k], &v)
		return v
	}
	type icon struct{ Src, Type, Sizes, Purpose string }
	var icons []icon
	if err := json.Unmarshal(keys["icons"], &icons); err != nil {
		t.Fatalf("manifest icons: %v", err)
	}
	for k, want := range map[string]string{"name": "Parley", "short_name": "Parley", "start_url": "/", "scope": "/",
		"display": "standalone", "theme_color": "#0f5e4f", "background_color": "#f3f5f4"} {
		if got := str(k); got != want {
			t.Errorf("manifest %s = %q, want %q", k, got, want)
		}
	}
	want := []icon{
		{"/web/icon-192.png", "image/png", "192x192", ""},
		{"/web/icon-512.png", "image/png", "512x512", ""},
		{"/web/icon-maskable-512.png", "image/png", "512x512", "maskable"},
		{"/web/icon.svg", "image/svg+xml", "any", ""},
	}
	for _, w := range want {
		if !slices.Contains(icons, w) {
			t.Errorf("manifest lacks icon %+v; has %+v", w, icons)
		}
		if r := get(t, h, w.Src); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", w.Src, r.StatusCode)
		}
	}
}

// TestServiceWorker checks the service worker go-app serves with Parley's
// PWA part: the shell (with the SVG icon the pages show) cached at install,
// the cached "/" page served for a navigation the network cannot answer, no
// claim of the first page, go-app's push code kept.
func TestServiceWorker(t *testing.T) {
	h := testWebHandler(t)
	res := get(t, h, "/app-worker.js")
	w := body(t, res)
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("worker Content-Type %q", ct)
	}
	for _, want := range []string{
		`const cacheName = "app-" + "test-version";`,
		`event.waitUntil(`,
		`cache.addAll(resourcesToCache.filter((u) => !bigResources.includes(u)))`,
		`cache.addAll(bigResources)`,
		`"parley.pageStarted"`,
		`request.mode === "navigate"`,
		`cache.match("/")`,
		`self.addEventListener("push"`,
		`self.addEventListener("notificationclick"`,
	} {
		if !strings.Contains(w, want) {
			t.Errorf("service worker lacks %q", want)
		}
	}
	if strings.Contains(w, "clients.claim") {
		t.Error("service worker claims clients: go-app then announces an update on the first visit")
	}
	if strings.Count(w, `self.addEventListener("fetch"`) != 1 {
		t.Error("service worker must have exactly one fetch handler")
	}
	line := regexp.MustCompile(`const resourcesToCache = (\[.*\]);`).FindStringSubmatch(w)
	if line == nil {
		t.Fatalf("no resourcesToCache in the worker:\n%s", w)
	}
	var cached []string
	if err := json.Unmarshal([]byte(line[1]), &cached); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/", "/app.js", "/app.css", "/wasm_exec.js", "/web/app.wasm", "/manifest.webmanifest",
		"/web/parley.css", "/web/icon.svg", "/web/icon-192.png", "/web/icon-512.png", "/web/icon-maskable-512.png"} {
		if !slices.Contains(cached, want) {
			t.Errorf("the worker does not cache %s: %v", want, cached)
		}
	}
	for _, u := range cached {
		if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
			t.Errorf("the worker caches %q, not a path of this origin", u)
		} else if r := get(t, h, u); r.StatusCode != http.StatusOK {
			t.Errorf("the worker caches %s, which answers %d", u, r.StatusCode)
		}
	}
}

func TestServiceWorkerTemplateChanged(t *testing.T) {
	if _, err := serviceWorkerTemplate("// a different worker\n"); err == nil {
		t.Error("a go-app worker template without the push marker was accepted")
	}
}

// TestLoadingScreen: while the wasm downloads and starts, the page shows our
// loading screen with the download progress (go-app fills in {progress} from
// X-Wasm-Content-Length, which the precompressed wasm carries).
func TestLoadingScreen(t *testing.T) {
	h := testWebHandler(t)
	page := body(t, get(t, h, "/"))
	appJS := body(t, get(t, h, "/app.js"))
	if !strings.Contains(page, `id="app-wasm-loader-label"`) || !strings.Contains(page, "Loading Parley… 0%") {
		t.Fatal("the page has no loading screen of ours")
	}
	// Its icon is the SVG the page fetches anyway, not a PNG of its own.
	if tag := loaderIcon.FindString(page); !strings.Contains(tag, `src="/web/icon.svg"`) || strings.Contains(page, "icon-192.png") {
		t.Errorf("the loading screen's icon is not the SVG icon: %s", tag)
	}
	if !strings.Contains(appJS, `"Loading Parley… {progress}%"`) {
		t.Fatal("app.js does not update the loading label with the progress")
	}
	res := get(t, h, "/web/app.wasm", "Accept-Encoding", "br")
	if res.Header.Get("X-Wasm-Content-Length") == "" {
		t.Fatal("the wasm response lacks X-Wasm-Content-Length, so progress cannot be shown")
	}
}
