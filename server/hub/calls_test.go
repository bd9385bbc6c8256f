package hub

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

func TestOneToOneCall(t *testing.T) {
	for _, ender := range []string{"caller", "callee"} {
		t.Run("ended by "+ender, func(t *testing.T) {
			e := newEnv(t, Config{})
			alice := e.register("alice")
			bob := e.register("bob")
			bob2 := e.tab(bob, "bob-2")

			call := create(t, alice, wire.TypeVideo, "bob@localhost")
			if call.Mode != wire.ModeOneToOne || call.Type != wire.TypeVideo || call.State != wire.CallStateRinging ||
				call.Initiator != jid("alice") || call.Link != "" || len(call.RoomID) < 11 || // hidden until shared

				call.CreatedAt == 0 || call.StartedAt != 0 || !slices.Equal(call.To, []string{jid("bob")}) {
				t.Fatalf("created call %+v", call)
			}
			if len(call.Participants) != 2 || call.Participants[0].JID != jid("alice") || !call.Participants[0].Initiator ||
				call.Participants[0].Status != wire.StatusConnecting || call.Participants[1].Status != wire.StatusRinging ||
				call.Participants[1].Initiator {
				t.Fatalf("participants %+v", call.Participants)
			}
			alice.update(stateIs(wire.CallStateRinging))

			// Both of bob's tabs ring.
			for _, tab := range []*client{bob, bob2} {
				f := tab.event(wire.EventIncoming, nil)
				if f.Seq != 1 {
					t.Errorf("%s: first event has seq %d, want 1", tab.name, f.Seq)
				}
				var in wire.CallEvent
				json.Unmarshal(f.Data, &in)
				if in.Call.RoomID != call.RoomID || statusOf(in.Call, jid("bob")) != wire.StatusRinging || in.Call.Participants[0].DisplayName != "alice" {
					t.Errorf("%s: incoming %+v", tab.name, in.Call)
				}
			}

			// Answer on the second tab: the first stops ringing.
			var ans wire.CallResult
			bob2.must(wire.TypeCallAnswer, room(call), &ans)
			if ans.Call.State != wire.CallStateActive || ans.Call.StartedAt == 0 || statusOf(ans.Call, jid("bob")) != wire.StatusConnecting {
				t.Fatalf("answer result %+v", ans.Call)
			}
			if d := bob.dismissed(); d.Reason != wire.ReasonAnsweredElsewhere || d.RoomID != call.RoomID {
				t.Errorf("dismissed %+v", d)
			}
			up := alice.update(statusIs("bob", wire.StatusConnecting))
			if up.By != jid("bob") || up.Call.State != wire.CallStateActive {
				t.Errorf("update after answer %+v", up)
			}
			bob2.update(statusIs("bob", wire.StatusConnecting))
			bob.fails(wire.TypeCallAnswer, room(call), wire.CodeConflict, wire.ReasonConflict)

			// Signals reach the answering tab only.
			alice.must(wire.TypeCallSignal, offer(call.RoomID, "bob"), nil)
			f := bob2.event(wire.EventSignal, nil)
			var sig wire.SignalEvent
			json.Unmarshal(f.Data, &sig)
			if sig.From != jid("alice") || sig.RoomID != call.RoomID || sig.Payload.SDP == nil || sig.Payload.SDP.SDP != "v=0 offer" {
				t.Errorf("relayed %+v", sig)
			}
			bob.quiet(wire.EventSignal)
			mid := "0"
			idx := uint16(0)
			bob2.must(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: jid("alice"),
				Payload: wire.Payload{Candidate: &wire.Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", SDPMid: &mid, SDPMLineIndex: &idx}}}, nil)
			f = alice.event(wire.EventSignal, nil)
			json.Unmarshal(f.Data, &sig)
			if sig.From != jid("bob") || sig.Payload.Candidate == nil || *sig.Payload.Candidate.SDPMid != "0" {
				t.Errorf("relayed candidate %+v", sig)
			}
			// The tab that did not answer may not signal, mute or end.
			bob.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, wire.ReasonForbidden)
			bob.fails(wire.TypeCallMute, wire.MuteRequest{RoomID: call.RoomID, Audio: new(true)}, wire.CodeForbidden, wire.ReasonForbidden)
			bob.fails(wire.TypeCallEnd, room(call), wire.CodeForbidden, wire.ReasonForbidden)
			// Nobody signals themselves or a stranger; a bad payload changes nothing.
			alice.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, wire.ReasonForbidden)
			alice.fails(wire.TypeCallSignal, offer(call.RoomID, "zed"), wire.CodeForbidden, wire.ReasonForbidden)
			alice.fails(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: "bob"}, wire.CodeBadRequest, "bad_request")
			alice.fails(wire.TypeCallSignal, offer("no-such-room", "bob"), wire.CodeNotFound, wire.ReasonNotFound)

			// Media and mute states are broadcast.
			alice.must(wire.TypeCallMedia, wire.MediaRequest{RoomID: call.RoomID, Status: wire.StatusConnected}, nil)
			up = bob2.update(statusIs("alice", wire.StatusConnected))
			if up.By != jid("alice") {
				t.Errorf("media update by %q", up.By)
			}
			alice.fails(wire.TypeCallMedia, wire.MediaRequest{RoomID: call.RoomID, Status: "flying"}, wire.CodeBadRequest, "bad_request")
			bob2.must(wire.TypeCallMute, wire.MuteRequest{RoomID: call.RoomID, Audio: new(true)}, nil)
			up = alice.update(func(ce wire.CallEvent) bool { return participant(t, ce.Call, jid("bob")).AudioMuted })
			if up.By != jid("bob") || participant(t, up.Call, jid("bob")).VideoMuted {
				t.Errorf("mute update %+v", up)
			}
			bob2.fails(wire.TypeCallMute, wire.MuteRequest{RoomID: call.RoomID}, wire.CodeBadRequest, "bad_request")

			// End.
			enderC, other, otherName := alice, bob2, "alice"
			if ender == "callee" {
				enderC, other, otherName = bob2, alice, "bob"
			}
			enderC.settle()
			enderC.must(wire.TypeCallEnd, room(call), nil)
			final := other.update(stateIs(wire.CallStateEnded))
			if final.Reason != wire.StatusEnded || final.Call.EndedAt == 0 || statusOf(final.Call, jid(otherName)) != wire.StatusDisconnected {
				t.Errorf("final update %+v (%s)", final, statuses(final.Call))
			}
			enderC.fails(wire.TypeCallEnd, room(call), wire.CodeCallEnded, wire.ReasonCallEnded)
			other.fails(wire.TypeCallSignal, offer(call.RoomID, "bob"), wire.CodeCallEnded, wire.ReasonCallEnded)
			enderC.quiet(wire.EventUpdate)

			// Call logs for both, written before the final update went out.
			la, lb := logs(t, alice), logs(t, bob)
			if len(la) != 1 || len(lb) != 1 {
				t.Fatalf("logs: alice %d, bob %d", len(la), len(lb))
			}
			a, b := la[0], lb[0]
			if a.CallState != wire.LogOutgoing || b.CallState != wire.LogIncoming {
				t.Errorf("callState alice %q bob %q", a.CallState, b.CallState)
			}
			for _, l := range []wire.CallLog{a, b} {
				if l.RoomID != call.RoomID || l.RoomLink != call.Link || l.CallMode != wire.ModeOneToOne || l.CallType != wire.TypeVideo ||
					l.FromUser != jid("alice") || !slices.Equal(l.ToUsers, []string{jid("bob")}) ||
					!slices.Equal(l.UserList, []string{jid("alice"), jid("bob")}) || l.InviteUserList == nil || len(l.InviteUserList) != 0 ||
					l.GroupID != nil || l.CallTime != call.CreatedAt || l.StartTime == nil || *l.StartTime != ans.Call.StartedAt ||
					l.EndTime < *l.StartTime || l.Duration != l.EndTime-*l.StartTime || l.CallLogID == "" {
					t.Errorf("log %+v", l)
				}
			}
			if a.CallLogID == b.CallLogID {
				t.Error("two users share a callLogId")
			}
			// After the call both may call again.
			create(t, bob, wire.TypeAudio, "alice")
		})
	}
}

