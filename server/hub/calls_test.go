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

	"parley/app/signal"
)

var linkRE = regexp.MustCompile(`^[a-z]{3}-[a-z]{4}-[a-z]{3}$`)

func create(t testing.TB, c *client, callType string, to ...string) signal.Call {
	t.Helper()
	var res signal.CallResult
	c.must(signal.TypeCallCreate, signal.CallCreateRequest{To: to, Type: callType}, &res)
	return res.Call
}

func room(c signal.Call) signal.RoomRequest { return signal.RoomRequest{RoomID: c.RoomID} }

func offer(room, to string) signal.SignalRequest {
	return signal.SignalRequest{RoomID: room, To: to, Payload: signal.Payload{SDP: &signal.SessionDescription{Type: "offer", SDP: "v=0 offer"}}}
}

func logs(t testing.TB, c *client) []signal.CallLog {
	t.Helper()
	var page signal.CallLogPage
	c.must(signal.TypeCallLogs, signal.CallLogsRequest{Page: 1}, &page)
	return page.CallLogs
}

func stateIs(state string) func(signal.CallEvent) bool {
	return func(ce signal.CallEvent) bool { return ce.Call.State == state }
}

func statusIs(who, status string) func(signal.CallEvent) bool {
	return func(ce signal.CallEvent) bool { return statusOf(ce.Call, jid(who)) == status }
}

