package hub

import (
	"testing"

	"parley/app/wire"
)

// TestPreOffer: a joined participant's offer and candidates reach every tab
// of a callee while it rings; the callee may send nothing until it answers,
// and its answer carries the prepared answers, relayed before the update that
// shows it joined. Join orders number who joined when.
func TestPreOffer(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	bob2 := e.tab(bob, "bob-2")
	carol := e.register("carol")
	dave := e.register("dave")

	call := groupCall(t, alice, wire.TypeVideo, "g1", "bob@localhost", "carol@localhost")
	if o := participant(t, call, jid("alice")).JoinOrder; o != 1 {
		t.Fatalf("caller's join order %d, want 1", o)
	}
	if o := participant(t, call, jid("bob")).JoinOrder; o != 0 {
		t.Fatalf("a ringing callee's join order %d, want 0", o)
	}
	bob.event(wire.EventIncoming, nil)
	bob2.event(wire.EventIncoming, nil)

	// The caller's pre-offer reaches both of bob's ringing tabs.
	alice.must(wire.TypeCallSignal, offer(call.RoomID, "bob"), nil)
	for _, tab := range []*client{bob, bob2} {
		sig, _ := payload[wire.SignalEvent](t, tab, wire.EventSignal, nil)
		if sig.From != jid("alice") || sig.Payload.SDP == nil || sig.Payload.SDP.Type != "offer" {
			t.Fatalf("%s: pre-offer %+v", tab.name, sig)
		}
	}
	// A ringing callee reveals nothing: it may not signal anyone.
	bob.fails(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: jid("alice"),
		Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "answer", SDP: "v=0 answer"}}}, wire.CodeForbidden, wire.ReasonForbidden)
	// Nobody outside the call is reached, nor someone who declined.
	alice.fails(wire.TypeCallSignal, offer(call.RoomID, "dave"), wire.CodeForbidden, wire.ReasonForbidden)
	dave.quiet(wire.EventSignal)

	answerSDP := wire.Payload{SDP: &wire.SessionDescription{Type: "answer", SDP: "v=0 prepared answer"}}
	// A bad signal fails the whole answer and changes nothing: bob still rings
	// (his answer below works), and nobody is sent anything.
	for _, bad := range []struct {
		name       string
		req        wire.AnswerRequest
		code       int
		reason     string
		stillQuiet *client
	}{
		{"to oneself", wire.AnswerRequest{RoomID: call.RoomID, Signals: []wire.Relay{{To: jid("bob"), Payload: answerSDP}}}, wire.CodeForbidden, wire.ReasonForbidden, nil},
		{"to nobody in the call", wire.AnswerRequest{RoomID: call.RoomID, Signals: []wire.Relay{{To: jid("dave"), Payload: answerSDP}}}, wire.CodeForbidden, wire.ReasonForbidden, dave},
		{"an empty payload", wire.AnswerRequest{RoomID: call.RoomID, Signals: []wire.Relay{{To: jid("alice")}}}, wire.CodeBadRequest, wire.ReasonBadRequest, nil},
		{"too many", wire.AnswerRequest{RoomID: call.RoomID, Signals: make([]wire.Relay, wire.MaxAnswerSignals+1)}, wire.CodeBadRequest, wire.ReasonBadRequest, nil},
	} {
		bob2.fails(wire.TypeCallAnswer, bad.req, bad.code, bad.reason)
		if bad.stillQuiet != nil {
			bad.stillQuiet.quiet(wire.EventSignal)
		}
	}
	alice.quiet(wire.EventSignal)
	// The answer with the prepared answer and a candidate: alice gets them
	// before the update showing bob joined.
	mid, idx := "0", uint16(0)
	cand := wire.Payload{Candidate: &wire.Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", SDPMid: &mid, SDPMLineIndex: &idx}}
	var ans wire.CallResult
	// The one for carol, still ringing, is dropped: she gets nothing.
	bob2.must(wire.TypeCallAnswer, wire.AnswerRequest{RoomID: call.RoomID, Signals: []wire.Relay{
		{To: jid("alice"), Payload: answerSDP}, {To: jid("carol"), Payload: answerSDP}, {To: jid("alice"), Payload: cand}}}, &ans)
	if o := participant(t, ans.Call, jid("bob")).JoinOrder; o != 2 {
		t.Fatalf("bob's join order %d, want 2", o)
	}
	sig, sf := payload[wire.SignalEvent](t, alice, wire.EventSignal, func(s wire.SignalEvent) bool { return s.Payload.SDP != nil })
	if sig.From != jid("bob") || sig.Payload.SDP.SDP != "v=0 prepared answer" {
		t.Fatalf("relayed answer %+v", sig)
	}
	cs, cf := payload[wire.SignalEvent](t, alice, wire.EventSignal, func(s wire.SignalEvent) bool { return s.Payload.Candidate != nil })
	if cs.From != jid("bob") || cf.Seq <= sf.Seq {
		t.Fatalf("candidate %+v (seq %d after the answer's %d)", cs, cf.Seq, sf.Seq)
	}
	_, uf := payload[wire.CallEvent](t, alice, wire.EventUpdate, statusIs("bob", wire.StatusConnecting))
	if uf.Seq <= cf.Seq {
		t.Fatalf("the update showing bob joined (seq %d) came before his signals (seq %d)", uf.Seq, cf.Seq)
	}
	bob.quiet(wire.EventSignal) // the tab that did not answer
	carol.quiet(wire.EventSignal)

	// Now joined, bob pre-offers to carol, still ringing; she answers it.
	bob2.must(wire.TypeCallSignal, offer(call.RoomID, "carol"), nil)
	payload[wire.SignalEvent](t, carol, wire.EventSignal, func(s wire.SignalEvent) bool { return s.From == jid("bob") })
	carol.must(wire.TypeCallAnswer, wire.AnswerRequest{RoomID: call.RoomID, Signals: []wire.Relay{{To: jid("bob"), Payload: answerSDP}}}, &ans)
	if o := participant(t, ans.Call, jid("carol")).JoinOrder; o != 3 {
		t.Fatalf("carol's join order %d, want 3", o)
	}
	payload[wire.SignalEvent](t, bob2, wire.EventSignal, func(s wire.SignalEvent) bool { return s.From == jid("carol") })
}

