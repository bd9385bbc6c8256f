package hub

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/store"
)

const (
	uaChromiumLinux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/120.0.0.0 Chrome/120.0.0.0 Safari/537.36"
	uaFirefoxWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
	uaSafariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)

func TestDeviceLabel(t *testing.T) {
	for _, tc := range []struct{ ua, want string }{
		{uaChromiumLinux, "Chromium on Linux"},
		{uaFirefoxWin, "Firefox on Windows"},
		{uaSafariIPhone, "Safari on iPhone"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Edge on macOS"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", "Headless Chrome on Linux"},
		{"Go-http-client/1.1", "Go client"},
		{"", "Unknown device"},
		{strings.Repeat("<script>", 500), "Unknown device"},
	} {
		if got := deviceLabel(tc.ua); got != tc.want {
			t.Errorf("deviceLabel(%.40q) = %q, want %q", tc.ua, got, tc.want)
		}
	}
}

// dialAs connects like dial, with a browser's User-Agent.
func (e *env) dialAs(name, ua string) *client {
	e.t.Helper()
	return e.dialWith(name, &websocket.DialOptions{HTTPHeader: http.Header{"User-Agent": {ua}}})
}

func (c *client) sessions() []wire.SessionInfo {
	c.t.Helper()
	var l wire.SessionList
	c.must(wire.TypeSessionList, nil, &l)
	return l.Sessions
}