func TestOneToOneCall(t *testing.T) {
	for _, ender := range []string{"caller", "callee"} {
		t.Run("ended by "+ender, func(t *testing.T) {
			e := newEnv(t, Config{})
			alice := e.register("alice")
			bob := e.register("bob")
			bob2 := e.tab(bob, "bob-2")

			call := create(t, alice, signal.TypeVideo, "bob@localhost")
			if call.Mode != signal.ModeOneToOne || call.Type != signal.TypeVideo || call.State != signal.CallRinging ||
				call.Initiator != jid("alice") || !linkRE.MatchString(call.Link) || len(call.RoomID) < 11 ||
				call.CreatedAt == 0 || call.StartedAt != 0 || !slices.Equal(call.To, []string{jid("bob")}) {
				t.Fatalf("created call %+v", call)
			}
			if len(call.Participants) != 2 || call.Participants[0].JID != jid("alice") || !call.Participants[0].Initiator ||
				call.Participants[0].Status != signal.StatusConnecting || call.Participants[1].Status != signal.StatusRinging ||
				call.Participants[1].Initiator {
				t.Fatalf("participants %+v", call.Participants)
			}
			alice.update(stateIs(signal.CallRinging))

			// Both of bob's tabs ring.
			for _, tab := range []*client{bob, bob2} {
				f := tab.event(signal.EventIncoming, nil)
				if f.Seq != 1 {
					t.Errorf("%s: first event has seq %d, want 1", tab.name, f.Seq)
				}
				var in signal.CallEvent
				json.Unmarshal(f.Data, &in)
				if in.Call.RoomID != call.RoomID || statusOf(in.Call, jid("bob")) != signal.StatusRinging || in.Call.Participants[0].DisplayName != "alice" {
					t.Errorf("%s: incoming %+v", tab.name, in.Call)
				}
			}

			// Answer on the second tab: the first stops ringing.
			var ans signal.CallResult
			bob2.must(signal.TypeCallAnswer, room(call), &ans)
			if ans.Call.State != signal.CallActive || ans.Call.StartedAt == 0 || statusOf(ans.Call, jid("bob")) != signal.StatusConnecting {
				t.Fatalf("answer result %+v", ans.Call)
			}
			if d := bob.dismissed(); d.Reason != signal.ReasonAnsweredElsewhere || d.RoomID != call.RoomID {
				t.Errorf("dismissed %+v", d)
			}
			up := alice.update(statusIs("bob", signal.StatusConnecting))
			if up.By != jid("bob") || up.Call.State != signal.CallActive {
				t.Errorf("update after answer %+v", up)
			}
			bob2.update(statusIs("bob", signal.StatusConnecting))
			bob.fails(signal.TypeCallAnswer, room(call), signal.CodeConflict, reasonConflict)

			// Signals reach the answering tab only.
			alice.must(signal.TypeCallSignal, offer(call.RoomID, "bob"), nil)
			f := bob2.event(signal.EventSignal, nil)
			var sig signal.SignalEvent
			json.Unmarshal(f.Data, &sig)
			if sig.From != jid("alice") || sig.RoomID != call.RoomID || sig.Payload.SDP == nil || sig.Payload.SDP.SDP != "v=0 offer" {
				t.Errorf("relayed %+v", sig)
			}
			bob.quiet(signal.EventSignal)
			mid := "0"
			idx := uint16(0)
			bob2.must(signal.TypeCallSignal, signal.SignalRequest{RoomID: call.RoomID, To: jid("alice"),
				Payload: signal.Payload{Candidate: &signal.Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", SDPMid: &mid, SDPMLineIndex: &idx}}}, nil)
			f = alice.event(signal.EventSignal, nil)
			json.Unmarshal(f.Data, &sig)
			if sig.From != jid("bob") || sig.Payload.Candidate == nil || *sig.Payload.Candidate.SDPMid != "0" {
				t.Errorf("relayed candidate %+v", sig)
			}
			// The tab that did not answer may not signal, mute or end.
			bob.fails(signal.TypeCallSignal, offer(call.RoomID, "alice"), signal.CodeForbidden, reasonForbidden)
			bob.fails(signal.TypeCallMute, signal.MuteRequest{RoomID: call.RoomID, Audio: new(true)}, signal.CodeForbidden, reasonForbidden)
			bob.fails(signal.TypeCallEnd, room(call), signal.CodeForbidden, reasonForbidden)
			// Nobody signals themselves or a stranger; a bad payload changes nothing.
			alice.fails(signal.TypeCallSignal, offer(call.RoomID, "alice"), signal.CodeForbidden, reasonForbidden)
			alice.fails(signal.TypeCallSignal, offer(call.RoomID, "zed"), signal.CodeForbidden, reasonForbidden)
			alice.fails(signal.TypeCallSignal, signal.SignalRequest{RoomID: call.RoomID, To: "bob"}, signal.CodeBadRequest, "bad_request")
			alice.fails(signal.TypeCallSignal, offer("no-such-room", "bob"), signal.CodeNotFound, reasonNotFound)

			// Media and mute states are broadcast.
			alice.must(signal.TypeCallMedia, signal.MediaRequest{RoomID: call.RoomID, Status: signal.StatusConnected}, nil)
			up = bob2.update(statusIs("alice", signal.StatusConnected))
			if up.By != jid("alice") {
				t.Errorf("media update by %q", up.By)
			}
			alice.fails(signal.TypeCallMedia, signal.MediaRequest{RoomID: call.RoomID, Status: "flying"}, signal.CodeBadRequest, "bad_request")
			bob2.must(signal.TypeCallMute, signal.MuteRequest{RoomID: call.RoomID, Audio: new(true)}, nil)
			up = alice.update(func(ce signal.CallEvent) bool { return participant(t, ce.Call, jid("bob")).AudioMuted })
			if up.By != jid("bob") || participant(t, up.Call, jid("bob")).VideoMuted {
				t.Errorf("mute update %+v", up)
			}
			bob2.fails(signal.TypeCallMute, signal.MuteRequest{RoomID: call.RoomID}, signal.CodeBadRequest, "bad_request")

			// End.
			enderC, other, otherName := alice, bob2, "alice"
			if ender == "callee" {
				enderC, other, otherName = bob2, alice, "bob"
			}
			enderC.settle()
			enderC.must(signal.TypeCallEnd, room(call), nil)
			final := other.update(stateIs(signal.CallEnded))
			if final.Reason != signal.StatusEnded || final.Call.EndedAt == 0 || statusOf(final.Call, jid(otherName)) != signal.StatusDisconnected {
				t.Errorf("final update %+v (%s)", final, statuses(final.Call))
			}
			enderC.fails(signal.TypeCallEnd, room(call), signal.CodeCallEnded, reasonCallEnded)
			other.fails(signal.TypeCallSignal, offer(call.RoomID, "bob"), signal.CodeCallEnded, reasonCallEnded)
			enderC.quiet(signal.EventUpdate)

			// Call logs for both, written before the final update went out.
			la, lb := logs(t, alice), logs(t, bob)
			if len(la) != 1 || len(lb) != 1 {
				t.Fatalf("logs: alice %d, bob %d", len(la), len(lb))
			}
			a, b := la[0], lb[0]
			if a.CallState != signal.LogOutgoing || b.CallState != signal.LogIncoming {
				t.Errorf("callState alice %q bob %q", a.CallState, b.CallState)
			}
			for _, l := range []signal.CallLog{a, b} {
				if l.RoomID != call.RoomID || l.RoomLink != call.Link || l.CallMode != signal.ModeOneToOne || l.CallType != signal.TypeVideo ||
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
			create(t, bob, signal.TypeAudio, "alice")
		})
	}
}

func TestDecline(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	bob2 := e.tab(bob, "bob-2")
	call := create(t, alice, signal.TypeAudio, "bob")
	bob.event(signal.EventIncoming, nil)
	bob2.event(signal.EventIncoming, nil)
	alice.fails(signal.TypeCallDecline, room(call), signal.CodeConflict, reasonConflict)

	bob.must(signal.TypeCallDecline, room(call), nil)
	if d := bob2.dismissed(); d.Reason != signal.ReasonDeclinedElsewhere {
		t.Errorf("dismissed %+v", d)
	}
	up := alice.update(statusIs("bob", signal.StatusDeclined))
	if up.By != jid("bob") {
		t.Errorf("decline update by %q", up.By)
	}
	alice.update(stateIs(signal.CallEnded))
	bob.quiet(signal.EventDismissed)
	bob2.fails(signal.TypeCallDecline, room(call), signal.CodeCallEnded, reasonCallEnded)

	la, lb := logs(t, alice), logs(t, bob)
	if len(la) != 1 || la[0].CallState != signal.LogOutgoing || la[0].StartTime != nil || la[0].Duration != 0 || la[0].CallType != signal.TypeAudio {
		t.Errorf("alice log %+v", la)
	}
	if len(lb) != 1 || lb[0].CallState != signal.LogDeclined || lb[0].StartTime != nil || !slices.Equal(lb[0].UserList, []string{jid("alice")}) {
		t.Errorf("bob log %+v", lb)
	}
}

func TestRingTimeout(t *testing.T) {
	e := newEnv(t, Config{RingTimeout: 200 * time.Millisecond})
	alice := e.register("alice")
	bob := e.register("bob")
	bob2 := e.tab(bob, "bob-2")
	call := create(t, alice, signal.TypeAudio, "bob")
	for _, tab := range []*client{bob, bob2} {
		tab.event(signal.EventIncoming, nil)
		missed := tab.callEvent(signal.EventMissed)
		if missed.Reason != signal.StatusNoAnswer || missed.Call.RoomID != call.RoomID {
			t.Errorf("%s: missed %+v", tab.name, missed)
		}
		if d := tab.dismissed(); d.Reason != signal.ReasonTimeout {
			t.Errorf("%s: dismissed %+v", tab.name, d)
		}
	}
	alice.update(statusIs("bob", signal.StatusNoAnswer))
	alice.update(stateIs(signal.CallEnded))
	bob.fails(signal.TypeCallAnswer, room(call), signal.CodeCallEnded, reasonCallEnded)
	if lb := logs(t, bob); len(lb) != 1 || lb[0].CallState != signal.LogMissed {
		t.Errorf("bob log %+v", lb)
	}
}

func TestEngaged(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, signal.TypeAudio, "bob")
	bob.event(signal.EventIncoming, nil)
	bob.must(signal.TypeCallAnswer, room(call), nil)

	// 1:1 to an engaged user ends at once.
	c2 := create(t, carol, signal.TypeVideo, "bob")
	if statusOf(c2, jid("bob")) != signal.StatusEngaged || c2.State != signal.CallEnded {
		t.Errorf("call to engaged bob: %s state %s", statuses(c2), c2.State)
	}
	carol.update(stateIs(signal.CallEnded))
	bob.quiet(signal.EventIncoming)
	if lb := logs(t, bob); len(lb) != 1 || lb[0].CallState != signal.LogMissed || lb[0].RoomID != c2.RoomID {
		t.Errorf("bob log %+v", lb)
	}

	// A group call goes on with the others.
	c3 := create(t, carol, signal.TypeVideo, "bob", "dave")
	if c3.Mode != signal.ModeOneToMany || statusOf(c3, jid("bob")) != signal.StatusEngaged ||
		statusOf(c3, jid("dave")) != signal.StatusRinging || c3.State != signal.CallRinging {
		t.Errorf("group call %s state %s", statuses(c3), c3.State)
	}
	dave.event(signal.EventIncoming, nil)
}

func TestBusyCaller(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, signal.TypeAudio, "bob", "dave")
	// A caller whose call is still ringing is in a call.
	alice.fails(signal.TypeCallCreate, signal.CallCreateRequest{To: []string{"carol"}, Type: signal.TypeAudio}, signal.CodeConflict, reasonConflict)
	// Being rung by a call that is still ringing does not block calling out...
	c2 := create(t, carol, signal.TypeAudio, "dave")
	carol.must(signal.TypeCallEnd, room(c2), nil)
	// ...but being rung by an active call does.
	bob.must(signal.TypeCallAnswer, room(call), nil)
	dave.fails(signal.TypeCallCreate, signal.CallCreateRequest{To: []string{"carol"}, Type: signal.TypeAudio}, signal.CodeConflict, reasonConflict)
	bob.fails(signal.TypeCallCreate, signal.CallCreateRequest{To: []string{"carol"}, Type: signal.TypeAudio}, signal.CodeConflict, reasonConflict)
	// A user joined in one call cannot answer another.
	c3 := create(t, carol, signal.TypeAudio, "bob", "dave")
	bob.fails(signal.TypeCallAnswer, room(c3), signal.CodeConflict, reasonConflict) // engaged, not pending
	dave.must(signal.TypeCallAnswer, room(c3), nil)
	dave.fails(signal.TypeCallAnswer, room(call), signal.CodeConflict, reasonConflict)
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, Config{MaxParticipants: 3})
	alice := e.register("alice")
	e.register("bob")
	e.register("carol")
	e.register("dave")
	for _, tc := range []struct {
		name   string
		req    signal.CallCreateRequest
		code   int
		reason string
	}{
		{"bad type", signal.CallCreateRequest{To: []string{"bob"}, Type: "hologram"}, signal.CodeBadRequest, "bad_request"},
		{"no callee", signal.CallCreateRequest{To: []string{}, Type: signal.TypeAudio}, signal.CodeBadRequest, "bad_request"},
		{"only self", signal.CallCreateRequest{To: []string{"alice", "alice@localhost"}, Type: signal.TypeAudio}, signal.CodeBadRequest, "bad_request"},
		{"malformed", signal.CallCreateRequest{To: []string{"bob", "Not Valid!"}, Type: signal.TypeAudio}, signal.CodeBadRequest, "bad_request"},
		{"other domain", signal.CallCreateRequest{To: []string{"bob@elsewhere.org"}, Type: signal.TypeAudio}, signal.CodeNotFound, reasonNotFound},
		{"unknown", signal.CallCreateRequest{To: []string{"bob", "zed"}, Type: signal.TypeAudio}, signal.CodeNotFound, reasonNotFound},
		{"full", signal.CallCreateRequest{To: []string{"bob", "carol", "dave"}, Type: signal.TypeAudio}, signal.CodeCallFull, reasonCallFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := alice.fails(signal.TypeCallCreate, tc.req, tc.code, tc.reason)
			if tc.name == "unknown" && !regexp.MustCompile(`zed@localhost`).MatchString(err.Message) {
				t.Errorf("404 does not name the unknown user: %q", err.Message)
			}
		})
	}
	// Duplicates and self are dropped: this is a 1:1 call within the limit.
	c := create(t, alice, signal.TypeAudio, "bob", "bob@localhost", "BOB", "alice")
	if len(c.Participants) != 2 || c.Mode != signal.ModeOneToOne {
		t.Errorf("deduplicated call %s mode %s", statuses(c), c.Mode)
	}
	// Nothing answers for a stranger or an unknown room.
	carol := e.dial("carol2")
	carol.must(signal.TypeLogin, signal.LoginRequest{Username: "carol", Password: "password-carol"}, nil)
	carol.fails(signal.TypeCallAnswer, room(c), signal.CodeNotFound, reasonNotFound)
	carol.fails(signal.TypeCallEnd, room(c), signal.CodeNotFound, reasonNotFound)
	carol.fails(signal.TypeCallSignal, offer(c.RoomID, "alice"), signal.CodeForbidden, reasonForbidden)
	carol.fails(signal.TypeCallAnswer, signal.RoomRequest{RoomID: "nope"}, signal.CodeNotFound, reasonNotFound)
	carol.fails(signal.TypeCallAnswer, signal.RoomRequest{}, signal.CodeBadRequest, "bad_request")
}

