package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/ui"
	"parley/web"
)

// registerRoutes registers the PWA's routes with go-app once per process:
// go-app's router is global and the handler 404s pages without a route.
var registerRoutes = sync.OnceFunc(func() { ui.Routes(nil) })

// newWebHandler returns the handler for everything but /ws: the PWA (go-app),
// the JS SDK, wasm_exec.js and the static files embedded from web/.
// version identifies the build (the wasm's hash) for the service worker; when
// empty it is derived from the embedded app.wasm.
// sdkOrigins are the host patterns of other origins whose pages may load the
// SDK's files ("*" for any).
func newWebHandler(version string, sdkOrigins []string) (http.Handler, error) {
	return webHandler(version, web.Files, sdkOrigins)
}

// staticTypes are the files of web/ served under /web/; anything else there
// (Go sources, compressed copies asked for by name) is not served.
var staticTypes = map[string]string{
	".png":         "image/png",
	".svg":         "image/svg+xml",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
	".html":        "text/html; charset=utf-8", // the SDK playground, web/sdk.html
	".wasm":        "application/wasm",
}

// contentSecurityPolicy keeps every page on this origin: no remote scripts,
// styles, images or connections, WebAssembly allowed.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; " +
	"connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"

// permissionsPolicy lets this origin's pages (not frames of other origins)
// use the camera, the microphone, screen sharing and fullscreen, and turns
// off the powerful features Parley never uses. Only features browsers know
// are listed: an unknown one costs a console warning on every page.
const permissionsPolicy = "camera=(self), microphone=(self), display-capture=(self), fullscreen=(self), " +
	"geolocation=(), payment=(), usb=(), serial=(), hid=(), bluetooth=(), midi=(), " +
	"accelerometer=(), gyroscope=(), magnetometer=(), browsing-topics=()"

func webHandler(version string, files fs.FS, sdkOrigins []string) (http.Handler, error) {
	registerRoutes()
	worker, err := serviceWorkerTemplate(app.DefaultAppWorkerJS)
	if err != nil {
		return nil, err
	}
	st, err := loadStatic(files)
	if err != nil {
		return nil, err
	}
	if worker, err = withPushWorker(worker, files); err != nil {
		return nil, err
	}
	if version == "" {
		version = "dev"
		if f, ok := st.files["app.wasm"]; ok {
			version = f.etag[1:13]
		}
	}
	pwa := &app.Handler{
		Name:        "Parley",
		ShortName:   "Parley",
		Title:       "Parley",
		Description: "Voice and video calls in your browser.",
		Lang:        "en",
		Author:      "Parley",
		Icon: app.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-maskable-512.png",
			SVG:      "/web/icon.svg",
		},
		BackgroundColor: "#f3f5f4",
		ThemeColor:      "#0f5e4f",
		LoadingLabel:    "Loading Parley… {progress}%",
		Styles:          []string{"/web/parley.css"},
		// go-app caches the PNG icons for the service worker but not the SVG
		// the pages show: offline it would be a broken image.
		CacheableResources: []string{"/web/icon.svg"},
		Version:            version,
		// Resolve /web/... to itself: the files are served from the embedded
		// FS below, never from the working directory or a remote bucket.
		Resources: sameOrigin{},
		// The wasm is sent compressed; this header carries its real size so
		// the loading percentage is right.
		WasmContentLengthHeader: "X-Wasm-Content-Length",
		// go-app's worker with an offline-ready fetch handler (see
		// serviceWorkerTemplate).
		ServiceWorkerTemplate: worker,
	}

	mux := http.NewServeMux()
	st.stampVersion("parley.js", version)
	mux.Handle("GET /wasm_exec.js", sdkFile(st.file("wasm_exec.js"), version, sdkOrigins))
	mux.Handle("GET /parley.js", sdkFile(st.file("parley.js"), version, sdkOrigins))
	mux.Handle("GET /"+pushWorkerFile, sdkFile(st.file(pushWorkerFile), version, sdkOrigins))
	for _, name := range []string{"sdk.wasm", "wasm_exec.js", "parley.js", pushWorkerFile} {
		mux.Handle("GET /web/"+name, sdkFile(http.StripPrefix("/web/", st), version, sdkOrigins))
	}
	mux.Handle("GET /web/", http.StripPrefix("/web/", st))
	// go-app would fetch these from this very server over the network.
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("User-agent: *\nDisallow:\n"))
	})
	mux.HandleFunc("GET /sitemap.xml", http.NotFound)
	mux.HandleFunc("GET /ads.txt", http.NotFound)
	mux.Handle("/", pageFilter{h: pwa, br: &brCache{}})
	return securityHeaders(mux), nil
}

