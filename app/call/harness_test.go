//go:build !(js && wasm)

package call_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app/call"
	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
	"parley/server/store"
)

// testServer is the real hub and SQLite store behind a loopback HTTP server.
// It can be stopped and started again on the same address and store file
// (stop, start, restart), as a server process that dies and comes back.
type testServer struct {
	URL   string
	Store *store.Store // the current process's store; a restart opens a new one
	Hub   *hub.Hub     // the current process's hub

	cfg  hub.Config
	path string // the store file
	addr string // host:port, kept across restarts
	http *http.Server
	ln   *trackingListener
	done chan struct{} // closed when the current Serve returns
}

var cheapPasswords = store.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func startServer(t *testing.T, cfg hub.Config) *testServer {
	t.Helper()
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &testServer{cfg: cfg, path: filepath.Join(t.TempDir(), "parley.db"), addr: "127.0.0.1:0"}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// start runs a new hub on the store file and the address of the previous
// one (a fresh ephemeral port the first time). Starting a running server
// fails the test.
func (s *testServer) start(t *testing.T) {
	t.Helper()
	if s.Hub != nil {
		t.Fatal("testServer.start: the server is running")
	}
	st, err := store.Open(s.path, store.WithPasswordParams(cheapPasswords))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// The port was ours a moment ago; the kernel may take a little while to
	// let go of it.
	var ln net.Listener
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = st.Close()
			t.Fatalf("listen again on %s: %v", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h := hub.New(s.cfg, st)
	if _, err := h.Restore(context.Background()); err != nil {
		t.Fatalf("restore calls: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	s.ln = &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func(srv *http.Server, ln net.Listener, done chan struct{}) {
		_ = srv.Serve(ln)
		close(done)
	}(s.http, s.ln, s.done)
	s.addr = ln.Addr().String()
	s.URL = "http://" + s.addr
	s.Store, s.Hub = st, h
}

// stop makes the server go away as a killed process does: the listener
// closes and every connection is cut without a WebSocket close, so clients
// see a dead link. The hub is then shut down (what it writes then is what a
// graceful shutdown writes) and the store closed. Stopping a stopped server
// does nothing.
func (s *testServer) stop(t *testing.T) {
	t.Helper()
	if s.Hub == nil {
		return
	}
	_ = s.ln.Close()
	s.ln.cutAll()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The listener is closed already: Shutdown closing it again is no fault.
	if err := s.http.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("stop http server: %v", err)
	}
	<-s.done
	if err := s.Hub.Shutdown(ctx); err != nil {
		t.Errorf("stop hub: %v", err)
	}
	if err := s.Store.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
	s.Hub, s.Store = nil, nil
}

// restart is stop then start: the same address and store file, a new hub.
func (s *testServer) restart(t *testing.T) {
	t.Helper()
	s.stop(t)
	s.start(t)
}

// trackingListener remembers the connections it accepted (hijacked
// WebSockets included) so that they can be cut all at once.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	return &trackedConn{Conn: c, l: l}, nil
}

// cutAll closes every connection accepted so far.
func (l *trackingListener) cutAll() {
	l.mu.Lock()
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l *trackingListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c.Conn)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// cutProxy is a TCP proxy on its own loopback port in front of a server:
// cut drops every connection through it and refuses new ones until mend, as
// a network that goes away between one client and the server.
type cutProxy struct {
	URL     string
	backend string
	ln      net.Listener
	mu      sync.Mutex
	cutNow  bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func newCutProxy(t *testing.T, backendURL string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &cutProxy{URL: "http://" + ln.Addr().String(), backend: strings.TrimPrefix(backendURL, "http://"), ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cutNow {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[b] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		go pipe(b, c)
		go pipe(c, b)
	}
}

// cut drops every connection through the proxy and refuses new ones.
func (p *cutProxy) cut() {
	p.mu.Lock()
	p.cutNow = true
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

// mend lets connections through again.
func (p *cutProxy) mend() {
	p.mu.Lock()
	p.cutNow = false
	p.mu.Unlock()
}

// recorder keeps every listener event of one engine and lets a test wait for one.
type recorder struct {
	mu     sync.Mutex
	events []any
	tracks map[string]rtc.Track // latest remote track by "jid/kind"
	wake   chan struct{}
}

func newRecorder() *recorder {
	return &recorder{tracks: map[string]rtc.Track{}, wake: make(chan struct{})}
}

func (r *recorder) add(ev any) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	close(r.wake)
	r.wake = make(chan struct{})
	r.mu.Unlock()
}

// sink records every engine event, and the latest remote track of each kind.
func (r *recorder) sink(ev event.Event) {
	if v, ok := ev.(event.UserTrack); ok {
		r.mu.Lock()
		r.tracks[v.UserJID+"/"+v.TrackType] = v.Track
		r.mu.Unlock()
	}
	r.add(ev)
}

// wait returns the first event (from the start) for which match is true.
func wait[T any](t *testing.T, r *recorder, what string, match func(T) bool) T {
	t.Helper()
	v, _ := waitAt(t, r, 0, what, match)
	return v
}

// mark is how many events r holds now: a waitAt from it looks only at the
// events that come after.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// waitAt returns the first event at index from or later for which match is
// true, and the index just past it.
func waitAt[T any](t *testing.T, r *recorder, from int, what string, match func(T) bool) (T, int) {
	t.Helper()
	// A guard against a hang, not a deadline: under -race beside the
	// browser tests a 3-party video mesh took over 30 s to flow (CI11).
	deadline := time.After(60 * time.Second)
	for {
		r.mu.Lock()
		for i := from; i < len(r.events); i++ {
			if v, ok := r.events[i].(T); ok && match(v) {
				r.mu.Unlock()
				return v, i + 1
			}
		}
		wake := r.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			var zero T
			t.Fatalf("timed out waiting for %s; events: %s", what, r.dump())
			return zero, 0
		}
	}
}

// count returns how many events of type T match.
func count[T any](r *recorder, match func(T) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if v, ok := ev.(T); ok && match(v) {
			n++
		}
	}
	return n
}

func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := ""
	for _, ev := range r.events {
		s += fmt.Sprintf("\n  %T %+v", ev, ev)
	}
	return s
}

