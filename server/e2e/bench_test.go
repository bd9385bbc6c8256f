package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// transferred sums the bytes that crossed the wire (compressed bodies plus
// headers) for the page and everything it loaded, per Resource Timing.
const transferred = `(() => {
  const all = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  return all.reduce((n, e) => n + (e.transferSize || 0), 0);
})()`

// TestBenchFirstLoadBytes measures the bytes on the wire for a first visit of
// the PWA (until the sign-in screen is interactive) and of the SDK page (until
// Parley.ready). Run with PARLEY_BENCH=1 (make bench); the numbers go in the
// README.
func TestBenchFirstLoadBytes(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	srv := startServer(t)
	b := newBrowser(t)

	pwa := newUser(t, b)
	start := time.Now()
	navigate(t, pwa, srv.URL+"/")
	waitJS(t, pwa, `document.querySelector('#auth-form')`, 60*time.Second)
	pwaTime := time.Since(start)
	time.Sleep(500 * time.Millisecond) // let late resources finish
	pwaBytes := eval[int](t, pwa, transferred)

	sdk := newUser(t, b)
	start = time.Now()
	navigate(t, sdk, srv.URL+"/web/sdk.html")
	eval[bool](t, sdk, `Parley.ready.then(() => true)`)
	sdkTime := time.Since(start)
	sdkBytes := eval[int](t, sdk, transferred)

	t.Logf("first load over loopback: PWA %.3f MB in %v (sign-in screen interactive); SDK page %.3f MB in %v (Parley.ready)",
		float64(pwaBytes)/1e6, pwaTime.Round(time.Millisecond), float64(sdkBytes)/1e6, sdkTime.Round(time.Millisecond))
}

// wireCounter is a reverse proxy on an ephemeral loopback port in front of
// the server: a page loaded through it has its response bodies counted per
// path, exactly as they crossed the wire (compressed), whoever asked for
// them: the page, the service worker's install or the HTTP cache's
// revalidation. WebSockets pass through uncounted.
type wireCounter struct {
	URL   string
	mu    sync.Mutex
	bytes map[string]int64
	reqs  map[string]int
	order []string // the paths asked for, in the order they came
}

func newWireCounter(t *testing.T, target string) *wireCounter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &wireCounter{bytes: map[string]int64{}, reqs: map[string]int{}}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host // the page's origin, which the server checks on /ws
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.reqs[r.URL.Path]++
		c.order = append(c.order, r.URL.Path)
		c.mu.Unlock()
		rp.ServeHTTP(&countingWriter{ResponseWriter: w, c: c, path: r.URL.Path}, r)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// take returns the bytes and requests counted per path since the last take.
func (c *wireCounter) take() (map[string]int64, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, r := c.bytes, c.reqs
	c.bytes, c.reqs, c.order = map[string]int64{}, map[string]int{}, nil
	return b, r
}

// takeOrder returns the paths asked for since the last take, in order, and
// starts over.
func (c *wireCounter) takeOrder() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.order
	c.bytes, c.reqs, c.order = map[string]int64{}, map[string]int{}, nil
	return o
}

type countingWriter struct {
	http.ResponseWriter
	c    *wireCounter
	path string
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.c.mu.Lock()
	w.c.bytes[w.path] += int64(n)
	w.c.mu.Unlock()
	return n, err
}

// Unwrap lets the proxy hijack the connection for WebSockets.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func sumWasm(bytes map[string]int64, reqs map[string]int) (n int64, requests int, total int64) {
	for p, b := range bytes {
		total += b
		if strings.HasSuffix(p, ".wasm") {
			n += b
		}
	}
	for p, r := range reqs {
		if strings.HasSuffix(p, ".wasm") {
			requests += r
		}
	}
	return n, requests, total
}

// TestBenchRepeatVisitBytes loads the PWA twice in one browser profile
// through a wireCounter: the first visit (empty cache) until the sign-in
// screen is interactive and the service worker has cached the app shell,
// then a repeat visit until the sign-in screen is interactive again. It
// reports the bytes the server sent for each, and fails if the repeat visit
// fetched any wasm from the server (it must come from the service worker's
// cache: not even a revalidation). Run with PARLEY_BENCH=1 (make bench).
func TestBenchRepeatVisitBytes(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	srv := startServer(t)
	wire := newWireCounter(t, srv.URL)
	b := newBrowser(t)
	ctx := newUser(t, b)

	navigate(t, ctx, wire.URL+"/")
	waitJS(t, ctx, `document.querySelector('#auth-form')`, 60*time.Second)
	waitJS(t, ctx, shellCachedExpr, 30*time.Second)
	firstWasm, firstWasmReqs, firstTotal := sumWasm(wire.take())
	if firstWasm == 0 {
		t.Fatal("the first visit fetched no wasm through the counter: the count would prove nothing")
	}

	navigate(t, ctx, wire.URL+"/")
	waitJS(t, ctx, `document.querySelector('#auth-form')`, 60*time.Second)
	if !eval[bool](t, ctx, `!!navigator.serviceWorker.controller`) {
		t.Fatal("the repeat visit is not controlled by the service worker")
	}
	repeatWasm, repeatWasmReqs, repeatTotal := sumWasm(wire.take())
	if repeatWasm != 0 || repeatWasmReqs != 0 {
		t.Errorf("repeat visit: %d wasm requests reached the server, %d wasm bytes sent; want none", repeatWasmReqs, repeatWasm)
	}
	t.Logf("repeat visit of the PWA, bytes the server sent (response bodies, WebSocket excluded): first visit %.2f MB of which wasm %.2f MB (%d request), service worker install included; repeat visit %d bytes, wasm %d bytes (%d requests)",
		float64(firstTotal)/1e6, float64(firstWasm)/1e6, firstWasmReqs, repeatTotal, repeatWasm, repeatWasmReqs)
}
