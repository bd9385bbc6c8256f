package hub

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

var linkRE = regexp.MustCompile(`^[a-z]{3}-[a-z]{4}-[a-z]{3}$`)

func create(t testing.TB, c *client, callType string, to ...string) wire.Call {
	t.Helper()
	var res wire.CallResult
	c.must(wire.TypeCallCreate, wire.CallCreateRequest{To: to, Type: callType}, &res)
	return res.Call
}

func room(c wire.Call) wire.RoomRequest { return wire.RoomRequest{RoomID: c.RoomID} }

func offer(room, to string) wire.SignalRequest {
	return wire.SignalRequest{RoomID: room, To: to, Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "offer", SDP: "v=0 offer"}}}
}

func logs(t testing.TB, c *client) []wire.CallLog {
	t.Helper()
	var page wire.CallLogPage
	c.must(wire.TypeCallLogs, wire.CallLogsRequest{Page: 1}, &page)
	return page.CallLogs
}

func stateIs(state string) func(wire.CallEvent) bool {
	return func(ce wire.CallEvent) bool { return ce.Call.State == state }
}

func statusIs(who, status string) func(wire.CallEvent) bool {
	return func(ce wire.CallEvent) bool { return statusOf(ce.Call, jid(who)) == status }
}

func TestOneToOneCall(t *testing.T) {
	for _, ender := range []string{"caller", "callee"} {
		t.Run("ended by "+ender, func(t *testing.T) {
			e := newEnv(t, Config{})
			alice := e.register("alice")
			bob := e.register("bob")
			bob2 := e.tab(bob, "bob-2")

			call := create(t, alice, wire.TypeVideo, "bob@localhost")
			if call.Mode != wire.ModeOneToOne || call.Type != wire.TypeVideo || call.State != wire.CallStateRinging ||
				call.Initiator != jid("alice") || !linkRE.MatchString(call.Link) || len(call.RoomID) < 11 ||
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
			bob.fails(wire.TypeCallAnswer, room(call), wire.CodeConflict, reasonConflict)

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
			bob.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, reasonForbidden)
			bob.fails(wire.TypeCallMute, wire.MuteRequest{RoomID: call.RoomID, Audio: new(true)}, wire.CodeForbidden, reasonForbidden)
			bob.fails(wire.TypeCallEnd, room(call), wire.CodeForbidden, reasonForbidden)
			// Nobody signals themselves or a stranger; a bad payload changes nothing.
			alice.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, reasonForbidden)
			alice.fails(wire.TypeCallSignal, offer(call.RoomID, "zed"), wire.CodeForbidden, reasonForbidden)
			alice.fails(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: "bob"}, wire.CodeBadRequest, "bad_request")
			alice.fails(wire.TypeCallSignal, offer("no-such-room", "bob"), wire.CodeNotFound, reasonNotFound)

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
			enderC.fails(wire.TypeCallEnd, room(call), wire.CodeCallEnded, reasonCallEnded)
			other.fails(wire.TypeCallSignal, offer(call.RoomID, "bob"), wire.CodeCallEnded, reasonCallEnded)
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
	alice.fails(wire.TypeCallDecline, room(call), wire.CodeConflict, reasonConflict)

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
	bob2.fails(wire.TypeCallDecline, room(call), wire.CodeCallEnded, reasonCallEnded)

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
	bob.fails(wire.TypeCallAnswer, room(call), wire.CodeCallEnded, reasonCallEnded)
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
	alice.fails(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"carol"}, Type: wire.TypeAudio}, wire.CodeConflict, reasonConflict)
	// Being rung by a call that is still ringing does not block calling out...
	c2 := create(t, carol, wire.TypeAudio, "dave")
	carol.must(wire.TypeCallEnd, room(c2), nil)
	// ...but being rung by an active call does.
	bob.must(wire.TypeCallAnswer, room(call), nil)
	dave.fails(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"carol"}, Type: wire.TypeAudio}, wire.CodeConflict, reasonConflict)
	bob.fails(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"carol"}, Type: wire.TypeAudio}, wire.CodeConflict, reasonConflict)
	// A user joined in one call cannot answer another.
	c3 := create(t, carol, wire.TypeAudio, "bob", "dave")
	bob.fails(wire.TypeCallAnswer, room(c3), wire.CodeConflict, reasonConflict) // engaged, not pending
	dave.must(wire.TypeCallAnswer, room(c3), nil)
	dave.fails(wire.TypeCallAnswer, room(call), wire.CodeConflict, reasonConflict)
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
		{"other domain", wire.CallCreateRequest{To: []string{"bob@elsewhere.org"}, Type: wire.TypeAudio}, wire.CodeNotFound, reasonNotFound},
		{"unknown", wire.CallCreateRequest{To: []string{"bob", "zed"}, Type: wire.TypeAudio}, wire.CodeNotFound, reasonNotFound},
		{"full", wire.CallCreateRequest{To: []string{"bob", "carol", "dave"}, Type: wire.TypeAudio}, wire.CodeCallFull, reasonCallFull},
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
	carol.fails(wire.TypeCallAnswer, room(c), wire.CodeNotFound, reasonNotFound)
	carol.fails(wire.TypeCallEnd, room(c), wire.CodeNotFound, reasonNotFound)
	carol.fails(wire.TypeCallSignal, offer(c.RoomID, "alice"), wire.CodeForbidden, reasonForbidden)
	carol.fails(wire.TypeCallAnswer, wire.RoomRequest{RoomID: "nope"}, wire.CodeNotFound, reasonNotFound)
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
	bob.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, reasonForbidden)
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

