package e2e

import (
	"os"
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

	t.Logf("first load over loopback: PWA %.2f MB in %v (sign-in screen interactive); SDK page %.2f MB in %v (Parley.ready)",
		float64(pwaBytes)/1e6, pwaTime.Round(time.Millisecond), float64(sdkBytes)/1e6, sdkTime.Round(time.Millisecond))
}