func TestDecline(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	bob2 := e.tab(bob, "bob-2")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.event(wire.EventIncoming, nil)
	bob2.event(wire.EventIncoming, nil)
	alice.fails(wire.TypeCallDecline, room(call), wire.CodeConflict, wire.ReasonConflict)

	bob.must(wire.TypeCallDecline, room(call), nil)
	if d := bob2.dismissed(); d.Reason != wire.ReasonDeclinedElsewhere {
		t.Errorf("dismissed %+v", d)
	}
	up := alice.update(statusIs("bob", wire.StatusDeclined))
	if up.By != jid("bob") {
		t.Errorf("decline update by %q", up.By)
	}
	alice.update(stateIs(wire.CallStateEnded))
	bob.quiet(wire.EventDismissed)
	bob2.fails(wire.TypeCallDecline, room(call), wire.CodeCallEnded, wire.ReasonCallEnded)

	la, lb := logs(t, alice), logs(t, bob)
	if len(la) != 1 || la[0].CallState != wire.LogOutgoing || la[0].StartTime != nil || la[0].Duration != 0 || la[0].CallType != wire.TypeAudio {
		t.Errorf("alice log %+v", la)
	}
	if len(lb) != 1 || lb[0].CallState != wire.LogDeclined || lb[0].StartTime != nil || !slices.Equal(lb[0].UserList, []string{jid("alice")}) {
		t.Errorf("bob log %+v", lb)
	}
}

