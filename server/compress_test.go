package main

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
)

func unbrotli(t *testing.T, b string) string {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(strings.NewReader(b)))
	if err != nil {
		t.Fatalf("not brotli: %v", err)
	}
	return string(out)
}

// TestTextCompressed: go-app's pages, scripts, styles and worker go brotli-compressed to a browser that
// takes br, decode to exactly what a browser without it gets, and answer a
// conditional request for the copy it holds with 304.
func TestTextCompressed(t *testing.T) {
	h := testWebHandler(t)
	for _, path := range []string{"/", "/join/abc-123", "/app.js", "/app.css", "/app-worker.js"} {
		t.Run(path, func(t *testing.T) {
			plain := get(t, h, path, "Accept-Encoding", "gzip")
			if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" {
				t.Fatalf("without br: status %d, Content-Encoding %q", plain.StatusCode, plain.Header.Get("Content-Encoding"))
			}
			want := body(t, plain)
			res := get(t, h, path, "Accept-Encoding", "gzip, deflate, br, zstd")
			if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "br" {
				t.Fatalf("with br: status %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
			}
			if got := res.Header.Values("Vary"); !slices.Contains(got, "Accept-Encoding") {
				t.Errorf("Vary %q lacks Accept-Encoding", got)
			}
			z := body(t, res)
			if len(z) >= len(want) {
				t.Errorf("brotli body %d bytes, plain %d", len(z), len(want))
			}
			got := unbrotli(t, z)
			if page := !strings.Contains(path, "."); page {
				// go-app writes attributes in random order: a page is
				// the same page, not the same bytes.
				if !strings.HasPrefix(got, "<!doctype html>") || !strings.Contains(got, "</html>") {
					t.Errorf("decoded page is not a page: %.80q", got)
				}
			} else if got != want {
				t.Errorf("decoded body differs from the plain one")
			}
			etag := res.Header.Get("ETag")
			if etag == "" || etag == plain.Header.Get("ETag") {
				t.Fatalf("brotli ETag %q, plain %q: they must differ", etag, plain.Header.Get("ETag"))
			}
			again := get(t, h, path, "Accept-Encoding", "br", "If-None-Match", etag)
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("conditional request for the brotli copy: status %d, want 304", again.StatusCode)
			}
		})
	}
}

// TestStaticTextCompressed: a file of web/ with a build-made .br copy goes
// out as that copy; parley.js, whose version the server stamps in, as a copy
// compressed after stamping; one without a copy (an icon) as it is.
func TestStaticTextCompressed(t *testing.T) {
	css := bytes.Repeat([]byte(".a{color:red}\n"), 100)
	files := fstest.MapFS{
		"parley.css":    {Data: css},
		"parley.css.br": {Data: []byte(compressBrotli(css))},
		"icon.svg":      {Data: []byte("<svg/>")},
		"parley.js":     {Data: []byte("var version = " + versionMarker + ";\n" + strings.Repeat("// loader\n", 50))},
	}
	h, err := webHandler("test-version", files, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := get(t, h, "/web/parley.css", "Accept-Encoding", "br")
	if res.Header.Get("Content-Encoding") != "br" || unbrotli(t, body(t, res)) != string(css) {
		t.Errorf("parley.css: Content-Encoding %q, want br and the file's content", res.Header.Get("Content-Encoding"))
	}
	if res := get(t, h, "/web/parley.css", "Accept-Encoding", "gzip"); res.Header.Get("Content-Encoding") != "" || body(t, res) != string(css) {
		t.Errorf("parley.css without br: Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	res = get(t, h, "/parley.js", "Accept-Encoding", "br")
	if got := unbrotli(t, body(t, res)); res.Header.Get("Content-Encoding") != "br" || !strings.HasPrefix(got, `var version = "test-version";`) {
		t.Errorf("parley.js: Content-Encoding %q, decoded %.40q: want br of the stamped file", res.Header.Get("Content-Encoding"), got)
	}
	if res := get(t, h, "/web/icon.svg", "Accept-Encoding", "br"); res.Header.Get("Content-Encoding") != "" || body(t, res) != "<svg/>" {
		t.Errorf("icon.svg: Content-Encoding %q, want none (no copy)", res.Header.Get("Content-Encoding"))
	}
}
