//go:build !(js && wasm)

package call_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
type testServer struct {
	URL   string
	Store *store.Store
	Hub   *hub.Hub
}

var cheapPasswords = store.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func startServer(t *testing.T, cfg hub.Config) *testServer {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "parley.db"), store.WithPasswordParams(cheapPasswords))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := hub.New(cfg, st)
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		srv.Close()
		_ = st.Close()
	})
	return &testServer{URL: srv.URL, Store: st, Hub: h}
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
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if v, ok := ev.(T); ok && match(v) {
				r.mu.Unlock()
				return v
			}
		}
		wake := r.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			var zero T
			t.Fatalf("timed out waiting for %s; events: %s", what, r.dump())
			return zero
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
	rec := newRecorder()
	e := call.New(call.Config{ServerURL: srv.URL, OnEvent: rec.sink, Media: media})
	t.Cleanup(e.Close)
	return e, rec
}

// register creates the user name and signs in one tab.
func register(t *testing.T, srv *testServer, name string) *client {
	t.Helper()
	e, rec := newClient(t, srv, nil)
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
