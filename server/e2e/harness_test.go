// Package e2e drives the built Parley server and headless Chromium: the
// browser end-to-end layer. Nothing here builds anything: run `make build`
// first (bin/parley, web/*.wasm, web/wasm_exec.js).
//
// Environment: PARLEY_CHROMIUM names the browser (default /usr/bin/chromium);
// PARLEY_BIN another server binary to run instead of bin/parley.
// When the browser or the build is missing the tests skip with a loud message,
// or fail when CI is set.
package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The one browser of this test binary, started by the first newBrowser and
// stopped by TestMain.
var shared struct {
	mu      sync.Mutex
	browser *browser
	stop    func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.stop != nil {
		shared.stop()
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// missing skips the test with a loud message, or fails it when CI is set.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set and %s", msg)
	}
	t.Skipf("\n\n!!! SKIPPING BROWSER TEST: %s !!!\n\n", msg)
}

// repoRoot finds the directory with go.mod above the working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("e2e: no go.mod above the working directory")
		}
		dir = parent
	}
}

// requireBuild checks that `make build` ran.
func requireBuild(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	files := []string{"web/app.wasm", "web/wasm_exec.js"}
	if os.Getenv("PARLEY_BIN") == "" {
		files = append(files, "bin/parley")
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			missing(t, "%s is missing: run `make build` first", f)
		}
	}
	return root
}

// server is a running bin/parley.
type server struct {
	// URL is the server's origin, http://127.0.0.1:port (https:// when
	// the server logs scheme=https).
	URL  string
	Addr string
	// Data is the server's data directory.
	Data string
	// Client trusts the server's certificate when it serves HTTPS (see
	// serverOptions.TLS).
	Client *http.Client
	// Listening is when the running process logged its listen address.
	Listening time.Time
	cmd       *exec.Cmd
	exited    chan error
	log       *lockedBuffer
	bin, root string
	args      []string
	o         serverOptions
}

// serverOptions tune startServerWith.
type serverOptions struct {
	// RingTimeout is the server's -ring-timeout (default 30s).
	RingTimeout time.Duration
	// Args are extra command-line flags.
	Args []string
	// TLS serves HTTPS and WSS with a certificate for 127.0.0.1 and
	// localhost from the test CA, which the browser trusts (see tls_test.go).
	TLS bool
	// Bin is the server binary to run, if not bin/parley (or PARLEY_BIN):
	// a benchmark comparing two builds in one run.
	Bin string
}

// startServer runs the built server on a free loopback port with a fresh data
// directory, and stops it when the test ends.
func startServer(t *testing.T) *server {
	return startServerWith(t, serverOptions{})
}

// listenAddr finds the actual listen address in the server's "listening"
// log line (other listeners, such as TURN's, log theirs too).
var listenAddr = regexp.MustCompile(`msg=listening addr=((?:127\.0\.0\.1|localhost|\[::1\]):[1-9][0-9]*)`)