func TestResume(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeVideo, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	bob.must(wire.TypeCallMedia, wire.MediaRequest{RoomID: call.RoomID, Status: wire.StatusConnected}, nil)
	alice.update(statusIs("bob", wire.StatusConnected))
	bob.update(statusIs("bob", wire.StatusConnected))
	lastSeq := bob.seq()

	// Bob's connection drops.
	bob.ws.CloseNow()
	up := alice.update(statusIs("bob", wire.StatusReconnecting))
	if up.By != jid("bob") {
		t.Errorf("reconnecting update by %q", up.By)
	}
	// Events for bob while he is away are kept.
	alice.must(wire.TypeCallSignal, offer(call.RoomID, "bob"), nil)
	alice.must(wire.TypeCallMute, wire.MuteRequest{RoomID: call.RoomID, Video: new(true)}, nil)

	b2 := e.dial("bob-resumed")
	var res wire.AuthResult
	b2.must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: lastSeq}, &res)
	if !res.Resumed || res.Session != bob.auth.Session || res.Call == nil || res.Call.RoomID != call.RoomID ||
		statusOf(*res.Call, jid("bob")) != wire.StatusConnected {
		t.Fatalf("resume result %+v", res)
	}
	// The replay: everything after lastSeq, in order, then the restore.
	f1 := b2.event(wire.EventUpdate, nil)
	f2 := b2.event(wire.EventSignal, nil)
	f3 := b2.event(wire.EventUpdate, nil)
	f4 := b2.event(wire.EventUpdate, nil)
	if f1.Seq != lastSeq+1 || f2.Seq != lastSeq+2 || f3.Seq != lastSeq+3 || f4.Seq != lastSeq+4 {
		t.Errorf("replayed seqs %d %d %d %d after %d", f1.Seq, f2.Seq, f3.Seq, f4.Seq, lastSeq)
	}
	var ce wire.CallEvent
	json.Unmarshal(f1.Data, &ce)
	if statusOf(ce.Call, jid("bob")) != wire.StatusReconnecting {
		t.Errorf("first replayed event %s", f1.Data)
	}
	json.Unmarshal(f3.Data, &ce)
	if !participant(t, ce.Call, jid("alice")).VideoMuted {
		t.Errorf("third replayed event %s", f3.Data)
	}
	json.Unmarshal(f4.Data, &ce)
	if statusOf(ce.Call, jid("bob")) != wire.StatusConnected || ce.By != jid("bob") {
		t.Errorf("restore event %s", f4.Data)
	}
	alice.update(statusIs("bob", wire.StatusConnected))

	// The resumed session is bound to the call: it signals.
	b2.must(wire.TypeCallSignal, offer(call.RoomID, "alice"), nil)
	alice.event(wire.EventSignal, nil)

	// Resuming a session whose connection is still open replaces it.
	b3 := e.dial("bob-3")
	res = wire.AuthResult{}
	b3.must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: b2.seq()}, &res)
	if !res.Resumed {
		t.Fatal("not resumed")
	}
	b2.expectClose(wire.CloseReplaced)
	b3.must(wire.TypeCallEnd, room(call), nil)
	alice.update(stateIs(wire.CallStateEnded))

	// Another user cannot resume bob's session.
	c := e.register("carol")
	m := e.dial("mallory")
	res = wire.AuthResult{}
	m.must(wire.TypeAuth, wire.AuthRequest{Token: c.auth.Token, Resume: bob.auth.Session}, &res)
	if res.Resumed || res.User.Username != "carol" {
		t.Errorf("carol resumed bob's session: %+v", res)
	}
}

func TestGraceExpiry(t *testing.T) {
	e := newEnv(t, Config{ResumeGrace: 200 * time.Millisecond})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	bob.ws.CloseNow()
	alice.update(statusIs("bob", wire.StatusReconnecting))
	final := alice.update(stateIs(wire.CallStateEnded))
	if statusOf(final.Call, jid("bob")) != wire.StatusDisconnected {
		t.Errorf("after grace: %s", statuses(final.Call))
	}
	b2 := e.dial("bob-late")
	var res wire.AuthResult
	b2.must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: 1}, &res)
	if res.Resumed {
		t.Error("resumed after the grace period")
	}
	if lb := logs(t, b2); len(lb) != 1 || lb[0].CallState != wire.LogIncoming || lb[0].StartTime == nil {
		t.Errorf("bob log %+v", lb)
	}
}

