package hub

import (
	"fmt"
	"testing"
	"time"

	"parley/app/wire"
)

// count is how many events of typ c has received, after a round trip (see
// quiet).
func (c *client) count(typ string) int {
	c.t.Helper()
	c.must(wire.TypePing, nil, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// liveCalls is how many calls the core holds.
func (e *env) liveCalls() int {
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	return len(e.hub.core.calls)
}

// registerFrom creates an account from the loopback address ip.
func (e *env) registerFrom(name, ip string) *client {
	e.t.Helper()
	c := e.dialFrom(name, ip)
	c.must(wire.TypeRegister, wire.RegisterRequest{Username: name, Password: "password-" + name}, &c.auth)
	return c
}

func meetLimited(t *testing.T, e *wire.Error, what string) {
	t.Helper()
	if e == nil || e.Code != wire.CodeRateLimited || e.Reason != wire.ReasonLimitReached || e.Message == "" {
		t.Fatalf("%s: %+v, want 429 %s", what, e, wire.ReasonLimitReached)
	}
}

// TestMeetLinkLimitDefault: one account has at most DefaultMaxMeetLinksPerUser
// live meet links; the next meet.create is refused with 429 limit_reached
// and creates nothing.
func TestMeetLinkLimitDefault(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	for i := range DefaultMaxMeetLinksPerUser {
		var res wire.CallResult
		alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeVideo}, &res)
		if res.Call.Link == "" {
			t.Fatalf("meet %d has no link", i)
		}
	}
	before := e.liveCalls()
	meetLimited(t, alice.do(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeVideo}, nil), "one meet link over the default")
	if got := e.liveCalls(); got != before {
		t.Fatalf("a refused meet.create left %d live calls, want %d", got, before)
	}
	// Calling someone is not a meet link.
	bob := e.register("bob")
	create(t, alice, wire.TypeAudio, jid("bob"))
	bob.callEvent(wire.EventIncoming)
}

// TestMeetLinkLimits: the per-account and per-address counts of live meet
// links, and a link that ends (unused for MeetIdleTimeout) makes room.
func TestMeetLinkLimits(t *testing.T) {
	e := newEnv(t, Config{MaxMeetLinksPerUser: 3, MaxMeetLinksPerIP: 5, MeetIdleTimeout: time.Hour})
	alice := e.registerFrom("alice", "127.0.4.1")
	bob := e.registerFrom("bob", "127.0.4.1")
	carol := e.registerFrom("carol", "127.0.4.2")
	meet := func(c *client) *wire.Error {
		return c.do(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeAudio}, nil)
	}
	for i := range 3 {
		if err := meet(alice); err != nil {
			t.Fatalf("alice's meet %d: %v", i, err)
		}
	}
	meetLimited(t, meet(alice), "alice's fourth meet link")
	for i := range 2 {
		if err := meet(bob); err != nil {
			t.Fatalf("bob's meet %d from alice's address: %v", i, err)
		}
	}
	meetLimited(t, meet(bob), "a sixth meet link from one address")
	if err := meet(carol); err != nil {
		t.Fatalf("carol, from another address: %v", err)
	}
	if got := e.liveCalls(); got != 6 {
		t.Fatalf("%d live calls, want 6", got)
	}

	// A meet link that ends is no longer counted.
	e.hub.mu.Lock()
	var ended bool
	for _, cl := range e.hub.core.calls {
		if cl.meetBy.user == "alice" {
			fx := &effects{}
			e.hub.core.endCall(fx, cl, wire.StatusEnded, e.hub.core.now())
			b := &batch{}
			e.hub.deliver(b, fx)
			e.hub.commit(b)
			ended = true
			break
		}
	}
	e.hub.mu.Unlock()
	if !ended {
		t.Fatal("no meet call of alice's to end")
	}
	if err := meet(alice); err != nil {
		t.Fatalf("alice's meet after one of hers ended: %v", err)
	}
}

func rateLimited(t *testing.T, e *wire.Error, maxWait time.Duration, what string) {
	t.Helper()
	if e == nil || e.Code != wire.CodeRateLimited || e.Reason != wire.ReasonRateLimited ||
		e.RetryAfter < 1 || e.RetryAfter > int(maxWait/time.Second) {
		t.Fatalf("%s: %+v, want 429 rate_limited with retryAfter 1–%v", what, e, maxWait)
	}
}