// pushWorkerFile is the Web Push part of the service worker (web/), which
// rings a closed app: Parley's worker includes it, and integrators import it
// into theirs from /parley-push-sw.js.
const pushWorkerFile = "parley-push-sw.js"

// withPushWorker puts web/parley-push-sw.js into the worker template ahead
// of go-app's push part, so its listeners run first and keep Parley's pushes
// and notifications to themselves.
func withPushWorker(worker string, files fs.FS) (string, error) {
	b, err := fs.ReadFile(files, pushWorkerFile)
	if errors.Is(err, fs.ErrNotExist) {
		return worker, nil // a file set without it (tests of other parts); TestPushWorker holds web/ to it
	}
	if err != nil {
		return "", fmt.Errorf("web: %w", err)
	}
	if strings.Contains(string(b), "{{") {
		return "", fmt.Errorf("web: %s must not contain {{ (the worker is a Go template)", pushWorkerFile)
	}
	i := strings.Index(worker, workerPushMarker)
	if i < 0 {
		return "", fmt.Errorf("web: the service worker template has no push part")
	}
	return worker[:i] + "// -----------------------------------------------------------------------------\n// Parley Web Push (" + pushWorkerFile + ")\n" +
		"// -----------------------------------------------------------------------------\n" + string(b) + "\n" + worker[i:], nil
}

// workerPushMarker starts the push-notification part of go-app's service
// worker template, which Parley keeps as it is.
const workerPushMarker = "// -----------------------------------------------------------------------------\n// Push Notifications\n"

// workerPWA replaces the PWA part of go-app's service worker template (before
// workerPushMarker). go-app's own version caches the shell but:
//
//   - installs and activates without event.waitUntil, so the worker can
//     activate (and the browser can stop it) before the shell is cached;
//
//   - answers every request from the network when it is not cached, so a
//     reload of /join/<code> offline shows the browser's error page;
//
//   - claims the first-visit page, which makes go-app's page script (it
//     watches for a worker reaching "activated" while a controller exists)
//     announce "a new version is ready" on the very first visit.
//
// This one caches the shell before it installs (the wasm once the page that
// registered it is up, so as not to slow that page's start), answers GET
// requests of this origin from the cache first (the cache name carries the
// build version, so a new build brings a new worker and a fresh cache), and
// when the network fails for a page it serves the cached "/" page: the app
// starts, routes by its URL and tells the user it is offline. It does not
// claim clients: the first page was loaded from the network anyway, every
// later navigation goes through the worker, and on an update skipWaiting
// hands the pages it already controls to the new worker, which is when
// go-app rightly offers a reload.
// Other origins and non-GET requests are left to the browser; nothing here
// names a remote URL.
const workerPWA = `// -----------------------------------------------------------------------------
// PWA (Parley: go-app's worker, offline-ready)
// -----------------------------------------------------------------------------
const cacheName = "app-" + "{{.Version}}";
const resourcesToCache = {{.ResourcesToCache}};

// The wasm, ten times the rest together, is cached once a page says it is
// up ("parley.pageStarted": its first screen is shown), or after
// pageStartWait: on a first visit the worker installs while the page
// downloads, compiles and starts that same wasm, and a second copy of it
// decoded and stored beside them made the page's first screen 160 ms later.
const bigResources = resourcesToCache.filter((u) => u.endsWith(".wasm"));
const pageStartWait = 10000;
let pageStarted;
const pageUp = new Promise((resolve) => { pageStarted = resolve; });
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "parley.pageStarted") {
    pageStarted();
  }
});

self.addEventListener("install", (event) => {
  console.log("installing app worker {{.Version}}");
  event.waitUntil(
    (async () => {
      const cache = await caches.open(cacheName);
      await cache.addAll(resourcesToCache.filter((u) => !bigResources.includes(u)));
      // A page that is already up (an update, a reload) answers at once.
      const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      pages.forEach((page) => page.postMessage({ type: "parley.pageStarted?" }));
      await Promise.race([pageUp, new Promise((resolve) => setTimeout(resolve, pageStartWait))]);
      await cache.addAll(bigResources);
      await self.skipWaiting();
    })()
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const keys = await caches.keys();
      await Promise.all(
        keys.filter((key) => key !== cacheName).map((key) => caches.delete(key))
      );
      console.log("app worker {{.Version}} is activated");
    })()
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  event.respondWith(fetchWithCache(request));
});

async function fetchWithCache(request) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request);
  if (cached) {
    return cached;
  }
  try {
    return await fetch(request);
  } catch (err) {
    if (request.mode === "navigate") {
      const shell = await cache.match("/");
      if (shell) {
        return shell;
      }
    }
    throw err;
  }
}

`