func TestSignInWhileRinging(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	bob.must(signal.TypeLogout, nil, nil)
	bob.expectClose(signal.CloseLoggedOut)

	call := create(t, alice, signal.TypeAudio, "bob")
	if statusOf(call, jid("bob")) != signal.StatusCalling {
		t.Fatalf("offline callee status %q, want calling", statusOf(call, jid("bob")))
	}
	b2 := e.dial("bob-2")
	b2.must(signal.TypeLogin, signal.LoginRequest{Username: "bob", Password: "password-bob"}, nil)
	in := b2.callEvent(signal.EventIncoming)
	if in.Call.RoomID != call.RoomID || statusOf(in.Call, jid("bob")) != signal.StatusRinging {
		t.Errorf("incoming on sign-in %+v", in)
	}
	alice.update(statusIs("bob", signal.StatusRinging))
	b2.must(signal.TypeCallAnswer, room(call), nil)
	alice.update(statusIs("bob", signal.StatusConnecting))
}

func TestCancel(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	bob2 := e.tab(bob, "bob-2")
	call := create(t, alice, signal.TypeVideo, "bob")
	bob.event(signal.EventIncoming, nil)
	alice.must(signal.TypeCallEnd, room(call), nil)
	for _, tab := range []*client{bob, bob2} {
		missed := tab.callEvent(signal.EventMissed)
		if missed.Reason != signal.StatusEnded || missed.Call.State != signal.CallEnded {
			t.Errorf("%s: missed %+v", tab.name, missed)
		}
		if d := tab.dismissed(); d.Reason != signal.ReasonCanceled {
			t.Errorf("%s: dismissed %+v", tab.name, d)
		}
	}
	alice.quiet(signal.EventMissed)
	la, lb := logs(t, alice), logs(t, bob)
	if len(la) != 1 || la[0].CallState != signal.LogOutgoing || la[0].StartTime != nil {
		t.Errorf("alice log %+v", la)
	}
	if len(lb) != 1 || lb[0].CallState != signal.LogMissed || lb[0].StartTime != nil || lb[0].Duration != 0 {
		t.Errorf("bob log %+v", lb)
	}
}