func TestLogoutLeavesCall(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	bob.must(wire.TypeLogout, nil, nil)
	bob.expectClose(wire.CloseLoggedOut)
	final := alice.update(stateIs(wire.CallStateEnded))
	if statusOf(final.Call, jid("bob")) != wire.StatusDisconnected {
		t.Errorf("after logout: %s", statuses(final.Call))
	}
}

func TestShutdownEndsCalls(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	create(t, carol, wire.TypeVideo, "dave")
	dave.event(wire.EventIncoming, nil)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{alice, bob, carol} {
		final := c.update(stateIs(wire.CallStateEnded))
		if final.Call.EndedAt == 0 {
			t.Errorf("%s: final %+v", c.name, final)
		}
		c.expectClose(wire.CloseShutdown)
	}
	if m := dave.callEvent(wire.EventMissed); m.Reason != wire.StatusEnded {
		t.Errorf("dave missed %+v", m)
	}
	dave.expectClose(wire.CloseShutdown)
	// Every log is on disk.
	for name, state := range map[string]string{"alice": wire.LogOutgoing, "bob": wire.LogIncoming, "carol": wire.LogOutgoing, "dave": wire.LogMissed} {
		u, err := e.st.UserByUsername(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.st.CallLogs(context.Background(), u.ID, 1)
		if err != nil || len(p.CallLogs) != 1 || p.CallLogs[0].CallState != state {
			t.Errorf("%s logs %+v %v", name, p, err)
		}
	}
	// New connections are refused; a second Shutdown is harmless.
	ctx2, cancel2 := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel2()
	if _, _, err := websocket.Dial(ctx2, e.url, nil); err == nil {
		t.Error("dial after shutdown succeeded")
	}
	if err := e.hub.Shutdown(ctx2); err != nil {
		t.Error(err)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	if len(e.hub.calls) != 0 || len(e.hub.conns) != 0 || len(e.hub.users) != 0 || len(e.hub.sessions) != 0 {
		t.Errorf("state left after shutdown: %d calls %d conns %d users %d sessions",
			len(e.hub.calls), len(e.hub.conns), len(e.hub.users), len(e.hub.sessions))
	}
}

// TestStateCleanup checks that finished calls and dropped sessions leave
// nothing behind.
func TestStateCleanup(t *testing.T) {
	e := newEnv(t, Config{ResumeGrace: 50 * time.Millisecond})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	alice.must(wire.TypeCallEnd, room(call), nil)
	bob.update(stateIs(wire.CallStateEnded))
	alice.ws.CloseNow()
	bob.ws.CloseNow()
	deadline := time.Now().Add(waitTimeout)
	for {
		e.hub.mu.Lock()
		n := len(e.hub.calls) + len(e.hub.users) + len(e.hub.sessions) + len(e.hub.conns) + len(e.hub.links)
		e.hub.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d hub entries left", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlowConsumer: a connection that stops reading is cut once its queue
// overflows; its call shows it reconnecting and the relay keeps serving others.
func TestSlowConsumer(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 10000, RateBurst: 10000})
	e.hub.queueLimit = 8
	alice := e.register("alice")
	bob := e.register("bob")
	bobToken := bob.auth.Token
	bob.ws.CloseNow()

	// A raw connection for bob that never reads.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	write := func(typ string, id uint64, payload any) {
		f, _ := wire.Request(typ, id, payload)
		b, _ := wire.Encode(f)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	write(wire.TypeAuth, 1, wire.AuthRequest{Token: bobToken})
	call := create(t, alice, wire.TypeAudio, "bob")
	write(wire.TypeCallAnswer, 2, room(call))
	alice.update(statusIs("bob", wire.StatusConnecting))

	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	req := wire.SignalRequest{RoomID: call.RoomID, To: "bob", Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "offer", SDP: string(big)}}}
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("bob's connection was never cut")
		}
		// Bob stays a member while reconnecting, so every signal is accepted.
		if e := alice.do(wire.TypeCallSignal, req, nil); e != nil {
			t.Fatalf("signal %d: %v", i, e)
		}
		alice.mu.Lock()
		cut := false
		for _, ev := range alice.events {
			var ce wire.CallEvent
			if ev.Type == wire.EventUpdate && json.Unmarshal(ev.Data, &ce) == nil && statusOf(ce.Call, jid("bob")) == wire.StatusReconnecting {
				cut = true
			}
		}
		alice.mu.Unlock()
		if cut {
			break
		}
	}
	alice.must(wire.TypePing, nil, nil)
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
	if r := alice.reply(1000); r.Type != wire.TypeError || r.Error.Code != wire.CodeTooLarge || r.Error.Reason != reasonTooLarge {
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