func startServerWith(t *testing.T, o serverOptions) *server {
	t.Helper()
	root := requireBuild(t)
	if o.RingTimeout == 0 {
		o.RingTimeout = 30 * time.Second
	}
	data := t.TempDir()
	// Every test user registers from 127.0.0.1, and several tests make more
	// than the default burst of accounts on one server: the harness raises
	// the per-address registration limit (o.Args may set it again, the last
	// flag wins; TestSDKAbuseLimits does).
	args := append([]string{"-addr", "127.0.0.1:0", "-data", data, "-ring-timeout", o.RingTimeout.String(),
		"-register-burst", "1000"}, o.Args...)
	if o.TLS {
		args = append(args, testCAServerFlags(t)...)
	}
	bin := o.Bin
	if bin == "" {
		bin = os.Getenv("PARLEY_BIN")
	}
	if bin == "" {
		bin = filepath.Join(root, "bin/parley")
	}
	s := &server{log: &lockedBuffer{}, Data: data, Client: &http.Client{Timeout: 10 * time.Second},
		bin: bin, root: root, args: args, o: o}
	t.Cleanup(s.Client.CloseIdleConnections)
	t.Cleanup(func() {
		s.halt(false)
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	s.launch(t, args)
	return s
}

// launch starts the server process with args and waits until it serves /.
func (s *server) launch(t *testing.T, args []string) {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.root
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start bin/parley: %v", err)
	}
	s.cmd = cmd
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteString(line + "\n")
			if !found {
				if m := listenAddr.FindStringSubmatch(line); m != nil {
					found = true
					addr <- m[1]
				}
			}
		}
	}()
	exited := make(chan error, 1)
	s.exited = exited
	go func() { exited <- cmd.Wait(); pw.Close() }()
	select {
	case a := <-addr:
		s.Listening = time.Now()
		s.Addr = a
		s.URL = "http://" + a
		if strings.Contains(s.log.String(), "scheme=https") {
			s.URL = "https://" + a
			s.Client.Transport = &http.Transport{TLSClientConfig: serverTrust(t, s.o, s.Data)}
		}
	case err := <-exited:
		s.cmd = nil // gone: nothing for halt to stop or wait for
		t.Fatalf("bin/parley exited before listening (%v):\n%s", err, s.log.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("bin/parley did not log its listen address within 15s:\n%s", s.log.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := s.Client.Get(s.URL + "/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
			err = fmt.Errorf("status %s", res.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s not serving /: %v\n%s", s.URL, err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// halt ends the running process: with SIGKILL when kill is set (as a crash
// or kill -9 would), else with SIGINT, killing it after 5 s.
func (s *server) halt(kill bool) {
	if s.cmd == nil {
		return
	}
	if kill {
		_ = s.cmd.Process.Kill()
	} else {
		_ = s.cmd.Process.Signal(os.Interrupt)
	}
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// restart stops the server (killed, or shut down gracefully), waits down,
// and starts it again on the same address and data directory.
func (s *server) restart(t *testing.T, kill bool, down time.Duration) {
	t.Helper()
	s.halt(kill)
	time.Sleep(down)
	s.start(t)
}

// start starts the stopped server again, as a new process on the same
// address and data directory.
func (s *server) start(t *testing.T) {
	t.Helper()
	s.launch(t, append(slices.Clone(s.args), "-addr", s.Addr)) // the last -addr wins
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) WriteString(s string) {
	l.mu.Lock()
	l.b.WriteString(s)
	l.mu.Unlock()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// browser is the headless Chromium of this test binary.
type browser struct {
	ctx context.Context // the browser's first tab; parent of every user context
}

// chromiumPath returns the browser to run.
func chromiumPath() string {
	if p := os.Getenv("PARLEY_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// newBrowser returns the test binary's one headless Chromium, starting it on
// first use, with fake camera and microphone that need no permission prompt.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if _, err := exec.LookPath(path); err != nil {
		missing(t, "no Chromium at %s (install the chromium package or set PARLEY_CHROMIUM)", path)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.browser != nil {
		return shared.browser
	}
	shared.browser, shared.stop = launchBrowser(t, path)
	return shared.browser
}

// newPinnedBrowser starts a Chromium of its own whose processes all run on
// the one processor cpu (taskset), for benchmarks that give each side of a
// call a processor of its own, as two machines would. It is stopped when the
// test ends.
func newPinnedBrowser(t *testing.T, cpu int) *browser {
	t.Helper()
	path := chromiumPath()
	if _, err := exec.LookPath(path); err != nil {
		missing(t, "no Chromium at %s (install the chromium package or set PARLEY_CHROMIUM)", path)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Skip("benchmark needs taskset (util-linux) to pin a browser to a processor")
	}
	wrapper := filepath.Join(t.TempDir(), "chromium-on-cpu"+strconv.Itoa(cpu))
	script := fmt.Sprintf("#!/bin/sh\nexec %q -c %d %q \"$@\"\n", taskset, cpu, path)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	b, stop := launchBrowser(t, wrapper)
	t.Cleanup(stop)
	return b
}

// launchBrowser starts the headless Chromium at path with the suite's flags
// and returns it with the function that stops it.
func launchBrowser(t *testing.T, path string) (*browser, func()) {
	t.Helper()
	dataDir, err := os.MkdirTemp("", "parley-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dataDir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-device-for-media-stream", fakeDevices()),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Trust the test CA of tls_test.go for servers started with TLS.
		chromedp.Flag("ignore-certificate-errors-spki-list", testCA(t).spki),
		chromedp.WindowSize(1280, 800),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(dataDir)
		t.Fatalf("start %s: %v", path, err)
	}
	return &browser{ctx: ctx}, func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(dataDir)
	}
}

// pages counts the pages each running test has opened: the third waits for
// the machine's other test process to finish any test of three pages or more
// (holdHeavy).
var pages struct {
	mu sync.Mutex
	n  map[*testing.T]int
}

// quietNetwork turns off DevTools' network agent in ctx's tab, which
// chromedp turns on for every tab it attaches to. With it on, the browser
// keeps a copy of every response body for DevTools and reports each request,
// each chunk of a body and each WebSocket frame to the test process: a first
// visit of the PWA took 130-190 ms longer with it (the 10 MB wasm copied),
// and no user's browser does any of it. Benchmarks (TestBench*) measure
// without it; the tests that read network events (requestLog) keep it.
func quietNetwork(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, "network agent off", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.Disable, cdp.Empty{})
		return chromedp.Void{}, err
	})
}

// newUser opens an isolated browser context (own storage, own service worker)
// with one tab, for one simulated user. Console messages and page errors go
// to the test log when the test fails.
func newUser(t *testing.T, b *browser) context.Context {
	t.Helper()
	pages.mu.Lock()
	if pages.n == nil {
		pages.n = map[*testing.T]int{}
	}
	pages.n[t]++
	n := pages.n[t]
	pages.mu.Unlock()
	switch n {
	case 1:
		t.Cleanup(func() {
			pages.mu.Lock()
			delete(pages.n, t)
			pages.mu.Unlock()
		})
	case 3:
		holdHeavy(t)
	}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("new browser context: %v", err)
	}
	if strings.HasPrefix(t.Name(), "TestBench") {
		quietNetwork(t, ctx)
	}
	console := &lockedBuffer{}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			console.WriteString(fmt.Sprintf("%s [%s] %s\n", time.Now().Format("15:04:05.000"), ev.Type, strings.Join(parts, " ")))
		case *runtime.EventExceptionThrown:
			console.WriteString(fmt.Sprintf("%s [exception] %s\n", time.Now().Format("15:04:05.000"), exceptionText(ev.ExceptionDetails)))
		}
	}); err != nil {
		t.Logf("listen to console: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser console of %p:\n%s", ctx, console.String())
		}
		cancel()
	})
	return ctx
}