func TestGroupCall(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	var res signal.CallResult
	alice.must(signal.TypeCallCreate, signal.CallCreateRequest{To: []string{"bob", "carol", "dave"}, Type: signal.TypeVideo, GroupID: "team"}, &res)
	call := res.Call
	if call.Mode != signal.ModeOneToMany || call.GroupID != "team" || len(call.Participants) != 4 {
		t.Fatalf("group call %+v", call)
	}
	// A groupId alone makes a one-to-many call.
	bob.must(signal.TypeCallAnswer, room(call), nil)
	carol.must(signal.TypeCallDecline, room(call), nil)
	alice.update(statusIs("carol", signal.StatusDeclined))
	// The initiator leaves after an answer: bob (joined) and dave (rung) remain.
	alice.must(signal.TypeCallEnd, room(call), nil)
	up := bob.update(statusIs("alice", signal.StatusDisconnected))
	if up.Call.State != signal.CallActive {
		t.Fatalf("call ended with two participants left: %s", statuses(up.Call))
	}
	dave.must(signal.TypeCallAnswer, room(call), nil)
	bob.must(signal.TypeCallSignal, offer(call.RoomID, "dave"), nil)
	dave.event(signal.EventSignal, nil)
	bob.fails(signal.TypeCallSignal, offer(call.RoomID, "alice"), signal.CodeForbidden, reasonForbidden)
	dave.must(signal.TypeCallEnd, room(call), nil)
	final := bob.update(stateIs(signal.CallEnded))
	if statusOf(final.Call, jid("dave")) != signal.StatusDisconnected {
		t.Errorf("final %s", statuses(final.Call))
	}

	want := map[*client]string{alice: signal.LogOutgoing, bob: signal.LogIncoming, carol: signal.LogDeclined, dave: signal.LogIncoming}
	for c, state := range want {
		l := logs(t, c)
		if len(l) != 1 || l[0].CallState != state || l[0].GroupID == nil || *l[0].GroupID != "team" || l[0].CallMode != signal.ModeOneToMany {
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
	call := create(t, alice, signal.TypeVideo, "bob")
	bob.must(signal.TypeCallAnswer, room(call), nil)
	bob.must(signal.TypeCallMedia, signal.MediaRequest{RoomID: call.RoomID, Status: signal.StatusConnected}, nil)
	alice.update(statusIs("bob", signal.StatusConnected))
	bob.update(statusIs("bob", signal.StatusConnected))
	lastSeq := bob.seq()

	// Bob's connection drops.
	bob.ws.CloseNow()
	up := alice.update(statusIs("bob", signal.StatusReconnecting))
	if up.By != jid("bob") {
		t.Errorf("reconnecting update by %q", up.By)
	}
	// Events for bob while he is away are kept.
	alice.must(signal.TypeCallSignal, offer(call.RoomID, "bob"), nil)
	alice.must(signal.TypeCallMute, signal.MuteRequest{RoomID: call.RoomID, Video: new(true)}, nil)

	b2 := e.dial("bob-resumed")
	var res signal.AuthResult
	b2.must(signal.TypeAuth, signal.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: lastSeq}, &res)
	if !res.Resumed || res.Session != bob.auth.Session || res.Call == nil || res.Call.RoomID != call.RoomID ||
		statusOf(*res.Call, jid("bob")) != signal.StatusConnected {
		t.Fatalf("resume result %+v", res)
	}
	// The replay: everything after lastSeq, in order, then the restore.
	f1 := b2.event(signal.EventUpdate, nil)
	f2 := b2.event(signal.EventSignal, nil)
	f3 := b2.event(signal.EventUpdate, nil)
	f4 := b2.event(signal.EventUpdate, nil)
	if f1.Seq != lastSeq+1 || f2.Seq != lastSeq+2 || f3.Seq != lastSeq+3 || f4.Seq != lastSeq+4 {
		t.Errorf("replayed seqs %d %d %d %d after %d", f1.Seq, f2.Seq, f3.Seq, f4.Seq, lastSeq)
	}
	var ce signal.CallEvent
	json.Unmarshal(f1.Data, &ce)
	if statusOf(ce.Call, jid("bob")) != signal.StatusReconnecting {
		t.Errorf("first replayed event %s", f1.Data)
	}
	json.Unmarshal(f3.Data, &ce)
	if !participant(t, ce.Call, jid("alice")).VideoMuted {
		t.Errorf("third replayed event %s", f3.Data)
	}
	json.Unmarshal(f4.Data, &ce)
	if statusOf(ce.Call, jid("bob")) != signal.StatusConnected || ce.By != jid("bob") {
		t.Errorf("restore event %s", f4.Data)
	}
	alice.update(statusIs("bob", signal.StatusConnected))

	// The resumed session is bound to the call: it signals.
	b2.must(signal.TypeCallSignal, offer(call.RoomID, "alice"), nil)
	alice.event(signal.EventSignal, nil)

	// Resuming a session whose connection is still open replaces it.
	b3 := e.dial("bob-3")
	res = signal.AuthResult{}
	b3.must(signal.TypeAuth, signal.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: b2.seq()}, &res)
	if !res.Resumed {
		t.Fatal("not resumed")
	}
	b2.expectClose(signal.CloseReplaced)
	b3.must(signal.TypeCallEnd, room(call), nil)
	alice.update(stateIs(signal.CallEnded))

	// Another user cannot resume bob's session.
	c := e.register("carol")
	m := e.dial("mallory")
	res = signal.AuthResult{}
	m.must(signal.TypeAuth, signal.AuthRequest{Token: c.auth.Token, Resume: bob.auth.Session}, &res)
	if res.Resumed || res.User.Username != "carol" {
		t.Errorf("carol resumed bob's session: %+v", res)
	}
}

