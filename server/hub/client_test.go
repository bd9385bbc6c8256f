package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/store"
)

// The store the server uses satisfies the hub's interface.
var _ Store = (*store.Store)(nil)

// waitTimeout bounds every wait in these tests; nothing sleeps for a fixed time.
const waitTimeout = 5 * time.Second

// env is a real hub behind a real HTTP server, on a real SQLite file.
type env struct {
	t   testing.TB
	hub *Hub
	srv *httptest.Server
	st  *store.Store
	url string
	cfg Config // what the hub was made with (restart makes the next one so)
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	return newEnvStore(t, cfg, cheapPasswords)
}

// cheapPasswords makes password hashing cheap for tests that sign in a lot.
var cheapPasswords = store.WithPasswordParams(store.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})

// newEnvStore is newEnv with a store opened with these options.
func newEnvStore(t testing.TB, cfg Config, opts ...store.Option) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "parley.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.checkSaved == nil {
		// Every change to a live call must reach the store (restore.go).
		cfg.checkSaved = func(err error) { t.Errorf("%v", err) }
	}
	h := New(cfg, st)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &env{t: t, hub: h, srv: srv, st: st, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", cfg: cfg}
}

// client is a test WebSocket client: it sends requests, matches replies by
// id, and collects events.
type client struct {
	t      testing.TB
	name   string
	ws     *websocket.Conn
	nextID atomic.Uint64

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every received frame
	replies  map[uint64]wire.Frame
	events   []*ev
	lastSeq  uint64
	closed   bool
	closeErr error

	auth wire.AuthResult
	done chan struct{}
	// patience, when set, replaces waitTimeout for this client's waits.
	patience time.Duration
}

type ev struct {
	wire.Frame
	used bool
}

func (e *env) dial(name string) *client {
	e.t.Helper()
	return e.dialFrom(name, "")
}

// dialFrom connects from the loopback address ip (127.x.y.z), so that the
// hub sees another remote address; "" lets the system choose.
func (e *env) dialFrom(name, ip string) *client {
	e.t.Helper()
	return e.dialWith(name, e.fromIP(ip))
}