// TestRingAndHangUpLoop: a caller ringing one callee and hanging up in a
// loop gives the callee at most the pair's burst of incoming and missed
// calls (plus one per PairRingInterval that passes); the refused rings are
// 429 with retryAfter and write no call log.
func TestRingAndHangUpLoop(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	start := time.Now()
	rung, refused := 0, 0
	for i := range 20 {
		var res wire.CallResult
		err := alice.do(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{jid("bob")}, Type: wire.TypeAudio}, &res)
		if err != nil {
			rateLimited(t, err, DefaultPairRingInterval, fmt.Sprintf("ring %d", i))
			refused++
			continue
		}
		rung++
		alice.must(wire.TypeCallEnd, room(res.Call), nil)
	}
	allowed := DefaultPairRingBurst + int(time.Since(start)/DefaultPairRingInterval) + 1
	if rung > allowed || rung < DefaultPairRingBurst || refused == 0 {
		t.Fatalf("%d rings went through and %d were refused, want %d to %d through", rung, refused, DefaultPairRingBurst, allowed)
	}
	if got := bob.count(wire.EventIncoming); got != rung {
		t.Fatalf("bob got %d call.incoming for %d rings", got, rung)
	}
	if got := bob.count(wire.EventMissed); got > rung {
		t.Fatalf("bob got %d call.missed for %d rings", got, rung)
	}
	if got := len(logs(t, bob)); got != rung {
		t.Fatalf("bob has %d call logs for %d rings", got, rung)
	}

	// Another callee is another pair; the caller is not in a call.
	carol := e.register("carol")
	create(t, alice, wire.TypeAudio, jid("carol"))
	carol.callEvent(wire.EventIncoming)
}

// TestRingsPerCaller: one caller rings at most RingsPerMinute users a
// minute, by call.create and call.invite alike; a refused invite rings
// nobody.
func TestRingsPerCaller(t *testing.T) {
	e := newEnv(t, Config{RingsPerMinute: 4, RegisterBurst: 100})
	alice := e.register("alice")
	var callees []*client
	for i := range 6 {
		callees = append(callees, e.register(fmt.Sprintf("user%d", i)))
	}
	// Three rings by call.create, each hung up.
	for i := range 3 {
		c := create(t, alice, wire.TypeAudio, jid(callees[i].name))
		alice.must(wire.TypeCallEnd, room(c), nil)
	}
	// The fourth is answered, then an invite of two more is over the limit.
	call := create(t, alice, wire.TypeAudio, jid(callees[3].name))
	answer(t, callees[3], call)
	err := alice.do(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{jid(callees[4].name), jid(callees[5].name)}}, nil)
	rateLimited(t, err, time.Minute, "an invite over the caller's limit")
	callees[4].quiet(wire.EventIncoming)
	callees[5].quiet(wire.EventIncoming)
	if got := len(logs(t, callees[4])); got != 0 {
		t.Fatalf("a refused invitee has %d call logs", got)
	}
	// A call.create over the limit likewise.
	alice.must(wire.TypeCallEnd, room(call), nil)
	err = alice.do(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{jid(callees[5].name)}, Type: wire.TypeAudio}, nil)
	rateLimited(t, err, time.Minute, "a call.create over the caller's limit")
	callees[5].quiet(wire.EventIncoming)
	// Another caller is not limited by alice's rings.
	create(t, callees[0], wire.TypeAudio, jid(callees[5].name))
	callees[5].callEvent(wire.EventIncoming)
}

// TestRegisterLimit: one address registers at most the burst of accounts,
// then 429 with retryAfter and no account is made; another address still
// registers, and guests from one address are limited the same way.
func TestRegisterLimit(t *testing.T) {
	e := newEnv(t, Config{RegisterBurst: DefaultRegisterBurst, RegisterInterval: DefaultRegisterInterval})
	for i := range DefaultRegisterBurst {
		e.registerFrom(fmt.Sprintf("user%d", i), "127.0.5.1")
	}
	c := e.dialFrom("one too many", "127.0.5.1")
	err := c.do(wire.TypeRegister, wire.RegisterRequest{Username: "extra", Password: "password-extra"}, nil)
	rateLimited(t, err, DefaultRegisterInterval, "a registration over the limit")
	if err := e.login("127.0.5.9", "extra", "password-extra"); !isCode(err, wire.CodeUnauthorized) {
		t.Fatalf("login to the refused account: %v, want 401 (no account)", err)
	}
	e.registerFrom("extra", "127.0.5.2")

	for i := range GuestBurst {
		g := e.dialFrom("guest", "127.0.5.3")
		g.must(wire.TypeGuest, wire.GuestRequest{DisplayName: fmt.Sprintf("Guest %d", i)}, nil)
	}
	g := e.dialFrom("guest", "127.0.5.3")
	rateLimited(t, g.do(wire.TypeGuest, wire.GuestRequest{DisplayName: "One more"}, nil), time.Duration(1/GuestRate)*time.Second, "a guest over the limit")
}

// TestInviteOfPendingCountsNoRing: inviting users who are already being
// rung (or joined) rings nobody and so counts no ring.
func TestInviteOfPendingCountsNoRing(t *testing.T) {
	e := newEnv(t, Config{PairRingBurst: 1})
	alice, bob := e.register("alice"), e.register("bob")
	carol := e.register("carol")
	call := groupCall(t, alice, wire.TypeAudio, "team", jid("bob"), jid("carol"))
	answer(t, bob, call)
	carol.callEvent(wire.EventIncoming)
	for i := range 3 {
		if err := alice.do(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{jid("carol"), jid("bob")}}, nil); err != nil {
			t.Fatalf("invite %d of users already in the call: %v", i, err)
		}
	}
	carol.quiet(wire.EventIncoming)
}