func TestGraceExpiry(t *testing.T) {
	e := newEnv(t, Config{ResumeGrace: 200 * time.Millisecond})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, signal.TypeAudio, "bob")
	bob.must(signal.TypeCallAnswer, room(call), nil)
	bob.ws.CloseNow()
	alice.update(statusIs("bob", signal.StatusReconnecting))
	final := alice.update(stateIs(signal.CallEnded))
	if statusOf(final.Call, jid("bob")) != signal.StatusDisconnected {
		t.Errorf("after grace: %s", statuses(final.Call))
	}
	b2 := e.dial("bob-late")
	var res signal.AuthResult
	b2.must(signal.TypeAuth, signal.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: 1}, &res)
	if res.Resumed {
		t.Error("resumed after the grace period")
	}
	if lb := logs(t, b2); len(lb) != 1 || lb[0].CallState != signal.LogIncoming || lb[0].StartTime == nil {
		t.Errorf("bob log %+v", lb)
	}
}

func TestLogoutLeavesCall(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, signal.TypeAudio, "bob")
	bob.must(signal.TypeCallAnswer, room(call), nil)
	bob.must(signal.TypeLogout, nil, nil)
	bob.expectClose(signal.CloseLoggedOut)
	final := alice.update(stateIs(signal.CallEnded))
	if statusOf(final.Call, jid("bob")) != signal.StatusDisconnected {
		t.Errorf("after logout: %s", statuses(final.Call))
	}
}

