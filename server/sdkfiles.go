package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// The SDK's files (/parley.js, /wasm_exec.js, /web/sdk.wasm) are loaded by
// integrators' pages on other origins. A <script> tag needs no CORS, but the
// loader fetches the wasm, which does; and the wasm is large, so it is cached
// for a year under a URL that names the build.

// versionMarker is the placeholder in web/parley.js that the server replaces
// with the build's version, so that the loader asks for the wasm and
// wasm_exec.js of exactly this build.
const versionMarker = `/*PARLEY_VERSION*/""`

// immutableCache is the Cache-Control of a response whose URL names the build.
const immutableCache = "public, max-age=31536000, immutable"

// stampVersion writes version into the loader in place of versionMarker and
// gives it the ETag of its new content.
func (st *static) stampVersion(name, version string) {
	f, ok := st.files[name]
	if !ok || !bytes.Contains(f.data, []byte(versionMarker)) {
		return
	}
	data := bytes.Replace(f.data, []byte(versionMarker), []byte(`"`+jsString(version)+`"`), 1)
	sum := sha256.Sum256(data)
	st.files[name] = &staticFile{name: f.name, ctype: f.ctype, data: data, br: compressBrotli(data), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// jsString keeps only the characters a build version uses, so the version
// cannot break out of the string literal it is put in.
func jsString(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '+':
			return r
		}
		return -1
	}, s)
}

// sdkFile serves one of the SDK's files to any page allowed by origins
// (host patterns as for /ws; "*" allows every origin), and lets browsers
// keep it for a year when the URL's v parameter names this build.
func sdkFile(h http.Handler, version string, origins []string) http.Handler {
	public := false
	for _, o := range origins {
		if o == "*" {
			public = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		// Another origin's page that is cross-origin isolated (COEP) may
		// still load these files.
		hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
		switch origin := r.Header.Get("Origin"); {
		case public:
			hd.Set("Access-Control-Allow-Origin", "*")
		case origin != "" && originAllowed(origin, origins):
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Add("Vary", "Origin")
		default:
			hd.Add("Vary", "Origin")
		}
		if r.URL.Query().Get("v") == version && version != "" {
			h.ServeHTTP(&cacheControl{ResponseWriter: w, value: immutableCache}, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// cacheControl overrides the Cache-Control the wrapped handler sets on a
// successful response.
type cacheControl struct {
	http.ResponseWriter
	value string
	wrote bool
}

func (c *cacheControl) WriteHeader(status int) {
	if c.wrote {
		return
	}
	c.wrote = true
	if status == http.StatusOK || status == http.StatusNotModified {
		c.Header().Set("Cache-Control", c.value)
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *cacheControl) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.ResponseWriter.Write(p)
}

// originAllowed reports whether the Origin header value's host matches one of
// the host patterns (path.Match syntax, case-insensitive), the rule the
// WebSocket endpoint applies to the same list.
func originAllowed(origin string, patterns []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Host)
	for _, p := range patterns {
		if ok, err := path.Match(strings.ToLower(p), host); err == nil && ok {
			return true
		}
	}
	return false
}
