package hub

import (
	"strings"
	"testing"
	"time"

	"parley/app/wire"
)

// TestSwitch: the voice-to-video switch of a 1:1 call.
func TestSwitch(t *testing.T) {
	// Long enough that a loaded machine answers the requests below before the
	// timeout, which the end of the test then waits for.
	e := newEnv(t, Config{SwitchTimeout: time.Second})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	call := create(t, alice, wire.TypeAudio, "bob")
	sw := func(c *client, action string) *wire.Error {
		return c.do(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: action}, nil)
	}
	swEvent := func(c *client, action string) (wire.SwitchEvent, wire.Frame) {
		t.Helper()
		return payload(t, c, wire.EventSwitch, func(s wire.SwitchEvent) bool { return s.Action == action })
	}
	// Before bob joins there is nobody to ask.
	alice.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, wire.CodeConflict, wire.ReasonConflict)
	answer(t, bob, call)

	for _, a := range []string{wire.SwitchAccept, wire.SwitchDecline, wire.SwitchCancel} {
		if e := sw(alice, a); e == nil || e.Code != wire.CodeConflict {
			t.Errorf("%s with nothing pending: %v", a, e)
		}
	}
	alice.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchTimeout}, wire.CodeBadRequest, "bad_request")
	alice.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: "teleport"}, wire.CodeBadRequest, "bad_request")
	carol.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, wire.CodeNotInCall, wire.ReasonNotInCall)

	// Cancel.
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
	if ev, _ := swEvent(bob, wire.SwitchRequest); ev.From != jid("alice") || ev.RoomID != call.RoomID {
		t.Errorf("request %+v", ev)
	}
	if e := sw(alice, wire.SwitchRequest); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("second request: %v", e)
	}
	if e := sw(bob, wire.SwitchCancel); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("cancel by the other: %v", e)
	}
	if e := sw(alice, wire.SwitchAccept); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("accept by the requester: %v", e)
	}
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchCancel}, nil)
	if ev, _ := swEvent(bob, wire.SwitchCancel); ev.From != jid("alice") {
		t.Errorf("cancel %+v", ev)
	}

	// Decline, from bob's request this time.
	bob.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
	swEvent(alice, wire.SwitchRequest)
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchDecline}, nil)
	if ev, _ := swEvent(bob, wire.SwitchDecline); ev.From != jid("alice") {
		t.Errorf("decline %+v", ev)
	}

	// Timeout: both hear it, and it can no longer be accepted.
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
	for _, c := range []*client{alice, bob} {
		if ev, _ := swEvent(c, wire.SwitchTimeout); ev.From != jid("alice") {
			t.Errorf("%s: timeout %+v", c.name, ev)
		}
	}
	if e := sw(bob, wire.SwitchAccept); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("accept after timeout: %v", e)
	}

	// Accept: the requester hears it before the update that makes the call video.
	alice.settle()
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
	swEvent(bob, wire.SwitchRequest)
	bob.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchAccept}, nil)
	ev, fa := swEvent(alice, wire.SwitchAccept)
	if ev.From != jid("bob") {
		t.Errorf("accept %+v", ev)
	}
	alice.update(func(ce wire.CallEvent) bool { return ce.Call.Type == wire.TypeVideo })
	bob.update(func(ce wire.CallEvent) bool { return ce.Call.Type == wire.TypeVideo })
	alice.mu.Lock()
	var fu uint64
	for _, e := range alice.events {
		if e.Type == wire.EventUpdate && strings.Contains(string(e.Data), `"callType":"video"`) {
			fu = e.Seq
			break
		}
	}
	alice.mu.Unlock()
	if fu <= fa.Seq {
		t.Errorf("video update seq %d is not after the accept seq %d", fu, fa.Seq)
	}
	if e := sw(alice, wire.SwitchRequest); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("request in a video call: %v", e)
	}
	// A pending request is cleared when a participant leaves (nothing fires later).
	alice.must(wire.TypeCallEnd, room(call), nil)
	bob.update(stateIs(wire.CallStateEnded))

	// Group calls do not switch.
	g := groupCall(t, alice, wire.TypeAudio, "", "bob", "carol")
	answer(t, bob, g)
	answer(t, carol, g)
	err := alice.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: g.RoomID, Action: wire.SwitchRequest}, wire.CodeForbidden, wire.ReasonForbidden)
	if !strings.Contains(err.Message, "camera") {
		t.Errorf("403 message %q", err.Message)
	}
	bob.quiet(wire.EventSwitch)
}