func TestShutdownEndsCalls(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, signal.TypeAudio, "bob")
	bob.must(signal.TypeCallAnswer, room(call), nil)
	create(t, carol, signal.TypeVideo, "dave")
	dave.event(signal.EventIncoming, nil)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{alice, bob, carol} {
		final := c.update(stateIs(signal.CallEnded))
		if final.Call.EndedAt == 0 {
			t.Errorf("%s: final %+v", c.name, final)
		}
		c.expectClose(signal.CloseShutdown)
	}
	if m := dave.callEvent(signal.EventMissed); m.Reason != signal.StatusEnded {
		t.Errorf("dave missed %+v", m)
	}
	dave.expectClose(signal.CloseShutdown)
	// Every log is on disk.
	for name, state := range map[string]string{"alice": signal.LogOutgoing, "bob": signal.LogIncoming, "carol": signal.LogOutgoing, "dave": signal.LogMissed} {
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
	call := create(t, alice, signal.TypeAudio, "bob")
	bob.must(signal.TypeCallAnswer, room(call), nil)
	alice.must(signal.TypeCallEnd, room(call), nil)
	bob.update(stateIs(signal.CallEnded))
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
		f, _ := signal.Request(typ, id, payload)
		b, _ := signal.Encode(f)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	write(signal.TypeAuth, 1, signal.AuthRequest{Token: bobToken})
	call := create(t, alice, signal.TypeAudio, "bob")
	write(signal.TypeCallAnswer, 2, room(call))
	alice.update(statusIs("bob", signal.StatusConnecting))

	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	req := signal.SignalRequest{RoomID: call.RoomID, To: "bob", Payload: signal.Payload{SDP: &signal.SessionDescription{Type: "offer", SDP: string(big)}}}
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("bob's connection was never cut")
		}
		// Bob stays a member while reconnecting, so every signal is accepted.
		if e := alice.do(signal.TypeCallSignal, req, nil); e != nil {
			t.Fatalf("signal %d: %v", i, e)
		}
		alice.mu.Lock()
		cut := false
		for _, ev := range alice.events {
			var ce signal.CallEvent
			if ev.Type == signal.EventUpdate && json.Unmarshal(ev.Data, &ce) == nil && statusOf(ce.Call, jid("bob")) == signal.StatusReconnecting {
				cut = true
			}
		}
		alice.mu.Unlock()
		if cut {
			break
		}
	}
	alice.must(signal.TypePing, nil, nil)
}

