package hub

import (
	"testing"

	"parley/app/wire"
)

func blockList(t testing.TB, c *client) []string {
	t.Helper()
	var l wire.BlockList
	c.must(wire.TypeBlockList, nil, &l)
	var out []string
	for _, u := range l.Users {
		out = append(out, u.JID)
	}
	return out
}

// TestBlockRequests: block.add, block.remove and block.list, their typed
// errors (which change nothing), the configured maximum and guests.
func TestBlockRequests(t *testing.T) {
	e := newEnv(t, Config{MaxBlocks: 2})
	alice, bob := e.register("alice"), e.register("bob")
	e.register("carol")
	e.register("dave")
	guest := e.dial("guest")
	guest.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Visitor"}, &guest.auth)

	for _, tc := range []struct {
		jid    string
		code   int
		reason string
	}{
		{"", wire.CodeBadRequest, wire.ReasonBadRequest},
		{"alice@localhost", wire.CodeBadRequest, wire.ReasonBadRequest},
		{"al ice@localhost", wire.CodeBadRequest, wire.ReasonBadRequest},
		{"nobody@localhost", wire.CodeNotFound, wire.ReasonNotFound},
		{"bob@elsewhere.example", wire.CodeNotFound, wire.ReasonNotFound},
		{guest.auth.User.JID, wire.CodeForbidden, wire.ReasonForbidden},
	} {
		alice.fails(wire.TypeBlockAdd, wire.BlockRequest{JID: tc.jid}, tc.code, tc.reason)
		alice.fails(wire.TypeBlockRemove, wire.BlockRequest{JID: tc.jid}, tc.code, tc.reason)
	}
	for _, typ := range []string{wire.TypeBlockAdd, wire.TypeBlockRemove, wire.TypeBlockList} {
		guest.fails(typ, wire.BlockRequest{JID: "bob"}, wire.CodeForbidden, wire.ReasonForbidden)
	}
	if l := blockList(t, alice); len(l) != 0 {
		t.Fatalf("list after refused requests: %v", l)
	}

	var got wire.BlockedUser
	alice.must(wire.TypeBlockAdd, wire.BlockRequest{JID: "bob@localhost"}, &got)
	if got.JID != jid("bob") || got.DisplayName != "bob" || got.BlockedAt == 0 {
		t.Fatalf("block.add result %+v", got)
	}
	alice.must(wire.TypeBlockAdd, wire.BlockRequest{JID: "bob"}, nil) // again: no change
	alice.must(wire.TypeBlockAdd, wire.BlockRequest{JID: "carol"}, nil)
	alice.fails(wire.TypeBlockAdd, wire.BlockRequest{JID: "dave"}, wire.CodeConflict, wire.ReasonConflict)
	if l := blockList(t, alice); len(l) != 2 {
		t.Fatalf("list %v, want bob and carol", l)
	}
	if l := blockList(t, bob); len(l) != 0 {
		t.Fatalf("bob's list %v: blocks are one way", l)
	}
	alice.must(wire.TypeBlockRemove, wire.BlockRequest{JID: "carol@localhost"}, nil)
	alice.must(wire.TypeBlockRemove, wire.BlockRequest{JID: "carol@localhost"}, nil) // not blocked: no change
	if l := blockList(t, alice); len(l) != 1 || l[0] != jid("bob") {
		t.Fatalf("list %v, want [bob]", l)
	}
}

// TestBlockedCaller: a blocked user's calls and invites find the blocker
// engaged, as if in another call; the blocker's tabs get no call.incoming,
// no call.missed and no call log. Unblocking rings again.
func TestBlockedCaller(t *testing.T) {
	// bob rings alice more often than the pair limit lets through by default.
	e := newEnv(t, Config{PairRingBurst: 10})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	alice2 := e.tab(alice, "alice2")
	alice.must(wire.TypeBlockAdd, wire.BlockRequest{JID: "bob"}, nil)

	// 1:1: ends at once with alice engaged, exactly like TestEngaged.
	c1 := create(t, bob, wire.TypeVideo, "alice")
	if statusOf(c1, jid("alice")) != wire.StatusEngaged || c1.State != wire.CallStateEnded {
		t.Fatalf("call to a blocker: %s state %s", statuses(c1), c1.State)
	}
	for _, tab := range []*client{alice, alice2} {
		tab.quiet(wire.EventIncoming)
		tab.quiet(wire.EventMissed)
		tab.quiet(wire.EventDismissed)
	}
	if l := logs(t, alice); len(l) != 0 {
		t.Fatalf("alice has call logs %+v, want none", l)
	}
	if l := logs(t, bob); len(l) != 1 || l[0].CallState != wire.LogOutgoing {
		t.Fatalf("bob's log %+v", l)
	}

	// A group ring skips alice alone.
	c2 := create(t, bob, wire.TypeAudio, "alice", "carol")
	if statusOf(c2, jid("alice")) != wire.StatusEngaged || statusOf(c2, jid("carol")) != wire.StatusRinging {
		t.Fatalf("group call: %s", statuses(c2))
	}
	carol.event(wire.EventIncoming, nil)
	answer(t, carol, c2)
	alice.quiet(wire.EventIncoming)

	// Bob cannot invite alice back in: engaged again, no ring.
	bob.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: c2.RoomID, To: []string{"alice"}}, nil)
	bob.update(func(ce wire.CallEvent) bool {
		p := participant(t, ce.Call, jid("alice"))
		return p.Invited && p.Status == wire.StatusEngaged
	})
	alice.quiet(wire.EventIncoming)
	alice2.quiet(wire.EventIncoming)
	// Carol, whom alice did not block, can: the block is about who rings.
	carol.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: c2.RoomID, To: []string{"alice"}}, nil)
	alice.event(wire.EventIncoming, nil)
	alice2.event(wire.EventIncoming, nil)
	alice.must(wire.TypeCallDecline, room(c2), nil)
	bob.must(wire.TypeCallEnd, room(c2), nil)
	carol.update(stateIs(wire.CallStateEnded))
	alice.settle()
	alice2.settle()

	// Unblocked, bob's call rings both of alice's tabs.
	alice2.must(wire.TypeBlockRemove, wire.BlockRequest{JID: "bob"}, nil)
	c3 := create(t, bob, wire.TypeAudio, "alice")
	if statusOf(c3, jid("alice")) != wire.StatusRinging {
		t.Fatalf("after unblock: %s", statuses(c3))
	}
	alice.event(wire.EventIncoming, nil)
	alice2.event(wire.EventIncoming, nil)
}

// TestBlockOffline: the block holds while the blocker has no tab online,
// and the blocker's tab that signs in later is not rung.
func TestBlockOffline(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob := e.register("alice"), e.register("bob")
	alice.must(wire.TypeBlockAdd, wire.BlockRequest{JID: "bob"}, nil)
	alice.must(wire.TypeLogout, nil, nil)
	alice.closedWith()

	c := create(t, bob, wire.TypeAudio, "alice")
	if statusOf(c, jid("alice")) != wire.StatusEngaged || c.State != wire.CallStateEnded {
		t.Fatalf("call to an offline blocker: %s state %s", statuses(c), c.State)
	}
	back := e.dial("alice")
	back.must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, nil)
	back.quiet(wire.EventIncoming)
	if l := logs(t, back); len(l) != 0 {
		t.Fatalf("alice has call logs %+v, want none", l)
	}
	if l := blockList(t, back); len(l) != 1 || l[0] != jid("bob") {
		t.Fatalf("list after signing in again: %v", l)
	}
}