// serviceWorkerTemplate returns go-app's service worker template with its PWA
// part replaced by workerPWA; an error when go-app's template no longer has
// the expected shape (a go-app upgrade must be looked at, not guessed).
func serviceWorkerTemplate(goapp string) (string, error) {
	i := strings.Index(goapp, workerPushMarker)
	if i < 0 || !strings.Contains(goapp[:i], "{{.ResourcesToCache}}") {
		return "", fmt.Errorf("web: go-app's service worker template changed: review serviceWorkerTemplate")
	}
	return workerPWA + goapp[i:], nil
}

// sameOrigin is go-app's ResourceResolver for files served by this handler.
type sameOrigin struct{}

func (sameOrigin) Resolve(location string) string {
	if location == "" {
		return "/"
	}
	return location
}

// securityHeaders sets the headers every response of the web handler
// carries. The Content-Security-Policy is set where HTML is served
// (pageFilter, static.serve): on a script it would mean nothing, and on the
// service worker script it would become the worker's own policy.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Permissions-Policy", permissionsPolicy)
		h.ServeHTTP(w, r)
	})
}

// staticFile is one embedded file with its precompressed copies.
type staticFile struct {
	name  string
	ctype string
	data  []byte
	br    []byte
	gz    []byte
	etag  string
}

type static struct {
	files   map[string]*staticFile
	modTime time.Time
}

func loadStatic(files fs.FS) (*static, error) {
	st := &static{files: map[string]*staticFile{}, modTime: time.Now()}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("web: list embedded files: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
			continue
		}
		ctype, ok := staticTypes[path.Ext(name)]
		if !ok {
			continue
		}
		data, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("web: read %s: %w", name, err)
		}
		sum := sha256.Sum256(data)
		f := &staticFile{name: name, ctype: ctype, data: data, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		// The build's compressed copies (precompress): the wasm and the text
		// files; icons have none and go as they are.
		f.br, _ = fs.ReadFile(files, name+".br")
		f.gz, _ = fs.ReadFile(files, name+".gz")
		st.files[name] = f
	}
	return st, nil
}

// file serves one embedded file at a fixed path; a missing build output is a
// 404 that says what to do.
func (st *static) file(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.serve(w, r, name)
	})
}

// ServeHTTP serves web/<path> (the /web/ prefix stripped).
func (st *static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path
	if strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	st.serve(w, r, name)
}

