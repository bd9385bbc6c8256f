package hub

import (
	"testing"

	"parley/app/wire"
)

func screenReq(c wire.Call, sharing bool) wire.ScreenRequest {
	return wire.ScreenRequest{RoomID: c.RoomID, Sharing: &sharing}
}

func sharerIs(who string) func(wire.CallEvent) bool {
	return func(ce wire.CallEvent) bool { return ce.Call.ScreenSharer == who }
}

// TestScreenShare: call.screen in a group call. Only a joined participant
// shares; bad requests get typed errors and change nothing; a second sharer
// replaces the first; a late joiner's snapshot names the sharer; stopping
// and leaving end the share.
func TestScreenShare(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, wire.TypeVideo, "bob", "carol")
	answer(t, bob, call)

	// Bad input and people who are not joined: typed errors.
	alice.fails(wire.TypeCallScreen, wire.ScreenRequest{RoomID: call.RoomID}, wire.CodeBadRequest, wire.ReasonBadRequest)
	alice.fails(wire.TypeCallScreen, wire.ScreenRequest{Sharing: new(true)}, wire.CodeBadRequest, wire.ReasonBadRequest)
	alice.fails(wire.TypeCallScreen, wire.ScreenRequest{RoomID: "no-such-room", Sharing: new(true)}, wire.CodeNotFound, wire.ReasonNotFound)
	carol.fails(wire.TypeCallScreen, screenReq(call, true), wire.CodeNotInCall, wire.ReasonNotInCall) // still ringing
	dave.fails(wire.TypeCallScreen, screenReq(call, true), wire.CodeNotInCall, wire.ReasonNotInCall)  // not in the call
	other := e.tab(alice, "alice-tab2")
	other.fails(wire.TypeCallScreen, screenReq(call, true), wire.CodeNotInCall, wire.ReasonNotInCall) // not the tab that joined
	alice.fails(wire.TypeCallScreen, screenReq(call, false), wire.CodeConflict, wire.ReasonConflict)  // nothing to stop
	alice.settle()
	bob.settle()

	// Alice shares: everyone joined sees her as the sharer.
	alice.must(wire.TypeCallScreen, screenReq(call, true), nil)
	for _, c := range []*client{alice, bob} {
		if ev := c.update(sharerIs(jid("alice"))); ev.By != jid("alice") {
			t.Errorf("%s: the share's update is by %q", c.name, ev.By)
		}
	}
	alice.fails(wire.TypeCallScreen, screenReq(call, true), wire.CodeConflict, wire.ReasonConflict)
	bob.fails(wire.TypeCallScreen, screenReq(call, false), wire.CodeConflict, wire.ReasonConflict) // not bob's share

	// Carol joins later: her answer's snapshot says who shares.
	if joined := answer(t, carol, call); joined.ScreenSharer != jid("alice") {
		t.Errorf("carol's snapshot on joining: sharer %q, want alice", joined.ScreenSharer)
	}

	// Bob shares: his share replaces alice's.
	bob.must(wire.TypeCallScreen, screenReq(call, true), nil)
	for _, c := range []*client{alice, bob, carol} {
		c.update(sharerIs(jid("bob")))
	}
	alice.fails(wire.TypeCallScreen, screenReq(call, false), wire.CodeConflict, wire.ReasonConflict) // replaced: no longer hers

	// Bob stops.
	bob.must(wire.TypeCallScreen, screenReq(call, false), nil)
	for _, c := range []*client{alice, bob, carol} {
		c.update(func(ce wire.CallEvent) bool { return ce.By == jid("bob") && ce.Call.ScreenSharer == "" })
	}

	// Carol shares, then leaves: her share ends with her.
	carol.must(wire.TypeCallScreen, screenReq(call, true), nil)
	alice.update(sharerIs(jid("carol")))
	carol.must(wire.TypeCallEnd, room(call), nil)
	for _, c := range []*client{alice, bob} {
		c.update(func(ce wire.CallEvent) bool {
			return statusOf(ce.Call, jid("carol")) == wire.StatusDisconnected && ce.Call.ScreenSharer == ""
		})
	}
}

// TestScreenShareGoneWithTab: a sharer whose tab is gone for good (signed
// out) leaves the call, and the share ends with them.
func TestScreenShareGoneWithTab(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	call := create(t, alice, wire.TypeVideo, "bob", "carol")
	answer(t, bob, call)
	answer(t, carol, call)
	bob.must(wire.TypeCallScreen, screenReq(call, true), nil)
	alice.update(sharerIs(jid("bob")))
	bob.must(wire.TypeLogout, nil, nil)
	alice.update(func(ce wire.CallEvent) bool {
		return statusOf(ce.Call, jid("bob")) == wire.StatusDisconnected && ce.Call.ScreenSharer == ""
	})
}

// TestRestartKeepsScreenShare: the share survives a restart of the server
// (it is part of the saved call): the resumed members' snapshots name the
// sharer, who can then stop it.
func TestRestartKeepsScreenShare(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(t, alice, wire.TypeVideo, "bob")
	answer(t, bob, call)
	bob.must(wire.TypeCallScreen, screenReq(call, true), nil)
	alice.update(sharerIs(jid("bob")))
	if n := e.restart(true); n != 1 {
		t.Fatalf("restored %d calls, want 1", n)
	}
	a2, res := e.resume(alice, "alice2")
	if res.Call == nil || res.Call.ScreenSharer != jid("bob") {
		t.Fatalf("alice's resume after the restart: %+v, want bob sharing", res.Call)
	}
	b2, res := e.resume(bob, "bob2")
	if res.Call == nil || res.Call.ScreenSharer != jid("bob") {
		t.Fatalf("bob's resume after the restart: %+v, want bob sharing", res.Call)
	}
	b2.must(wire.TypeCallScreen, screenReq(call, false), nil)
	a2.update(func(ce wire.CallEvent) bool { return ce.By == jid("bob") && ce.Call.ScreenSharer == "" })
}
