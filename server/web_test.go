package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
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
	}
	h, err := webHandler("test-version", files)
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
			if got := res.Header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary %q", got)
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
	h, err := newWebHandler("")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/web/parley.css", "/web/icon-192.png", "/web/icon-512.png", "/web/icon-maskable-512.png", "/web/icon.svg"} {
		if res := get(t, h, p); res.StatusCode != 200 {
			t.Errorf("GET %s: status %d", p, res.StatusCode)
		}
	}
}
