package hub

import (
	"testing"

	"parley/app/wire"
)

// TestSignalReset relays the reset handshake of a page reloaded during a call
// (PROTOCOL.md "Coming back after a reload"): reset and resetDone are
// payloads of their own, relayed in order after what the sender sent before.
func TestSignalReset(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(t, alice, wire.TypeVideo, "bob")
	bob.callEvent(wire.EventIncoming)
	answer(t, bob, call)

	bob.must(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: jid("alice"), Payload: wire.Payload{Reset: true}}, nil)
	bob.must(wire.TypeCallSignal, offer(call.RoomID, "alice"), nil)
	reset, first := payload(t, alice, wire.EventSignal, func(s wire.SignalEvent) bool { return s.Payload.Reset })
	if reset.From != jid("bob") || reset.RoomID != call.RoomID || reset.Payload.SDP != nil {
		t.Fatalf("relayed reset %+v", reset)
	}
	_, then := payload(t, alice, wire.EventSignal, func(s wire.SignalEvent) bool { return s.Payload.SDP != nil })
	if then.Seq <= first.Seq {
		t.Fatalf("the offer (seq %d) overtook the reset (seq %d)", then.Seq, first.Seq)
	}
	alice.must(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: jid("bob"), Payload: wire.Payload{ResetDone: true}}, nil)
	if done, _ := payload(t, bob, wire.EventSignal, func(s wire.SignalEvent) bool { return s.Payload.ResetDone }); done.From != jid("alice") {
		t.Fatalf("relayed resetDone %+v", done)
	}
	// Still no empty payload.
	alice.fails(wire.TypeCallSignal, wire.SignalRequest{RoomID: call.RoomID, To: jid("bob")}, wire.CodeBadRequest, "bad_request")
}