func (r *recorder) track(jid, kind string) *rtc.RemoteTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, _ := r.tracks[jid+"/"+kind].(*rtc.RemoteTrack)
	return rt
}

// client is one signed-in engine (one browser tab) and its events.
type client struct {
	*call.Engine
	rec  *recorder
	jid  string
	name string
}

func newClient(t *testing.T, srv *testServer, media rtc.Media) (*call.Engine, *recorder) {
	t.Helper()
	return newClientAt(t, srv.URL, media)
}

// newClientAt is newClient for a server at url (a cutProxy's, say).
func newClientAt(t *testing.T, url string, media rtc.Media) (*call.Engine, *recorder) {
	t.Helper()
	rec := newRecorder()
	cfg := call.Config{ServerURL: url, OnEvent: rec.sink, Media: media}
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e := call.New(cfg)
	t.Cleanup(e.Close)
	return e, rec
}

// register creates the user name and signs in one tab.
func register(t *testing.T, srv *testServer, name string) *client {
	t.Helper()
	return registerAt(t, srv.URL, name)
}

// registerAt is register through the server at url (a cutProxy's, say).
func registerAt(t *testing.T, url, name string) *client {
	t.Helper()
	e, rec := newClientAt(t, url, nil)
	u, err := e.Register(context.Background(), name, "password-"+name, "User "+name)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return &client{Engine: e, rec: rec, jid: u.JID, name: name}
}

// login signs in another tab of an existing user.
func login(t *testing.T, srv *testServer, name string, media rtc.Media) *client {
	t.Helper()
	e, rec := newClient(t, srv, media)
	u, err := e.Connect(context.Background(), name, "password-"+name)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return &client{Engine: e, rec: rec, jid: u.JID, name: name}
}

func (c *client) waitStatus(t *testing.T, jid, status string) event.CallStatus {
	t.Helper()
	return wait(t, c.rec, c.name+" sees "+jid+" "+status, func(v event.CallStatus) bool {
		return v.UserJID == jid && v.Status == status
	})
}

func (c *client) waitIncoming(t *testing.T) event.IncomingCall {
	t.Helper()
	return wait(t, c.rec, c.name+" rings", func(event.IncomingCall) bool { return true })
}

// waitPackets waits until the remote track of jid/kind has received more than n
// packets beyond what it had when called, proving media flows now.
func (c *client) waitPackets(t *testing.T, jid, kind string, n uint64) {
	t.Helper()
	wait(t, c.rec, c.name+" gets "+jid+"'s "+kind+" track", func(v event.UserTrack) bool {
		return v.UserJID == jid && v.TrackType == kind && v.Track != nil
	})
	rt := c.rec.track(jid, kind)
	if rt == nil {
		t.Fatalf("%s: %s's %s track is not a native remote track", c.name, jid, kind)
	}
	start := rt.Packets()
	deadline := time.Now().Add(10 * time.Second)
	for rt.Packets() < start+n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: only %d %s packets from %s (total %d, id %s)", c.name, rt.Packets()-start, kind, jid, rt.Packets(), rt.ID())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return c
}

// connectCall has a call b, b answer, and waits until both see each other connected.
func connectCall(t *testing.T, a, b *client, video bool) call.CallRef {
	t.Helper()
	var ref call.CallRef
	var err error
	if video {
		ref, err = a.MakeVideoCall(ctx(t), []string{b.jid}, "")
	} else {
		ref, err = a.MakeVoiceCall(ctx(t), []string{b.jid}, "")
	}
	if err != nil {
		t.Fatalf("%s calls %s: %v", a.name, b.name, err)
	}
	b.waitIncoming(t)
	if err := b.AnswerCall(ctx(t)); err != nil {
		t.Fatalf("%s answers: %v", b.name, err)
	}
	a.waitStatus(t, b.jid, wire.StatusConnected)
	b.waitStatus(t, a.jid, wire.StatusConnected)
	return ref
}

func isErrCode(t *testing.T, err error, code int) {
	t.Helper()
	ce, ok := err.(*call.Error)
	if !ok || ce == nil {
		t.Fatalf("got error %v (%T), want a *call.Error with code %d", err, err, code)
	}
	if ce.Code != code {
		t.Fatalf("got code %d (%s), want %d", ce.Code, ce.Message, code)
	}
	if ce.Message == "" {
		t.Fatalf("error %d has no message", code)
	}
}