func TestRingTimeout(t *testing.T) {
	e := newEnv(t, Config{RingTimeout: 200 * time.Millisecond})
	alice := e.register("alice")
	bob := e.register("bob")
	bob2 := e.tab(bob, "bob-2")
	call := create(t, alice, wire.TypeAudio, "bob")
	for _, tab := range []*client{bob, bob2} {
		tab.event(wire.EventIncoming, nil)
		missed := tab.callEvent(wire.EventMissed)
		if missed.Reason != wire.StatusNoAnswer || missed.Call.RoomID != call.RoomID {
			t.Errorf("%s: missed %+v", tab.name, missed)
		}
		if d := tab.dismissed(); d.Reason != wire.ReasonTimeout {
			t.Errorf("%s: dismissed %+v", tab.name, d)
		}
	}
	alice.update(statusIs("bob", wire.StatusNoAnswer))
	alice.update(stateIs(wire.CallStateEnded))
	bob.fails(wire.TypeCallAnswer, room(call), wire.CodeCallEnded, wire.ReasonCallEnded)
	if lb := logs(t, bob); len(lb) != 1 || lb[0].CallState != wire.LogMissed {
		t.Errorf("bob log %+v", lb)
	}
}

func TestEngaged(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.event(wire.EventIncoming, nil)
	bob.must(wire.TypeCallAnswer, room(call), nil)

	// 1:1 to an engaged user ends at once.
	c2 := create(t, carol, wire.TypeVideo, "bob")
	if statusOf(c2, jid("bob")) != wire.StatusEngaged || c2.State != wire.CallStateEnded {
		t.Errorf("call to engaged bob: %s state %s", statuses(c2), c2.State)
	}
	carol.update(stateIs(wire.CallStateEnded))
	bob.quiet(wire.EventIncoming)
	if lb := logs(t, bob); len(lb) != 1 || lb[0].CallState != wire.LogMissed || lb[0].RoomID != c2.RoomID {
		t.Errorf("bob log %+v", lb)
	}

	// A group call goes on with the others.
	c3 := create(t, carol, wire.TypeVideo, "bob", "dave")
	if c3.Mode != wire.ModeOneToMany || statusOf(c3, jid("bob")) != wire.StatusEngaged ||
		statusOf(c3, jid("dave")) != wire.StatusRinging || c3.State != wire.CallStateRinging {
		t.Errorf("group call %s state %s", statuses(c3), c3.State)
	}
	dave.event(wire.EventIncoming, nil)
}

