package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/store"
)

func TestOpsFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    opsConfig
		wantErr string
	}{
		{name: "defaults", want: opsConfig{logFormat: "text", logLevel: slog.LevelInfo}},
		{name: "environment", env: map[string]string{"PARLEY_METRICS_ADDR": "localhost:9090", "PARLEY_LOG_FORMAT": "JSON",
			"PARLEY_LOG_LEVEL": "debug"},
			want: opsConfig{metricsAddr: "localhost:9090", logFormat: "json", logLevel: slog.LevelDebug}},
		{name: "flags override environment", args: []string{"-metrics-addr", "127.0.0.1:0", "-log-format", "text", "-log-level", "warn"},
			env:  map[string]string{"PARLEY_METRICS_ADDR": "localhost:9090", "PARLEY_LOG_FORMAT": "json", "PARLEY_LOG_LEVEL": "debug"},
			want: opsConfig{metricsAddr: "127.0.0.1:0", logFormat: "text", logLevel: slog.LevelWarn}},
		{name: "bad format", args: []string{"-log-format", "xml"}, wantErr: "log-format"},
		{name: "bad env format", env: map[string]string{"PARLEY_LOG_FORMAT": "logfmt"}, wantErr: "log-format"},
		{name: "bad level", args: []string{"-log-level", "loud"}, wantErr: "log-level"},
		{name: "bad env level", env: map[string]string{"PARLEY_LOG_LEVEL": "loud"}, wantErr: "PARLEY_LOG_LEVEL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseCase(t, tc.args, tc.env, tc.wantErr)
			if !ok {
				return
			}
			if got.ops != tc.want {
				t.Errorf("ops = %+v, want %+v", got.ops, tc.want)
			}
		})
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, opsConfig{logFormat: "json", logLevel: slog.LevelWarn}).Info("hidden")
	newLogger(&buf, opsConfig{logFormat: "json", logLevel: slog.LevelWarn}).Warn("shown", "room", "r1")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("json log %q: %v", buf.String(), err)
	}
	if rec["msg"] != "shown" || rec["room"] != "r1" {
		t.Errorf("json log record %v", rec)
	}
	buf.Reset()
	newLogger(&buf, opsConfig{logFormat: "text"}).Info("hello", "room", "r2")
	if !strings.Contains(buf.String(), "msg=hello room=r2") {
		t.Errorf("text log %q", buf.String())
	}
}

// TestSecurityHeaders checks the headers of the pages (go-app's, the SDK
// playground) and of a script.
func TestSecurityHeaders(t *testing.T) {
	h := testWebHandler(t)
	for _, tc := range []struct {
		path string
		html bool
	}{
		{"/", true},
		{"/join/abc-defg-hij", true},
		{"/web/sdk.html", true},
		{"/parley.js", false},
		{"/app-worker.js", false}, // a worker's CSP would be its own: none is set
	} {
		t.Run(tc.path, func(t *testing.T) {
			res := get(t, h, tc.path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			hd := res.Header
			if got := hd.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if got := hd.Get("Referrer-Policy"); got != "same-origin" {
				t.Errorf("Referrer-Policy %q", got)
			}
			pp := hd.Get("Permissions-Policy")
			for _, want := range []string{"camera=(self)", "microphone=(self)", "display-capture=(self)", "geolocation=()"} {
				if !strings.Contains(pp, want) {
					t.Errorf("Permissions-Policy %q lacks %s", pp, want)
				}
			}
			csp := hd.Get("Content-Security-Policy")
			if !tc.html {
				if csp != "" {
					t.Errorf("Content-Security-Policy on a script: %q", csp)
				}
				return
			}
			if csp != contentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q, want %q", csp, contentSecurityPolicy)
			}
		})
	}
	// The policy itself stays strict: this origin only, no eval beyond
	// WebAssembly's, no plugins, not framed by others.
	for _, want := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval';", "connect-src 'self'",
		"object-src 'none'", "base-uri 'self'", "frame-ancestors 'self'"} {
		if !strings.Contains(contentSecurityPolicy, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	if strings.Contains(contentSecurityPolicy, "'unsafe-eval'") || strings.Contains(contentSecurityPolicy, "*") {
		t.Errorf("CSP loosened: %q", contentSecurityPolicy)
	}
}

type failingStore struct{ err error }

func (f failingStore) Ready(context.Context) error { return f.err }

func TestReadyz(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	readyz := func(o *ops) (int, string) {
		rec := httptest.NewRecorder()
		o.readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	o := newOps(opsConfig{}, st, slog.New(slog.DiscardHandler), nil)
	if code, body := readyz(o); code != http.StatusServiceUnavailable || !strings.Contains(body, "listeners") {
		t.Errorf("before the listeners are up: %d %q", code, body)
	}
	o.ready(true)
	if code, body := readyz(o); code != http.StatusOK || body != "ready\n" {
		t.Errorf("ready: %d %q", code, body)
	}
	o2 := newOps(opsConfig{}, failingStore{errors.New("disk full")}, slog.New(slog.DiscardHandler), nil)
	o2.ready(true)
	if code, body := readyz(o2); code != http.StatusServiceUnavailable || !strings.Contains(body, "disk full") {
		t.Errorf("unwritable store: %d %q", code, body)
	}
	st.Close()
	if code, body := readyz(o); code != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
		t.Errorf("closed database: %d %q", code, body)
	}
	o.ready(false)
	if code, _ := readyz(o); code != http.StatusServiceUnavailable {
		t.Errorf("shutting down: %d", code)
	}
}

// logLines is an io.Writer collecting log lines for a test to wait on.
type logLines struct {
	mu      sync.Mutex
	lines   []string
	partial string
	changed chan struct{}
}

func newLogLines() *logLines { return &logLines{changed: make(chan struct{})} }

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.partial + string(p)
	parts := strings.Split(s, "\n")
	l.partial = parts[len(parts)-1]
	l.lines = append(l.lines, parts[:len(parts)-1]...)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logLines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// record waits for a JSON record with this msg and returns it.
func (l *logLines) record(t testing.TB, msg string) map[string]any {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		lines, ch := l.lines, l.changed
		l.mu.Unlock()
		for _, line := range lines {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				return rec
			}
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %q log record in:\n%s", msg, strings.Join(lines, "\n"))
		}
	}
}