// fromIP is the dial options that connect from the loopback address ip;
// nil for "".
func (e *env) fromIP(ip string) *websocket.DialOptions {
	if ip == "" {
		return nil
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
}

// dialWith connects with opts and starts reading as client name.
func (e *env) dialWith(name string, opts *websocket.DialOptions) *client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.url, opts)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(4 << 20)
	c := &client{t: e.t, name: name, ws: ws, changed: make(chan struct{}), replies: make(map[uint64]wire.Frame), done: make(chan struct{})}
	go c.readLoop()
	e.t.Cleanup(func() {
		ws.CloseNow()
		<-c.done
	})
	return c
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.closed, c.closeErr = true, err
			close(c.changed)
			c.mu.Unlock()
			return
		}
		f, derr := wire.Decode(b)
		switch {
		case derr != nil:
			c.t.Errorf("%s: server sent an undecodable frame %q: %v", c.name, b, derr)
		case f.Type == wire.TypeResult || f.Type == wire.TypeError:
			if _, dup := c.replies[f.ID]; dup && f.ID != 0 {
				c.t.Errorf("%s: second reply to request %d", c.name, f.ID)
			}
			c.replies[f.ID] = f
		default:
			if f.Seq != c.lastSeq+1 && c.lastSeq != 0 {
				// A resume replays from lastSeq+1; anything else is a gap.
				c.t.Logf("%s: event seq %d after %d", c.name, f.Seq, c.lastSeq)
			}
			c.lastSeq = f.Seq
			c.events = append(c.events, &ev{Frame: f})
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// wait blocks until cond (called with c.mu held) is true.
func (c *client) wait(what string, cond func() bool) {
	c.t.Helper()
	limit := waitTimeout
	if c.patience > 0 {
		limit = c.patience
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if cond() {
			c.mu.Unlock()
			return
		}
		ch := c.changed
		closed := c.closed
		c.mu.Unlock()
		if closed {
			c.t.Fatalf("%s: connection closed (%v) while waiting for %s", c.name, c.closeErr, what)
		}
		select {
		case <-ch:
		case <-deadline.C:
			c.mu.Lock()
			var pending []string
			for _, e := range c.events {
				if !e.used {
					pending = append(pending, fmt.Sprintf("%s#%d %s", e.Type, e.Seq, e.Data))
				}
			}
			c.mu.Unlock()
			c.t.Fatalf("%s: timed out waiting for %s; unconsumed events: %s", c.name, what, strings.Join(pending, "\n  "))
		}
	}
}

func (c *client) sendRaw(typ websocket.MessageType, b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return c.ws.Write(ctx, typ, b)
}

// send sends a request and returns its id without waiting.
func (c *client) send(typ string, payload any) uint64 {
	c.t.Helper()
	id := c.nextID.Add(1)
	f, err := wire.Request(typ, id, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := wire.Encode(f)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.sendRaw(websocket.MessageText, b); err != nil {
		c.t.Fatalf("%s: send %s: %v", c.name, typ, err)
	}
	return id
}

// reply waits for the reply to request id.
func (c *client) reply(id uint64) wire.Frame {
	c.t.Helper()
	var f wire.Frame
	c.wait(fmt.Sprintf("reply %d", id), func() bool {
		var ok bool
		f, ok = c.replies[id]
		return ok
	})
	return f
}

// do sends a request, waits for its reply, and decodes a result into out.
// It returns the error of an error reply.
func (c *client) do(typ string, payload any, out any) *wire.Error {
	c.t.Helper()
	f := c.reply(c.send(typ, payload))
	if f.Type == wire.TypeError {
		return f.Error
	}
	if out != nil {
		if err := json.Unmarshal(f.Data, out); err != nil {
			c.t.Fatalf("%s: %s result %s: %v", c.name, typ, f.Data, err)
		}
	}
	return nil
}

// must is do that fails the test on an error reply.
func (c *client) must(typ string, payload any, out any) {
	c.t.Helper()
	if e := c.do(typ, payload, out); e != nil {
		c.t.Fatalf("%s: %s: %v", c.name, typ, e)
	}
}

// fails is do that expects an error reply with this code and reason.
func (c *client) fails(typ string, payload any, code int, reason string) *wire.Error {
	c.t.Helper()
	e := c.do(typ, payload, nil)
	if e == nil {
		c.t.Fatalf("%s: %s succeeded; want error %d %s", c.name, typ, code, reason)
	}
	if e.Code != code || (reason != "" && e.Reason != reason) {
		c.t.Fatalf("%s: %s: error %d %s (%s); want %d %s", c.name, typ, e.Code, e.Reason, e.Message, code, reason)
	}
	return e
}

// event waits for the first unconsumed event of type typ that matches (nil
// matches all), consumes it and every earlier event of that type, and
// returns it.
func (c *client) event(typ string, match func(wire.Frame) bool) wire.Frame {
	c.t.Helper()
	var got wire.Frame
	c.wait("event "+typ, func() bool {
		for i, e := range c.events {
			if e.used || e.Type != typ || (match != nil && !match(e.Frame)) {
				continue
			}
			for _, earlier := range c.events[:i] {
				if earlier.Type == typ {
					earlier.used = true
				}
			}
			e.used = true
			got = e.Frame
			return true
		}
		return false
	})
	return got
}

// update waits for a call.update whose call matches.
func (c *client) update(match func(wire.CallEvent) bool) wire.CallEvent {
	c.t.Helper()
	var out wire.CallEvent
	c.event(wire.EventUpdate, func(f wire.Frame) bool {
		var ce wire.CallEvent
		if json.Unmarshal(f.Data, &ce) != nil {
			return false
		}
		if match == nil || match(ce) {
			out = ce
			return true
		}
		return false
	})
	return out
}

// callEvent waits for an event of typ carrying a CallEvent.
func (c *client) callEvent(typ string) wire.CallEvent {
	c.t.Helper()
	var ce wire.CallEvent
	f := c.event(typ, nil)
	if err := json.Unmarshal(f.Data, &ce); err != nil {
		c.t.Fatalf("%s: %s payload %s: %v", c.name, typ, f.Data, err)
	}
	return ce
}

// dismissed waits for a call.dismissed and returns its reason.
func (c *client) dismissed() wire.DismissEvent {
	c.t.Helper()
	var d wire.DismissEvent
	f := c.event(wire.EventDismissed, nil)
	if err := json.Unmarshal(f.Data, &d); err != nil {
		c.t.Fatal(err)
	}
	return d
}

// quiet asserts that no unconsumed event of typ has arrived, after a round
// trip: the server delivers in order on one connection, so a ping's reply
// comes after any event caused earlier.
func (c *client) quiet(typ string) {
	c.t.Helper()
	c.must(wire.TypePing, nil, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if !e.used && e.Type == typ {
			c.t.Fatalf("%s: unexpected %s event: %s", c.name, typ, e.Data)
		}
	}
}

// settle waits for a round trip, then consumes every event received so far.
func (c *client) settle() {
	c.t.Helper()
	c.must(wire.TypePing, nil, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		e.used = true
	}
}

// seq returns the seq of the last event received.
func (c *client) seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSeq
}

// closedWith waits for the server to close the connection and returns the
// close status.
func (c *client) closedWith() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		c.t.Fatalf("%s: connection not closed", c.name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return websocket.CloseStatus(c.closeErr)
}

func (c *client) expectClose(code websocket.StatusCode) {
	c.t.Helper()
	if got := c.closedWith(); got != code {
		c.mu.Lock()
		err := c.closeErr
		c.mu.Unlock()
		c.t.Fatalf("%s: closed with %d (%v), want %d", c.name, got, err, code)
	}
}

// register creates an account and returns a signed-in client for it.
func (e *env) register(name string) *client {
	e.t.Helper()
	c := e.dial(name)
	c.must(wire.TypeRegister, wire.RegisterRequest{Username: name, Password: "password-" + name}, &c.auth)
	return c
}

// tab opens another signed-in connection for the same user as c.
func (e *env) tab(c *client, name string) *client {
	e.t.Helper()
	t := e.dial(name)
	t.must(wire.TypeAuth, wire.AuthRequest{Token: c.auth.Token}, &t.auth)
	return t
}

func jid(name string) string { return name + "@localhost" }

// participant returns the participant jid of call, failing when absent.
func participant(t testing.TB, c wire.Call, jid string) wire.Participant {
	t.Helper()
	p := c.Participant(jid)
	if p == nil {
		t.Fatalf("%s is not a participant of %+v", jid, c)
	}
	return *p
}

func statusOf(c wire.Call, jid string) string {
	if p := c.Participant(jid); p != nil {
		return p.Status
	}
	return ""
}

func statuses(c wire.Call) string {
	var s []string
	for _, p := range c.Participants {
		s = append(s, strings.TrimSuffix(p.JID, "@localhost")+"="+p.Status)
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

func isClosed(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || websocket.CloseStatus(err) != -1 || strings.Contains(err.Error(), "closed"))
}