func (st *static) serve(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := st.files[name]
	if !ok {
		http.Error(w, name+" is not built: run make build", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	if strings.HasPrefix(f.ctype, "text/html") { // the SDK playground, web/sdk.html
		h.Set("Content-Security-Policy", contentSecurityPolicy)
	}
	body, etag := f.data, f.etag
	if path.Ext(name) == ".wasm" {
		h.Set("X-Wasm-Content-Length", strconv.Itoa(len(f.data)))
	}
	if f.br != nil || f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		switch enc := negotiate(r.Header.Get("Accept-Encoding"), f.br != nil, f.gz != nil); enc {
		case "br":
			body, etag = f.br, f.etag[:len(f.etag)-1]+`-br"`
			h.Set("Content-Encoding", "br")
		case "gzip":
			body, etag = f.gz, f.etag[:len(f.etag)-1]+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", st.modTime, bytes.NewReader(body))
}

// negotiate picks "br", "gzip" or "" (identity) from an Accept-Encoding header
// and the copies available, honouring q=0.
func negotiate(accept string, haveBr, haveGz bool) string {
	q := map[string]float64{}
	for _, part := range strings.Split(accept, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		v := 1.0
		if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				v = f
			}
		}
		q[coding] = v
	}
	pick := func(c string) float64 {
		if v, ok := q[c]; ok {
			return v
		}
		if v, ok := q["*"]; ok {
			return v
		}
		return 0
	}
	br, gz := pick("br"), pick("gzip")
	switch {
	case haveBr && br > 0 && br >= gz:
		return "br"
	case haveGz && gz > 0:
		return "gzip"
	case haveBr && br > 0:
		return "br"
	}
	return ""
}

// ogRemote matches the Open Graph and Twitter meta tags go-app fills with
// "https://<Domain>/...": the app has no public domain and must not point at
// one, so they are dropped from the pages.
var ogRemote = regexp.MustCompile(`\s*<meta [^>]*(?:property|name)="(?:og:url|og:image|twitter:image)"[^>]*>`)

// loaderIcon matches the loading screen's icon, an img go-app writes with
// its Icon.Default (the 192 px PNG) and its attributes in any order.
// loaderIconSVG has it show the SVG icon instead: 198 bytes, which the page
// fetches anyway (its favicon, the header's logo), against 3.6 KB fetched
// only for the loading screen of a first visit.
var loaderIcon = regexp.MustCompile(`<img [^>]*\bid="app-wasm-loader-icon"[^>]*>`)

func loaderIconSVG(tag []byte) []byte {
	return bytes.Replace(tag, []byte(`src="/web/icon-192.png"`), []byte(`src="/web/icon.svg"`), 1)
}

// pageFilter post-processes go-app's responses: drops the remote Open Graph
// tags from the HTML pages, has the loading screen show the SVG icon, and
// adds the Content-Security-Policy, and sends
// the text ones (page, app.js, app.css, manifest, worker) brotli-compressed
// to browsers that take it.
type pageFilter struct {
	h  http.Handler
	br *brCache
}

func (p pageFilter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bw := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		r = r.Clone(r.Context())
		r.Header.Set("If-None-Match", plainETags(inm))
	}
	p.h.ServeHTTP(bw, r)
	for k, v := range bw.header {
		w.Header()[k] = v
	}
	body := bw.buf.Bytes()
	ctype := bw.header.Get("Content-Type")
	if strings.HasPrefix(ctype, "text/html") {
		body = ogRemote.ReplaceAll(body, nil)
		body = loaderIcon.ReplaceAllFunc(body, loaderIconSVG)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	}
	if compressible(ctype) {
		w.Header().Add("Vary", "Accept-Encoding")
		br := acceptsBrotli(r)
		compress := br && bw.status == http.StatusOK && len(body) >= minCompress
		if etag := w.Header().Get("ETag"); etag != "" && (compress || br && bw.status == http.StatusNotModified) {
			w.Header().Set("ETag", brETag(etag)) // the brotli copy's own tag; a 304 answers for the copy the browser holds
		}
		if compress {
			body = p.br.get(body)
			w.Header().Set("Content-Encoding", "br")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	w.WriteHeader(bw.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// bufferedWriter holds a response so pageFilter can rewrite it. go-app's
// responses are small (pages, manifest, scripts).
type bufferedWriter struct {
	header http.Header
	status int
	wrote  bool
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.buf.Write(p)
}