// TestSessionListAndRevoke: a user lists their sessions (device, current,
// online; never the token), revokes one, whose tabs are closed with
// CloseRevoked and leave their call, then revokes all others; bad input
// gets typed errors and changes nothing.
func TestSessionListAndRevoke(t *testing.T) {
	e := newEnv(t, Config{})
	laptop := e.dialAs("alice-laptop", uaChromiumLinux)
	laptop.must(wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "password-alice"}, &laptop.auth)
	laptopTab := e.tab(laptop, "alice-laptop-tab2") // same token: the same session
	pc := e.dialAs("alice-pc", uaFirefoxWin)
	pc.must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, &pc.auth)
	bob := e.register("bob")

	list := laptop.sessions()
	if len(list) != 2 {
		t.Fatalf("alice has %d sessions, want 2: %+v", len(list), list)
	}
	cur, other := list[0], list[1]
	if !cur.Current || cur.Device != "Chromium on Linux" || !cur.Online || cur.SessionID != store.SessionID(laptop.auth.Token) {
		t.Errorf("current session %+v", cur)
	}
	if other.Current || other.Device != "Firefox on Windows" || !other.Online || other.SessionID != store.SessionID(pc.auth.Token) {
		t.Errorf("other session %+v", other)
	}
	for _, s := range list {
		if s.SessionID == laptop.auth.Token || s.SessionID == pc.auth.Token || s.CreatedAt == 0 || s.LastActiveAt < s.CreatedAt {
			t.Errorf("session entry %+v", s)
		}
	}
	if l := pc.sessions(); !l[0].Current || l[0].SessionID != other.SessionID {
		t.Errorf("from the pc, the current session is %+v", l[0])
	}
	if l := bob.sessions(); len(l) != 1 || l[0].SessionID != store.SessionID(bob.auth.Token) {
		t.Errorf("bob sees %+v", l)
	}

	// Bad input: typed errors, nothing revoked.
	laptop.fails(wire.TypeSessionRevoke, wire.SessionRevokeRequest{}, wire.CodeBadRequest, wire.ReasonBadRequest)
	laptop.fails(wire.TypeSessionRevoke, wire.SessionRevokeRequest{SessionID: strings.Repeat("x", 65)}, wire.CodeBadRequest, wire.ReasonBadRequest)
	laptop.fails(wire.TypeSessionRevoke, wire.SessionRevokeRequest{SessionID: cur.SessionID}, wire.CodeBadRequest, wire.ReasonBadRequest)
	laptop.fails(wire.TypeSessionRevoke, wire.SessionRevokeRequest{SessionID: "nope"}, wire.CodeNotFound, wire.ReasonNotFound)
	laptop.fails(wire.TypeSessionRevoke, wire.SessionRevokeRequest{SessionID: store.SessionID(bob.auth.Token)}, wire.CodeNotFound, wire.ReasonNotFound)
	laptop.fails(wire.TypeSessionRevoke, "not an object", wire.CodeBadRequest, wire.ReasonBadRequest)
	if l := laptop.sessions(); len(l) != 2 {
		t.Fatalf("a refused revoke changed the sessions: %+v", l)
	}
	bob.must(wire.TypePing, nil, nil)

	// The pc is in a call with bob when the laptop signs it out.
	var created wire.CallResult
	bob.must(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"alice"}, Type: wire.TypeAudio}, &created)
	pc.callEvent(wire.EventIncoming)
	pc.must(wire.TypeCallAnswer, wire.RoomRequest{RoomID: created.Call.RoomID}, nil)
	bob.update(func(ce wire.CallEvent) bool { return statusOf(ce.Call, jid("alice")) == wire.StatusConnecting })

	var res wire.SessionRevokeResult
	laptop.must(wire.TypeSessionRevoke, wire.SessionRevokeRequest{SessionID: other.SessionID}, &res)
	if res.Revoked != 1 {
		t.Errorf("revoked %d", res.Revoked)
	}
	// A closing notice first, for clients that cannot read close codes.
	var notice wire.ClosingNotice
	if err := json.Unmarshal(pc.event(wire.EventClosing, nil).Data, &notice); err != nil || notice.Code != wire.CloseRevoked {
		t.Errorf("closing notice %+v, %v", notice, err)
	}
	pc.expectClose(wire.CloseRevoked)
	end := bob.update(func(ce wire.CallEvent) bool { return ce.Call.State == wire.CallStateEnded })
	if got := statusOf(end.Call, jid("alice")); got != wire.StatusDisconnected {
		t.Errorf("bob sees alice %q after the revoke, want %q", got, wire.StatusDisconnected)
	}
	// The revoked token neither signs in nor resumes.
	again := e.dial("alice-pc-again")
	f := again.fails(wire.TypeAuth, wire.AuthRequest{Token: pc.auth.Token, Resume: pc.auth.Session, LastSeq: 1}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	if !strings.Contains(f.Message, "signed out") {
		t.Errorf("message %q", f.Message)
	}
	laptopTab.must(wire.TypePing, nil, nil) // the revoker's own session is untouched
	if l := laptop.sessions(); len(l) != 1 || !l[0].Current {
		t.Fatalf("after the revoke: %+v", l)
	}

	// Sign out everywhere else: two more devices, one of them dropped (in
	// its resume grace), go; both laptop tabs stay.
	phone := e.dialAs("alice-phone", uaSafariIPhone)
	phone.must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, &phone.auth)
	tablet := e.dial("alice-tablet")
	tablet.must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, &tablet.auth)
	tablet.ws.CloseNow()
	<-tablet.done
	if l := laptop.sessions(); len(l) != 3 {
		t.Fatalf("%d sessions before revokeOthers: %+v", len(l), l)
	}
	laptop.must(wire.TypeSessionRevokeOthers, nil, &res)
	if res.Revoked != 2 {
		t.Errorf("revokeOthers revoked %d, want 2", res.Revoked)
	}
	phone.expectClose(wire.CloseRevoked)
	resume := e.dial("alice-tablet-resume")
	resume.fails(wire.TypeAuth, wire.AuthRequest{Token: tablet.auth.Token, Resume: tablet.auth.Session}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	laptopTab.must(wire.TypePing, nil, nil)
	if l := laptopTab.sessions(); len(l) != 1 || !l[0].Current || l[0].Device != "Chromium on Linux" {
		t.Fatalf("after revokeOthers: %+v", l)
	}
	e.hub.mu.Lock()
	left := len(e.hub.userSessions(laptop.uid(t, e)))
	e.hub.mu.Unlock()
	if left != 2 {
		t.Errorf("the hub keeps %d tabs of alice, want the laptop's 2", left)
	}
}

// TestSessionRequestsGuests: guests have no account to manage: 403.
func TestSessionRequestsGuests(t *testing.T) {
	e := newEnv(t, Config{})
	g := e.dial("guest")
	g.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Visitor"}, &g.auth)
	g.fails(wire.TypeSessionList, nil, wire.CodeForbidden, wire.ReasonForbidden)
	g.fails(wire.TypeSessionRevoke, wire.SessionRevokeRequest{SessionID: store.SessionID(g.auth.Token)}, wire.CodeForbidden, wire.ReasonForbidden)
	g.fails(wire.TypeSessionRevokeOthers, nil, wire.CodeForbidden, wire.ReasonForbidden)
	anon := e.dial("anon")
	anon.fails(wire.TypeSessionList, nil, wire.CodeUnauthorized, wire.ReasonUnauthorized)
}