// wsClient is a synchronous test client of /ws: it reads in the test's
// goroutine, keeping the events it reads while waiting for a reply.
type wsClient struct {
	t      testing.TB
	ws     *websocket.Conn
	id     uint64
	seq    uint64 // the last event's number, for resuming
	events []wire.Frame
}

func dialWS(t testing.TB, addr string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &wsClient{t: t, ws: ws}
}

func (c *wsClient) read() wire.Frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	f, err := wire.Decode(b)
	if err != nil {
		c.t.Fatalf("decode %q: %v", b, err)
	}
	c.seq = max(c.seq, f.Seq)
	return f
}

// send writes a request with the next ID.
func (c *wsClient) send(ctx context.Context, typ string, payload any) error {
	c.t.Helper()
	c.id++
	f, err := wire.Request(typ, c.id, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := wire.Encode(f)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// do sends a request and returns its reply.
func (c *wsClient) do(typ string, payload, out any) *wire.Error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.send(ctx, typ, payload); err != nil {
		c.t.Fatalf("write %s: %v", typ, err)
	}
	for {
		r := c.read()
		if r.Type != wire.TypeResult && r.Type != wire.TypeError {
			c.events = append(c.events, r)
			continue
		}
		if r.ID != c.id {
			c.t.Fatalf("reply to %d while waiting for %d", r.ID, c.id)
		}
		if r.Type == wire.TypeError {
			return r.Error
		}
		if out != nil {
			if err := json.Unmarshal(r.Data, out); err != nil {
				c.t.Fatal(err)
			}
		}
		return nil
	}
}

// A "busy" reply (a store call, such as a production password hash, queued
// past its deadline on a starved machine) is tried again, as a client would.
func (c *wsClient) must(typ string, payload, out any) {
	c.t.Helper()
	e := c.do(typ, payload, out)
	for try := 1; e != nil && e.Reason == wire.ReasonBusy && try < 4; try++ {
		c.t.Logf("%s: %v; again", typ, e)
		e = c.do(typ, payload, out)
	}
	if e != nil {
		c.t.Fatalf("%s: %v", typ, e)
	}
}

// event returns the first event of typ, read now or earlier.
func (c *wsClient) event(typ string) wire.Frame {
	c.t.Helper()
	for i, f := range c.events {
		if f.Type == typ {
			c.events = append(c.events[:i:i], c.events[i+1:]...)
			return f
		}
	}
	for {
		if f := c.read(); f.Type == typ {
			return f
		} else if f.Type != wire.TypeResult && f.Type != wire.TypeError {
			c.events = append(c.events, f)
		}
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// metricValue finds the sample of series (name{labels} exactly as the text
// format writes it) in a scrape.
func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Errorf("no series %s in the scrape", series)
	return -1
}

// serveJSON runs serve() with args (plus JSON logs) over the environment env
// until stop, which may be called more than once; the logs are records to
// wait for.
func serveJSON(t testing.TB, args []string, env map[string]string) (logs *logLines, stop func()) {
	t.Helper()
	cfg, err := parseConfig(append(args, "-log-format", "json"), envFrom(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs = newLogLines()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, newLogger(logs, cfg.ops)) }()
	stopped := false
	return logs, func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

// TestServeOps runs the server with a separate metrics listener and JSON
// logs, makes a real call over /ws, and checks what /metrics, /readyz and
// the logs say about it.
func TestServeOps(t *testing.T) {
	logs, stop := serveJSON(t, []string{"-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0", "-data", t.TempDir()}, nil)
	defer stop()
	mainAddr := logs.record(t, "listening")["addr"].(string)
	metricsAddr := logs.record(t, "metrics listening")["addr"].(string)
	if mainAddr == metricsAddr {
		t.Fatalf("one address for both listeners: %s", mainAddr)
	}

	// /metrics on its own port only; health and readiness on both.
	if code, body := httpGet(t, "http://"+mainAddr+"/metrics"); code == http.StatusOK || strings.Contains(body, "parley_") {
		t.Errorf("the main listener serves /metrics: %d", code)
	}
	for _, addr := range []string{mainAddr, metricsAddr} {
		if code, body := httpGet(t, "http://"+addr+"/readyz"); code != http.StatusOK || body != "ready\n" {
			t.Errorf("%s/readyz: %d %q", addr, code, body)
		}
		if code, body := httpGet(t, "http://"+addr+"/healthz"); code != http.StatusOK || body != "ok" {
			t.Errorf("%s/healthz: %d %q", addr, code, body)
		}
	}

	// Each socket is opened just before its first request: one that says
	// nothing for the auth timeout (10 s) is closed, and under load two
	// production password hashes can take that long.
	alice := dialWS(t, mainAddr)
	alice.must(wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "password-alice"}, nil)
	bob := dialWS(t, mainAddr)
	bob.must(wire.TypeRegister, wire.RegisterRequest{Username: "bob", Password: "password-bob"}, nil)
	mallory := dialWS(t, mainAddr)
	if e := mallory.do(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "wrong password"}, nil); e == nil || e.Code != wire.CodeUnauthorized {
		t.Fatalf("login with a wrong password: %v", e)
	}
	var created wire.CallResult
	alice.must(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"bob@localhost"}, Type: wire.TypeAudio}, &created)
	room := created.Call.RoomID
	bob.event(wire.EventIncoming)
	bob.must(wire.TypeCallAnswer, wire.RoomRequest{RoomID: room}, nil)
	alice.must(wire.TypeCallSignal, wire.SignalRequest{RoomID: room, To: "bob@localhost",
		Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "offer", SDP: "v=0 offer"}}}, nil)
	bob.event(wire.EventSignal)
	bob.must(wire.TypeCallMedia, wire.MediaRequest{RoomID: room, Status: wire.StatusConnected}, nil)

	// Mid-call: every reply came after the hub recorded its request.
	metricsURL := "http://" + metricsAddr + "/metrics"
	code, text := httpGet(t, metricsURL)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for series, want := range map[string]float64{
		`parley_websocket_connections`:                   3,
		`parley_sessions`:                                2,
		`parley_users_signed_in`:                         2,
		`parley_calls{state="active"}`:                   1,
		`parley_calls{state="ringing"}`:                  0,
		`parley_calls_by_members{members="2"}`:           1,
		`parley_sign_ins_total{kind="user"}`:             2,
		`parley_login_failures_total`:                    1,
		`parley_calls_created_total{kind="call"}`:        1,
		`parley_rings_total`:                             1,
		`parley_ring_outcomes_total{outcome="answered"}`: 1,
		`parley_relayed_frames_total{kind="signal"}`:     1,
		`parley_call_setup_seconds_count`:                1,
		`parley_calls_ended_total{reason="hangup"}`:      0,
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if got := metricValue(t, text, `parley_relayed_bytes_total{kind="signal"}`); got < float64(len("v=0 offer")) {
		t.Errorf("relayed signal bytes = %v", got)
	}
	for _, want := range []string{"go_goroutines ", "process_cpu_seconds_total ", `parley_build_info{version="dev"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}

	alice.must(wire.TypeCallEnd, wire.RoomRequest{RoomID: room}, nil)
	_, text = httpGet(t, metricsURL)
	for series, want := range map[string]float64{
		`parley_calls{state="active"}`:              0,
		`parley_calls_ended_total{reason="hangup"}`: 1,
		`parley_call_duration_seconds_count`:        1,
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("after the call: %s = %v, want %v", series, got, want)
		}
	}

	// The call's lifecycle is logged, one JSON record per event, with the
	// room; every line is JSON.
	for _, msg := range []string{"call created", "call ringing", "call answered", "call connected", "call member left", "call ended"} {
		rec := logs.record(t, msg)
		if rec["room"] != room {
			t.Errorf("%q record has room %v, want %s", msg, rec["room"], room)
		}
		if rec["level"] != "INFO" {
			t.Errorf("%q record at level %v", msg, rec["level"])
		}
	}
	if rec := logs.record(t, "call ended"); rec["reason"] != "hangup" || rec["duration_ms"] == nil {
		t.Errorf("call ended record %v", rec)
	}
	stop()
	for _, line := range logs.snapshot() {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
}
