package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/store"
)

func TestRegisterLoginAuth(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	if alice.auth.User.JID != "alice@localhost" || alice.auth.User.DisplayName != "alice" || alice.auth.Token == "" || alice.auth.Session == "" {
		t.Fatalf("register result %+v", alice.auth)
	}

	t.Run("register validation", func(t *testing.T) {
		c := e.dial("v")
		for _, tc := range []struct {
			req    wire.RegisterRequest
			code   int
			reason string
		}{
			{wire.RegisterRequest{Username: "alice", Password: "password1"}, wire.CodeConflict, wire.ReasonConflict},
			{wire.RegisterRequest{Username: "Bad Name", Password: "password1"}, wire.CodeBadRequest, "bad_request"},
			{wire.RegisterRequest{Username: "ab", Password: "password1"}, wire.CodeBadRequest, "bad_request"},
			{wire.RegisterRequest{Username: "guest-x", Password: "password1"}, wire.CodeBadRequest, "bad_request"},
			{wire.RegisterRequest{Username: "carol", Password: "short"}, wire.CodeBadRequest, "bad_request"},
			{wire.RegisterRequest{Username: "carol", Password: "password1", DisplayName: strings.Repeat("x", 65)}, wire.CodeBadRequest, "bad_request"},
		} {
			c.fails(wire.TypeRegister, tc.req, tc.code, tc.reason)
			if tc.reason != wire.ReasonConflict {
				break // four failures would close the connection: test the others on fresh ones
			}
		}
		for _, req := range []wire.RegisterRequest{
			{Username: "ab", Password: "password1"},
			{Username: "guest-x", Password: "password1"},
			{Username: "carol", Password: "short"},
			{Username: "carol", Password: "password1", DisplayName: strings.Repeat("x", 65)},
			{Username: "carol", Password: "password1", DisplayName: "tab\there"},
		} {
			c := e.dial("v")
			c.fails(wire.TypeRegister, req, wire.CodeBadRequest, "bad_request")
		}
		c = e.dial("v")
		c.fails(wire.TypeRegister, nil, wire.CodeBadRequest, "bad_request")
		// Nothing was created by the refused attempts.
		c = e.dial("v")
		c.fails(wire.TypeLogin, wire.LoginRequest{Username: "carol", Password: "password1"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	})

	t.Run("display name", func(t *testing.T) {
		c := e.dial("d")
		var res wire.AuthResult
		c.must(wire.TypeRegister, wire.RegisterRequest{Username: "dora", Password: "password1", DisplayName: " Dora D. "}, &res)
		if res.User.DisplayName != "Dora D." || res.User.Username != "dora" {
			t.Errorf("user %+v", res.User)
		}
	})

	t.Run("login", func(t *testing.T) {
		c := e.dial("l")
		c.fails(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "wrong-password"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
		c.fails(wire.TypeLogin, wire.LoginRequest{Username: "nobody", Password: "password-alice"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
		var res wire.AuthResult
		c.must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, &res)
		if res.User.JID != "alice@localhost" || res.Token == "" || res.Token == alice.auth.Token || res.Session == alice.auth.Session {
			t.Errorf("login result %+v", res)
		}
		c.fails(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, wire.CodeConflict, wire.ReasonConflict)
	})

	t.Run("auth", func(t *testing.T) {
		c := e.dial("a")
		c.fails(wire.TypeAuth, wire.AuthRequest{Token: "not-a-token"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
		var res wire.AuthResult
		c.must(wire.TypeAuth, wire.AuthRequest{Token: alice.auth.Token}, &res)
		if res.User.JID != "alice@localhost" || res.Token != alice.auth.Token || res.Resumed || res.Session == alice.auth.Session {
			t.Errorf("auth result %+v", res)
		}
		// An unknown resume id is a fresh session, not an error.
		d := e.dial("a2")
		d.must(wire.TypeAuth, wire.AuthRequest{Token: alice.auth.Token, Resume: "nope", LastSeq: 3}, &res)
		if res.Resumed {
			t.Error("resumed an unknown session")
		}
	})

	t.Run("before auth", func(t *testing.T) {
		c := e.dial("b")
		c.must(wire.TypePing, nil, nil)
		for _, typ := range []string{wire.TypeCallCreate, wire.TypeCallLogs, wire.TypeLogout, wire.TypeCallEnd, wire.TypeCallSignal} {
			c.fails(typ, wire.RoomRequest{RoomID: "x"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
		}
		c.fails(wire.TypeGuest, wire.GuestRequest{DisplayName: "  "}, wire.CodeBadRequest, "bad_request")
		c.must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, nil)
	})
}

func TestAuthTimeout(t *testing.T) {
	e := newEnv(t, Config{AuthTimeout: 500 * time.Millisecond})
	c := e.dial("slow")
	c.must(wire.TypePing, nil, nil) // a ping does not count as signing in
	c.expectClose(wire.CloseAuthFailed)

	// A client that signs in in time stays connected past the timeout. Its
	// account and token come from the store, not over a socket of their own,
	// which the timeout would race on a loaded machine (registering hashes a
	// password).
	u, err := e.st.Register(context.Background(), "alice", "password-alice", "")
	if err != nil {
		t.Fatal(err)
	}
	token, err := e.st.NewSession(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := e.dial("b")
	b.must(wire.TypeAuth, wire.AuthRequest{Token: token}, nil)
	done := make(chan struct{})
	time.AfterFunc(1500*time.Millisecond, func() { close(done) })
	<-done
	b.must(wire.TypePing, nil, nil)
}

// TestAuthTimeoutSparesSlowSignIns: the auth timeout does not run while a
// sign-in is being checked: a registration whose password hash takes far
// longer than the timeout succeeds (in CI, under load, the production hash
// took longer than the 10 s timeout and the server cut the new user off);
// a failed login starts the timeout again.
func TestAuthTimeoutSparesSlowSignIns(t *testing.T) {
	// The timeout runs from the upgrade: long enough that the registration
	// surely arrives before it, even under CI load (at 20 ms it did not
	// always), and far shorter than the hash (below).
	const timeout = 250 * time.Millisecond
	// A registration has to take longer than the timeout to prove anything,
	// and how long a hash takes varies with the machine and its load: the
	// passes double until one does (a fixed count was sometimes too quick).
	var c *client
	for passes := uint32(4); ; passes *= 2 {
		slowHash := store.WithPasswordParams(store.PasswordParams{Memory: 16 << 10, Time: passes, Threads: 1, SaltLen: 16, KeyLen: 32})
		e := newEnvStore(t, Config{AuthTimeout: timeout}, slowHash)
		c = e.dial("alice")
		start := time.Now()
		c.must(wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "password-alice"}, nil)
		// The timer started at the upgrade, before start: a registration
		// that took longer than the timeout would have been cut off by a
		// timer that ran through the hash.
		took := time.Since(start)
		if took > timeout {
			t.Logf("the registration took %v with %d passes, the auth timeout is %v", took, passes, timeout)
			break
		}
		if passes >= 64 {
			t.Fatalf("the registration took %v with %d passes: too quick to outlast the %v timeout, so this proves nothing", took, passes, timeout)
		}
	}
	c.must(wire.TypePing, nil, nil)

	// A failed login starts the timeout again. A server of its own, with a
	// timeout long enough that the login surely arrives before it (under CI
	// load, 20 ms from the upgrade to the login was not always enough).
	e2 := newEnv(t, Config{AuthTimeout: time.Second})
	e2.register("alice")
	m := e2.dial("mallory")
	m.fails(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "wrong-password"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	m.expectClose(wire.CloseAuthFailed)
}

// TestIdleTimeout: a signed-in connection that sends nothing is closed with
// CloseIdle; one that pings more often than the timeout stays up, and so does
// its session (a dead link resumes like any drop).
func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, Config{IdleTimeout: time.Second})
	quiet := e.register("quiet")
	talker := e.register("talker")
	stop := make(chan struct{})
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				talker.send(wire.TypePing, nil)
			}
		}
	}()
	quiet.expectClose(wire.CloseIdle)
	done := make(chan struct{})
	time.AfterFunc(2*time.Second, func() { close(done) })
	<-done
	close(stop)
	<-pinged
	talker.must(wire.TypePing, nil, nil) // still open, two timeouts later
	again := e.dial("quiet again")
	var res wire.AuthResult
	again.must(wire.TypeAuth, wire.AuthRequest{Token: quiet.auth.Token, Resume: quiet.auth.Session}, &res)
	if !res.Resumed {
		t.Fatal("the session of a connection closed for idleness did not resume")
	}
}

func TestAuthFailuresClose(t *testing.T) {
	e := newEnv(t, Config{})
	e.register("alice")
	c := e.dial("x")
	for range MaxAuthFailures {
		c.fails(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "wrongwrong"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	}
	c.expectClose(wire.CloseAuthFailed)
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.register("alice")

	// Unknown type: an error reply with the same id.
	id := c.send("call.teleport", map[string]int{"x": 1})
	f := c.reply(id)
	if f.Type != wire.TypeError || f.Error.Reason != "unknown_type" || f.Error.Code != wire.CodeBadRequest {
		t.Errorf("unknown type reply %+v", f)
	}

	// A request without an id: 400 with id 0.
	if err := c.sendRaw(websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	f = c.reply(0)
	if f.Type != wire.TypeError || f.Error.Code != wire.CodeBadRequest {
		t.Errorf("no-id reply %+v", f)
	}

	// A malformed payload of a known request.
	c.fails(wire.TypeCallCreate, "not an object", wire.CodeBadRequest, "bad_request")
	c.fails(wire.TypeCallLogs, nil, wire.CodeBadRequest, "bad_request")
	c.fails(wire.TypeCallLogs, wire.CallLogsRequest{Page: 0}, wire.CodeBadRequest, "bad_request")

	// Undecodable frames: error replies with id 0, then a close.
	bad := [][]byte{[]byte(`{"type":`), []byte(`[1,2]`), []byte(`{"id":7}`), []byte(`{"type":"ping","id":1}{}`)}
	for i, b := range bad {
		c.mu.Lock()
		delete(c.replies, 0)
		c.mu.Unlock()
		if err := c.sendRaw(websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		f := c.reply(0)
		if f.Type != wire.TypeError || f.Error.Reason != "bad_request" {
			t.Errorf("bad frame %d: reply %+v", i, f)
		}
	}
	c.must(wire.TypePing, nil, nil) // still served
	if err := c.sendRaw(websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.expectClose(wire.CloseProtocol)
}

func TestFrameTooBig(t *testing.T) {
	e := newEnv(t, Config{})
	big := e.register("big")
	other := e.register("other")
	payload := `{"type":"ping","id":1,"data":"` + strings.Repeat("x", wire.MaxFrameBytes) + `"}`
	// The write may or may not fail, depending on when the server closes.
	_ = big.sendRaw(websocket.MessageText, []byte(payload))
	big.expectClose(websocket.StatusMessageTooBig)
	other.must(wire.TypePing, nil, nil)
	e.register("third").must(wire.TypePing, nil, nil)

	// A frame just under the limit is fine.
	near := e.register("near")
	f := `{"type":"ping","id":99,"data":"` + strings.Repeat("y", wire.MaxFrameBytes-64) + `"}`
	if err := near.sendRaw(websocket.MessageText, []byte(f)); err != nil {
		t.Fatal(err)
	}
	if r := near.reply(99); r.Type != wire.TypeResult {
		t.Errorf("near-limit frame reply %+v", r)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 1, RateBurst: 3})
	c := e.register("alice") // the register request is the first of the burst
	var ids []uint64
	for range 3 + MaxRateRejections {
		ids = append(ids, c.send(wire.TypePing, nil))
	}
	limited := 0
	for _, id := range ids[:10] {
		f := c.reply(id)
		if f.Type == wire.TypeError {
			if f.Error.Code != wire.CodeRateLimited || f.Error.Reason != wire.ReasonRateLimited {
				t.Fatalf("reply %+v", f.Error)
			}
			limited++
		}
	}
	if limited < 5 {
		t.Errorf("only %d of 10 fast requests were rate limited", limited)
	}
	c.expectClose(wire.CloseRateLimited)
	// Other connections are not affected.
	e.register("bob").must(wire.TypePing, nil, nil)
}

func TestOrigin(t *testing.T) {
	e := newEnv(t, Config{AllowedOrigins: []string{"app.example.com"}})
	dial := func(origin string) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ws, resp, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: h})
		if ws != nil {
			ws.CloseNow()
		}
		if resp != nil {
			return resp.StatusCode, err
		}
		return 0, err
	}
	if code, err := dial("https://evil.example.org"); err == nil || code != http.StatusForbidden {
		t.Errorf("foreign origin: %d, %v; want 403", code, err)
	}
	if _, err := dial("https://app.example.com"); err != nil {
		t.Errorf("allowed origin refused: %v", err)
	}
	if _, err := dial(strings.Replace(e.srv.URL, "127.0.0.1", "127.0.0.1", 1)); err != nil {
		t.Errorf("same origin refused: %v", err)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, Config{})
	a := e.register("alice")
	other := e.tab(a, "alice-2")
	a.must(wire.TypeLogout, nil, nil)
	a.expectClose(wire.CloseLoggedOut)
	// The token is revoked for new connections.
	c := e.dial("again")
	c.fails(wire.TypeAuth, wire.AuthRequest{Token: a.auth.Token}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	// The session cannot be resumed either.
	var res wire.AuthResult
	c.must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, &res)
	d := e.dial("resume")
	d.fails(wire.TypeAuth, wire.AuthRequest{Token: a.auth.Token, Resume: a.auth.Session}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	d.must(wire.TypeAuth, wire.AuthRequest{Token: res.Token, Resume: a.auth.Session}, &res)
	if res.Resumed {
		t.Error("resumed a logged-out session")
	}
	// The other tab, signed in earlier with the same token, stays connected.
	other.must(wire.TypePing, nil, nil)
}

func TestLinkCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		l := linkCode()
		if len(l) != 12 || l[3] != '-' || l[8] != '-' {
			t.Fatalf("link %q is not abc-defg-hij", l)
		}
		for i, r := range l {
			if i != 3 && i != 8 && (r < 'a' || r > 'z') {
				t.Fatalf("link %q has %q", l, r)
			}
		}
		if seen[l] {
			t.Fatalf("duplicate link %q", l)
		}
		seen[l] = true
	}
}

// TestEventBuffer: a session keeps the last EventBuffer events, and no more
// than EventBufferBytes of them.
func TestEventBuffer(t *testing.T) {
	h := New(Config{Logger: testLogger(t)}, nil)
	s := &session{}
	h.mu.Lock()
	defer h.mu.Unlock()
	for range EventBuffer + 44 {
		h.sendEvent(s, wire.EventUpdate, []byte(`{}`), h.starter)
	}
	if len(s.buf) != EventBuffer || s.buf[0].seq != 45 || s.buf[len(s.buf)-1].seq != EventBuffer+44 {
		t.Fatalf("buffer holds %d events, seq %d..%d", len(s.buf), s.buf[0].seq, s.buf[len(s.buf)-1].seq)
	}
	big := []byte(`"` + strings.Repeat("x", 200<<10) + `"`)
	for range 30 {
		h.sendEvent(s, wire.EventSignal, big, h.starter)
	}
	total := 0
	for _, e := range s.buf {
		total += e.frame.size()
	}
	if total != s.bufBytes || total > EventBufferBytes || len(s.buf) < 10 {
		t.Fatalf("buffer holds %d events of %d bytes (counted %d)", len(s.buf), total, s.bufBytes)
	}
	for i := 1; i < len(s.buf); i++ {
		if s.buf[i].seq != s.buf[i-1].seq+1 {
			t.Fatalf("gap in the buffer at %d", i)
		}
	}
}

// TestProtocolVersion: a first frame of a newer protocol is refused with
// unsupported_version, for a guest as for an account; the current version
// signs in, and the AuthResult states the server's version and limits.
func TestProtocolVersion(t *testing.T) {
	e := newEnv(t, Config{})
	first := func(c *client, typ string, v int, payload any) wire.Frame {
		t.Helper()
		f, err := wire.Request(typ, c.nextID.Add(1), payload)
		if err != nil {
			t.Fatal(err)
		}
		f.V = v
		b, err := wire.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.sendRaw(websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		return c.reply(f.ID)
	}
	for _, tc := range []struct {
		typ     string
		payload any
	}{
		{wire.TypeGuest, wire.GuestRequest{DisplayName: "Visitor"}},
		{wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "password-alice"}},
	} {
		c := e.dial(tc.typ)
		r := first(c, tc.typ, wire.Version+1, tc.payload)
		if r.Type != wire.TypeError || r.Error.Code != wire.CodeBadRequest || r.Error.Reason != wire.ReasonUnsupportedVersion {
			t.Errorf("%s at version %d: %+v %+v", tc.typ, wire.Version+1, r, r.Error)
		}
		r = first(c, tc.typ, wire.Version, tc.payload)
		var ar wire.AuthResult
		if r.Type != wire.TypeResult || json.Unmarshal(r.Data, &ar) != nil {
			t.Fatalf("%s at version %d: %+v %+v", tc.typ, wire.Version, r, r.Error)
		}
		if ar.Version != wire.Version || ar.Limits != wire.DefaultLimits() {
			t.Errorf("%s: AuthResult version %d limits %+v", tc.typ, ar.Version, ar.Limits)
		}
	}
}

// TestStoreErrorSaysWhy: a store call cut short by its deadline while the
// hub runs is "busy" (CI12's registration, hashing on a starved machine,
// was told the server was shutting down); the same once the hub is shutting
// down is "shutting_down"; any other store error is "internal".
func TestStoreErrorSaysWhy(t *testing.T) {
	h := New(Config{Logger: testLogger(t)}, nil)
	late := fmt.Errorf("store: register: %w", context.DeadlineExceeded)
	if e := h.storeError("register", late); e.Code != wire.CodeInternal || e.Reason != wire.ReasonBusy {
		t.Errorf("deadline while running: %v, want 500 busy", e)
	}
	if e := h.storeError("register", errors.New("disk on fire")); e.Code != wire.CodeInternal || e.Reason != wire.ReasonInternal {
		t.Errorf("other error: %v, want 500 internal", e)
	}
	h.cancel()
	for _, err := range []error{late, context.Canceled} {
		if e := h.storeError("register", err); e.Code != wire.CodeUnreachable || e.Reason != wire.ReasonShutdown {
			t.Errorf("%v after shutdown: %v, want shutting_down", err, e)
		}
	}
}
