package main

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// Text responses the server makes itself (go-app's page, app.js, app.css,
// manifest and service worker, and parley.js once its version is stamped)
// are sent brotli-compressed to browsers that accept it,
// like the files the build compresses ahead of time (server/internal/precompress).

// minCompress is the smallest body worth compressing: below it brotli's
// framing and the extra headers cost about what they save.
const minCompress = 256

// brCacheSize bounds the compressed bodies kept: go-app's responses differ by
// path (every /join/<code> page is its own), so the cache must not grow with
// the paths asked for.
const brCacheSize = 64

// compressLevel is the brotli quality of the responses compressed while
// serving. Every /join/<code> page is its own body, so anyone can make the
// server compress new ones: quality 11 costs tens of milliseconds of CPU per
// page, 5 a fraction of one, and on these few-kilobyte texts the two differ
// by a few hundred bytes. (The wasm is compressed at 11 by the build.)
const compressLevel = 5

// compressBrotli returns data brotli-compressed at compressLevel.
func compressBrotli(data []byte) []byte {
	var b bytes.Buffer
	w := brotli.NewWriterLevel(&b, compressLevel)
	_, _ = w.Write(data) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	return b.Bytes()
}

// brCache keeps the brotli copies of recent bodies by their SHA-256, so each
// distinct page or script is compressed once, not on every request.
type brCache struct {
	mu sync.Mutex
	m  map[[32]byte][]byte
}

func (c *brCache) get(data []byte) []byte {
	key := sha256.Sum256(data)
	c.mu.Lock()
	z, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return z
	}
	z = compressBrotli(data)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= brCacheSize {
		c.m = make(map[[32]byte][]byte, brCacheSize)
	}
	c.m[key] = z
	c.mu.Unlock()
	return z
}

// compressible reports whether a response of this Content-Type is text that
// brotli shrinks (pages, scripts, styles, manifests, SVG).
func compressible(ctype string) bool {
	ctype, _, _ = strings.Cut(ctype, ";")
	switch ctype = strings.TrimSpace(ctype); {
	case strings.HasPrefix(ctype, "text/"):
		return true
	case ctype == "application/javascript", ctype == "application/json",
		ctype == "application/manifest+json", ctype == "image/svg+xml":
		return true
	}
	return false
}

// brETag marks an entity tag as the brotli copy's, so a cache never takes
// one encoding's tag for the other's.
func brETag(etag string) string {
	if strings.HasSuffix(etag, `"`) && !strings.HasSuffix(etag, `-br"`) {
		return etag[:len(etag)-1] + `-br"`
	}
	return etag
}

// plainETags turns the brotli copies' tags in an If-None-Match header back
// into the tags the wrapped handler knows.
func plainETags(inm string) string {
	return strings.ReplaceAll(inm, `-br"`, `"`)
}

// acceptsBrotli reports whether the request's Accept-Encoding takes br.
func acceptsBrotli(r *http.Request) bool {
	return negotiate(r.Header.Get("Accept-Encoding"), true, false) == "br"
}