// run runs chromedp actions with a deadline and fails the test on error.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// navigate opens url in the user's tab.
func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	run(t, ctx, "navigate to "+url, chromedp.Navigate(url))
}

// setViewport sizes the user's tab (390x844 phone, 1280x800 desktop).
func setViewport(t *testing.T, ctx context.Context, w, h int64) {
	t.Helper()
	run(t, ctx, "set viewport", chromedp.EmulateViewport(w, h))
}

// eval evaluates a JavaScript expression, awaiting a returned promise, and
// decodes its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := evalErr[T](ctx, expr)
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

func evalErr[T any](ctx context.Context, expr string) (T, error) {
	return evalWithin[T](ctx, expr, 20*time.Second)
}

// evalWithin is evalErr for an expression that may take up to d.
func evalWithin[T any](ctx context.Context, expr string, d time.Duration) (T, error) {
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitJS polls a JavaScript expression (a promise is awaited) until it is
// truthy or the timeout ends; on timeout it saves a screenshot and fails.
func waitJS(t *testing.T, ctx context.Context, expr string, timeout time.Duration) {
	t.Helper()
	if ok, last := pollJSErr(ctx, expr, timeout); !ok {
		path := screenshot(t, ctx, "timeout")
		text, _ := evalErr[string](ctx, "document.body ? document.body.innerText.slice(0, 2000) : ''")
		t.Fatalf("waited %v for %s (last error: %v); screenshot %s; page text:\n%s", timeout, expr, last, path, text)
	}
}

// pollJS reports whether the JavaScript expression expr (a promise is
// awaited) became truthy within timeout.
func pollJS(ctx context.Context, expr string, timeout time.Duration) bool {
	ok, _ := pollJSErr(ctx, expr, timeout)
	return ok
}

// pollJSErr is pollJS that also returns the last evaluation error.
func pollJSErr(ctx context.Context, expr string, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := evalErr[bool](ctx, "(async () => !!(await ("+expr+")))()")
		if err == nil && ok {
			return true, nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false, last
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// click clicks the element matching a CSS selector, with real input events
// (a user gesture for autoplay and permission rules).
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	// A screen that re-renders between the lookup and the click (an engine
	// event landing then) replaces the node, and DevTools no longer knows
	// the one found: look again, as a user clicks what is there.
	for attempt := 1; ; attempt++ {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(c, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		cancel()
		if err == nil {
			return
		}
		if attempt < 3 && strings.Contains(err.Error(), "Could not find node with given id") {
			continue
		}
		t.Fatalf("click %s: %v", sel, err)
	}
}

// typeText types text into the element matching a CSS selector: a click on
// it, then the text as one insertion (an input event, as from a keyboard's
// autocomplete or an IME). chromedp.SendKeys costs three round trips to the
// renderer per character, each waiting for a frame: on a starved CI machine
// a short sentence took over 30 s that way.
func typeText(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	run(t, ctx, "type into "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible), insertText(text))
}

// insertText inserts text at the focused element's caret.
func insertText(text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: text})
		return chromedp.Void{}, err
	}
}

// clearText empties an input the way a user would, firing an input event.
func clearText(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	eval[bool](t, ctx, `(() => { const el = document.querySelector(`+strconv.Quote(sel)+`); el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); return true })()`)
}

// screenshot saves the user's viewport as test-artifacts/<test>/<name>.png at
// the repository root and returns the path ("" when it failed: screenshots
// never fail a test).
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "test-artifacts", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			t.Logf("screenshot %s: %v", name, err)
		}
		return ""
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	return path
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return ""
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// fakeDevices is the fake camera's setting. Tests run it at 10 frames a
// second, half Chromium's default: every video call in the suite then costs
// 15-30% less CPU (TestPWAInCallFeatures: 68-69 s against 78-101 s of the
// machine's CPU), which a 2-core CI machine running the browser tests beside
// the native ones needs. Benchmarks (PARLEY_BENCH) keep the default 20, the
// rate their README figures were measured at; PARLEY_FAKE_FPS overrides both.
func fakeDevices() any {
	if v := os.Getenv("PARLEY_FAKE_FPS"); v != "" {
		return "fps=" + v
	}
	if os.Getenv("PARLEY_BENCH") != "" {
		return true
	}
	return "fps=10"
}