// clock is a clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newClockedEnv is newEnv on a store whose sessions expire after ttl by clk.
func newClockedEnv(t *testing.T, ttl time.Duration, clk *clock) *env {
	t.Helper()
	return newEnvStore(t, Config{}, cheapPasswords, store.WithSessionTTL(ttl), store.WithClock(clk.now))
}

// TestSessionExpiry: a token unused for longer than the TTL is refused with
// a 401 that says so and is gone; a tab that stays online keeps its token
// alive through the sweeper, which also deletes expired sessions.
func TestSessionExpiry(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := newClockedEnv(t, 30*24*time.Hour, clk)
	ctx := context.Background()
	online := e.register("alice") // stays connected
	// Another device signed in once and never came back (made in the store:
	// a socket closed here could still count as online at the sweep).
	idleToken, err := e.st.NewSession(ctx, online.uid(t, e))
	if err != nil {
		t.Fatal(err)
	}

	clk.advance(20 * 24 * time.Hour)
	e.hub.SweepSessions(ctx) // marks the online token used
	clk.advance(20 * 24 * time.Hour)

	late := e.dial("alice-late")
	f := late.fails(wire.TypeAuth, wire.AuthRequest{Token: idleToken}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	if !strings.Contains(f.Message, "expired") || !strings.Contains(f.Message, "30 days") {
		t.Errorf("expiry message %q", f.Message)
	}
	if l := online.sessions(); len(l) != 1 || !l[0].Current {
		t.Fatalf("sessions after the expiry: %+v", l)
	}
	// The online tab's token was slid by the sweeper: another tab signs in with it.
	e.tab(online, "alice-tab2")

	// The sweeper deletes what expired and nothing else.
	bobTok := func() string {
		u, err := e.st.Register(ctx, "bob", "password-bob", "")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := e.st.NewSession(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	clk.advance(31 * 24 * time.Hour)
	e.hub.SweepSessions(ctx)
	if n, err := e.st.DeleteExpiredSessions(ctx); err != nil || n != 0 {
		t.Fatalf("the sweeper left %d expired sessions (%v)", n, err)
	}
	if _, err := e.st.UserByToken(ctx, bobTok); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob's expired token: %v", err)
	}
	online.must(wire.TypePing, nil, nil)
	if _, err := e.st.UserByToken(ctx, online.auth.Token); err != nil {
		t.Fatalf("the online token expired: %v", err)
	}
}

// TestRunSessionSweeper: the sweeper loop stops with its context.
func TestRunSessionSweeper(t *testing.T) {
	e := newEnv(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	var done atomic.Bool
	stopped := make(chan struct{})
	go func() {
		e.hub.RunSessionSweeper(ctx, time.Millisecond)
		done.Store(true)
		close(stopped)
	}()
	cancel()
	<-stopped
	if !done.Load() {
		t.Fatal("sweeper did not stop")
	}
}

// uid is the store ID of c's account.
func (c *client) uid(t *testing.T, e *env) int64 {
	t.Helper()
	u, err := e.st.UserByUsername(context.Background(), c.auth.User.Username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestSessionRevokeRace: an auth whose token check passed just before the
// token was revoked, and that signs in just after, is refused.
func TestSessionRevokeRace(t *testing.T) {
	e := newEnv(t, Config{})
	laptop := e.register("alice")
	pc := e.dial("alice-pc")
	pc.must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, &pc.auth)
	late := e.dial("alice-late")
	late.must(wire.TypePing, nil, nil)
	su, err := e.st.UserByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	laptop.must(wire.TypeSessionRevoke, wire.SessionRevokeRequest{SessionID: store.SessionID(pc.auth.Token)}, nil)

	// The late connection's auth read the token before the revoke: sign it
	// in now, as handleSignIn would after the store call.
	var lateConn *conn
	e.hub.mu.Lock()
	for c := range e.hub.conns {
		if c.sess == nil && !c.authed && !c.isClosing() {
			lateConn = c
		}
	}
	e.hub.mu.Unlock()
	if lateConn == nil {
		t.Fatal("the late connection is not in the hub")
	}
	e.hub.signIn(lateConn, 99, su, pc.auth.Token, &wire.AuthRequest{Token: pc.auth.Token})
	f := late.reply(99)
	if f.Type != wire.TypeError || f.Error == nil || f.Error.Code != wire.CodeUnauthorized {
		t.Fatalf("the late sign-in got %s %+v, want 401", f.Type, f.Error)
	}
	late.fails(wire.TypeSessionList, nil, wire.CodeUnauthorized, wire.ReasonUnauthorized)
}