// TestSignalTooLarge: a signal whose relayed event would exceed the frame
// limit (encoding escapes < > & to six bytes) is refused, not relayed.
func TestSignalTooLarge(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(t, alice, signal.TypeAudio, "bob")
	bob.must(signal.TypeCallAnswer, room(call), nil)
	// 60 KiB on the wire (written by hand: Go's encoder would escape it too),
	// 360 KiB once the server re-encodes it.
	raw := `{"type":"call.signal","id":1000,"data":{"roomId":"` + call.RoomID +
		`","to":"bob","payload":{"sdp":{"type":"offer","sdp":"` + strings.Repeat("<", 60<<10) + `"}}}}`
	if err := alice.sendRaw(websocket.MessageText, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if r := alice.reply(1000); r.Type != signal.TypeError || r.Error.Code != signal.CodeTooLarge || r.Error.Reason != reasonTooLarge {
		t.Fatalf("reply %+v", r)
	}
	bob.quiet(signal.EventSignal)
	// Just under the limit is relayed.
	sdp := strings.Repeat("v", signal.MaxFrameBytes-1024)
	alice.must(signal.TypeCallSignal, signal.SignalRequest{RoomID: call.RoomID, To: "bob",
		Payload: signal.Payload{SDP: &signal.SessionDescription{Type: "offer", SDP: sdp}}}, nil)
	f := bob.event(signal.EventSignal, nil)
	b, _ := signal.Encode(f)
	if len(b) > signal.MaxFrameBytes {
		t.Errorf("relayed frame is %d bytes", len(b))
	}
}