// TestPreOfferToKnocker: a member may send someone knocking an offer, and
// nothing else: no candidate, no offer carrying candidates, and the knocker
// may send nothing back until let in.
func TestPreOfferToKnocker(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(t, alice, wire.TypeVideo, "bob")
	answer(t, bob, call)
	link := shareLink(t, bob, call)
	g := e.dial("gina")
	var ga wire.AuthResult
	g.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Gina"}, &ga)
	g.auth = ga
	var res wire.LinkJoinResult
	g.must(wire.TypeLinkJoin, wire.LinkRequest{Link: link}, &res)
	if !res.Waiting {
		t.Fatalf("knock reply %+v", res)
	}
	payload[wire.KnockEvent](t, alice, wire.EventKnock, nil)

	alice.must(wire.TypeCallSignal, offer(call.RoomID, ga.User.JID), nil)
	sig, _ := payload[wire.SignalEvent](t, g, wire.EventSignal, nil)
	if sig.From != jid("alice") || sig.Payload.SDP == nil || sig.Payload.SDP.Type != "offer" {
		t.Fatalf("pre-offer to the knocker %+v", sig)
	}
	mid, idx := "0", uint16(0)
	for _, bad := range []wire.Payload{
		{Candidate: &wire.Candidate{Candidate: "candidate:1 1 udp 1 192.0.2.1 9 typ host", SDPMid: &mid, SDPMLineIndex: &idx}},
		{SDP: &wire.SessionDescription{Type: "offer", SDP: "v=0\r\na=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n"}},
		{SDP: &wire.SessionDescription{Type: "answer", SDP: "v=0"}},
		{Restart: true},
	} {
		alice.fails(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: ga.User.JID, Payload: bad}, wire.CodeForbidden, wire.ReasonForbidden)
	}
	g.fails(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: jid("alice"),
		Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "answer", SDP: "v=0"}}}, wire.CodeForbidden, wire.ReasonForbidden)
	g.quiet(wire.EventSignal)
	alice.quiet(wire.EventSignal)

	// Let in, the guest answers like anyone joined.
	alice.must(wire.TypeCallAdmit, wire.AdmitRequest{RoomID: call.RoomID, UserJID: ga.User.JID}, nil)
	payload[wire.AdmissionEvent](t, g, wire.EventAdmission, nil)
	g.must(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: jid("alice"),
		Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "answer", SDP: "v=0"}}}, nil)
	payload[wire.SignalEvent](t, alice, wire.EventSignal, func(s wire.SignalEvent) bool { return s.From == ga.User.JID })
}
