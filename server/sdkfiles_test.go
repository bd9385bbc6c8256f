package main

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"parley/web"
)

func sdkHandler(t *testing.T, origins []string) http.Handler {
	t.Helper()
	files := fstest.MapFS{
		"wasm_exec.js": {Data: []byte("// toolchain wasm_exec.js\n")},
		"parley.js":    {Data: []byte("var version = " + versionMarker + ";\n")},
		"sdk.wasm":     {Data: []byte("\x00asm sdk")},
		"sdk.wasm.br":  {Data: []byte("sdk brotli")},
	}
	h, err := webHandler("build-7", files, origins)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The loader names its build, so it asks for exactly that build's wasm.
func TestSDKLoaderNamesItsBuild(t *testing.T) {
	res := get(t, sdkHandler(t, nil), "/parley.js")
	if b := body(t, res); !strings.Contains(b, `var version = "build-7";`) {
		t.Fatalf("/parley.js = %q, want the version stamped in", b)
	}
	// The real loader has the marker, or the stamp would silently do nothing.
	data, err := web.Files.ReadFile("parley.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), versionMarker) {
		t.Fatalf("web/parley.js lacks %s", versionMarker)
	}
	if got := jsString(`1.0"+alert(1)+"`); got != "1.0+alert1+" {
		t.Fatalf("jsString kept quotes or parentheses: %q", got)
	}
}

// Pages on allowed origins may fetch the SDK's files; others get no CORS
// grant (the browser then refuses the wasm to them).
func TestSDKFilesCORS(t *testing.T) {
	h := sdkHandler(t, []string{"app.example.com", "*.partner.test:8443"})
	for _, path := range []string{"/parley.js", "/wasm_exec.js", "/web/sdk.wasm", "/web/parley.js"} {
		for _, tc := range []struct{ origin, want string }{
			{"https://app.example.com", "https://app.example.com"},
			{"https://video.partner.test:8443", "https://video.partner.test:8443"},
			{"https://evil.example.net", ""},
			{"https://video.partner.test", ""},
			{"null", ""},
		} {
			res := get(t, h, path, "Origin", tc.origin, "Accept-Encoding", "br")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s from %s: %s", path, tc.origin, res.Status)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Errorf("%s from %s: Access-Control-Allow-Origin %q, want %q", path, tc.origin, got, tc.want)
			}
			if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("%s: Vary lacks Origin: %q", path, res.Header.Values("Vary"))
			}
			if got := res.Header.Get("Cross-Origin-Resource-Policy"); got != "cross-origin" {
				t.Errorf("%s: Cross-Origin-Resource-Policy %q", path, got)
			}
		}
	}
	if got := get(t, sdkHandler(t, []string{"*"}), "/web/sdk.wasm", "Origin", "https://anyone.test").Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf(`with "*" the wasm's Access-Control-Allow-Origin is %q, want "*"`, got)
	}
	// The app's own files stay same-origin.
	if got := get(t, h, "/web/app.wasm", "Origin", "https://app.example.com").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("/web/app.wasm granted CORS: %q", got)
	}
}

// A URL naming this build is cached for a year; any other revalidates.
func TestSDKFilesCacheByVersion(t *testing.T) {
	h := sdkHandler(t, nil)
	for _, tc := range []struct{ path, want string }{
		{"/web/sdk.wasm?v=build-7", immutableCache},
		{"/wasm_exec.js?v=build-7", immutableCache},
		{"/web/sdk.wasm?v=build-6", "no-cache"},
		{"/web/sdk.wasm", "no-cache"},
		{"/parley.js", "no-cache"},
	} {
		res := get(t, h, tc.path, "Accept-Encoding", "br")
		if got := res.Header.Get("Cache-Control"); got != tc.want {
			t.Errorf("%s: Cache-Control %q, want %q", tc.path, got, tc.want)
		}
	}
	if res := get(t, h, "/web/sdk.wasm?v=build-7", "Accept-Encoding", "br"); res.Header.Get("Content-Encoding") != "br" || body(t, res) != "sdk brotli" {
		t.Fatalf("the cached wasm lost its compression: %v", res.Header)
	}
	if res := get(t, h, "/web/missing.wasm?v=build-7"); res.StatusCode != http.StatusNotFound || res.Header.Get("Cache-Control") == immutableCache {
		t.Fatalf("a missing file is %s with Cache-Control %q", res.Status, res.Header.Get("Cache-Control"))
	}
}