func TestBusyCaller(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, wire.TypeAudio, "bob", "dave")
	// A caller whose call is still ringing is in a call.
	alice.fails(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"carol"}, Type: wire.TypeAudio}, wire.CodeConflict, wire.ReasonConflict)
	// Being rung by a call that is still ringing does not block calling out...
	c2 := create(t, carol, wire.TypeAudio, "dave")
	carol.must(wire.TypeCallEnd, room(c2), nil)
	// ...but being rung by an active call does.
	bob.must(wire.TypeCallAnswer, room(call), nil)
	dave.fails(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"carol"}, Type: wire.TypeAudio}, wire.CodeConflict, wire.ReasonConflict)
	bob.fails(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"carol"}, Type: wire.TypeAudio}, wire.CodeConflict, wire.ReasonConflict)
	// A user joined in one call cannot answer another.
	c3 := create(t, carol, wire.TypeAudio, "bob", "dave")
	bob.fails(wire.TypeCallAnswer, room(c3), wire.CodeConflict, wire.ReasonConflict) // engaged, not pending
	dave.must(wire.TypeCallAnswer, room(c3), nil)
	dave.fails(wire.TypeCallAnswer, room(call), wire.CodeConflict, wire.ReasonConflict)
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, Config{MaxParticipants: 3})
	alice := e.register("alice")
	e.register("bob")
	e.register("carol")
	e.register("dave")
	for _, tc := range []struct {
		name   string
		req    wire.CallCreateRequest
		code   int
		reason string
	}{
		{"bad type", wire.CallCreateRequest{To: []string{"bob"}, Type: "hologram"}, wire.CodeBadRequest, "bad_request"},
		{"no callee", wire.CallCreateRequest{To: []string{}, Type: wire.TypeAudio}, wire.CodeBadRequest, "bad_request"},
		{"only self", wire.CallCreateRequest{To: []string{"alice", "alice@localhost"}, Type: wire.TypeAudio}, wire.CodeBadRequest, "bad_request"},
		{"malformed", wire.CallCreateRequest{To: []string{"bob", "Not Valid!"}, Type: wire.TypeAudio}, wire.CodeBadRequest, "bad_request"},
		{"other domain", wire.CallCreateRequest{To: []string{"bob@elsewhere.org"}, Type: wire.TypeAudio}, wire.CodeNotFound, wire.ReasonNotFound},
		{"unknown", wire.CallCreateRequest{To: []string{"bob", "zed"}, Type: wire.TypeAudio}, wire.CodeNotFound, wire.ReasonNotFound},
		{"full", wire.CallCreateRequest{To: []string{"bob", "carol", "dave"}, Type: wire.TypeAudio}, wire.CodeCallFull, wire.ReasonCallFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := alice.fails(wire.TypeCallCreate, tc.req, tc.code, tc.reason)
			if tc.name == "unknown" && !regexp.MustCompile(`zed@localhost`).MatchString(err.Message) {
				t.Errorf("404 does not name the unknown user: %q", err.Message)
			}
		})
	}
	// Duplicates and self are dropped: this is a 1:1 call within the limit.
	c := create(t, alice, wire.TypeAudio, "bob", "bob@localhost", "BOB", "alice")
	if len(c.Participants) != 2 || c.Mode != wire.ModeOneToOne {
		t.Errorf("deduplicated call %s mode %s", statuses(c), c.Mode)
	}
	// Nothing answers for a stranger or an unknown room.
	carol := e.dial("carol2")
	carol.must(wire.TypeLogin, wire.LoginRequest{Username: "carol", Password: "password-carol"}, nil)
	carol.fails(wire.TypeCallAnswer, room(c), wire.CodeNotFound, wire.ReasonNotFound)
	carol.fails(wire.TypeCallEnd, room(c), wire.CodeNotFound, wire.ReasonNotFound)
	carol.fails(wire.TypeCallSignal, offer(c.RoomID, "alice"), wire.CodeForbidden, wire.ReasonForbidden)
	carol.fails(wire.TypeCallAnswer, wire.RoomRequest{RoomID: "nope"}, wire.CodeNotFound, wire.ReasonNotFound)
	carol.fails(wire.TypeCallAnswer, wire.RoomRequest{}, wire.CodeBadRequest, "bad_request")
}

func TestSignInWhileRinging(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	bob.must(wire.TypeLogout, nil, nil)
	bob.expectClose(wire.CloseLoggedOut)

	call := create(t, alice, wire.TypeAudio, "bob")
	if statusOf(call, jid("bob")) != wire.StatusCalling {
		t.Fatalf("offline callee status %q, want calling", statusOf(call, jid("bob")))
	}
	b2 := e.dial("bob-2")
	b2.must(wire.TypeLogin, wire.LoginRequest{Username: "bob", Password: "password-bob"}, nil)
	in := b2.callEvent(wire.EventIncoming)
	if in.Call.RoomID != call.RoomID || statusOf(in.Call, jid("bob")) != wire.StatusRinging {
		t.Errorf("incoming on sign-in %+v", in)
	}
	alice.update(statusIs("bob", wire.StatusRinging))
	b2.must(wire.TypeCallAnswer, room(call), nil)
	alice.update(statusIs("bob", wire.StatusConnecting))
}

func TestCancel(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	bob2 := e.tab(bob, "bob-2")
	call := create(t, alice, wire.TypeVideo, "bob")
	bob.event(wire.EventIncoming, nil)
	alice.must(wire.TypeCallEnd, room(call), nil)
	for _, tab := range []*client{bob, bob2} {
		missed := tab.callEvent(wire.EventMissed)
		if missed.Reason != wire.StatusEnded || missed.Call.State != wire.CallStateEnded {
			t.Errorf("%s: missed %+v", tab.name, missed)
		}
		if d := tab.dismissed(); d.Reason != wire.ReasonCanceled {
			t.Errorf("%s: dismissed %+v", tab.name, d)
		}
	}
	alice.quiet(wire.EventMissed)
	la, lb := logs(t, alice), logs(t, bob)
	if len(la) != 1 || la[0].CallState != wire.LogOutgoing || la[0].StartTime != nil {
		t.Errorf("alice log %+v", la)
	}
	if len(lb) != 1 || lb[0].CallState != wire.LogMissed || lb[0].StartTime != nil || lb[0].Duration != 0 {
		t.Errorf("bob log %+v", lb)
	}
}

func TestGroupCall(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	var res wire.CallResult
	alice.must(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"bob", "carol", "dave"}, Type: wire.TypeVideo, GroupID: "team"}, &res)
	call := res.Call
	if call.Mode != wire.ModeOneToMany || call.GroupID != "team" || len(call.Participants) != 4 {
		t.Fatalf("group call %+v", call)
	}
	// A groupId alone makes a one-to-many call.
	bob.must(wire.TypeCallAnswer, room(call), nil)
	carol.must(wire.TypeCallDecline, room(call), nil)
	alice.update(statusIs("carol", wire.StatusDeclined))
	// The initiator leaves after an answer: bob (joined) and dave (rung) remain.
	alice.must(wire.TypeCallEnd, room(call), nil)
	up := bob.update(statusIs("alice", wire.StatusDisconnected))
	if up.Call.State != wire.CallStateActive {
		t.Fatalf("call ended with two participants left: %s", statuses(up.Call))
	}
	dave.must(wire.TypeCallAnswer, room(call), nil)
	bob.must(wire.TypeCallSignal, offer(call.RoomID, "dave"), nil)
	dave.event(wire.EventSignal, nil)
	bob.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, wire.ReasonForbidden)
	dave.must(wire.TypeCallEnd, room(call), nil)
	final := bob.update(stateIs(wire.CallStateEnded))
	if statusOf(final.Call, jid("dave")) != wire.StatusDisconnected {
		t.Errorf("final %s", statuses(final.Call))
	}

	want := map[*client]string{alice: wire.LogOutgoing, bob: wire.LogIncoming, carol: wire.LogDeclined, dave: wire.LogIncoming}
	for c, state := range want {
		l := logs(t, c)
		if len(l) != 1 || l[0].CallState != state || l[0].GroupID == nil || *l[0].GroupID != "team" || l[0].CallMode != wire.ModeOneToMany {
			t.Errorf("%s log %+v", c.name, l)
		}
	}
	// dave's log, written last, lists everyone who joined.
	if l := logs(t, dave)[0]; !slices.Equal(l.UserList, []string{jid("alice"), jid("bob"), jid("dave")}) || l.StartTime == nil {
		t.Errorf("dave log %+v", l)
	}
}

// TestSignalTooLarge: a signal whose relayed event would exceed the frame
// limit (encoding escapes < > & to six bytes) is refused, not relayed.
func TestSignalTooLarge(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	// 60 KiB on the wire (written by hand: Go's encoder would escape it too),
	// 360 KiB once the server re-encodes it.
	raw := `{"type":"call.signal","id":1000,"data":{"roomId":"` + call.RoomID +
		`","to":"bob","payload":{"sdp":{"type":"offer","sdp":"` + strings.Repeat("<", 60<<10) + `"}}}}`
	if err := alice.sendRaw(websocket.MessageText, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if r := alice.reply(1000); r.Type != wire.TypeError || r.Error.Code != wire.CodeTooLarge || r.Error.Reason != wire.ReasonTooLarge {
		t.Fatalf("reply %+v", r)
	}
	bob.quiet(wire.EventSignal)
	// Just under the limit is relayed.
	sdp := strings.Repeat("v", wire.MaxFrameBytes-1024)
	alice.must(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: "bob",
		Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "offer", SDP: sdp}}}, nil)
	f := bob.event(wire.EventSignal, nil)
	b, _ := wire.Encode(f)
	if len(b) > wire.MaxFrameBytes {
		t.Errorf("relayed frame is %d bytes", len(b))
	}
}
