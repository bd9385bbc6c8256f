//go:build !(js && wasm)

package call_test

import (
	"testing"
	"time"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
)

func TestVideoSwitch(t *testing.T) {
	srv := startServer(t, hub.Config{SwitchTimeout: time.Second})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	connectCall(t, alice, bob, false)

	// Declined, then cancelled, then timed out: the call stays a voice call.
	if err := alice.RequestVideoCallSwitch(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, bob.rec, "bob gets the request", func(v event.CallSwitch) bool { return v.Status == "request" && v.UserJID == alice.jid })
	if err := bob.DeclineVideoCallSwitchRequest(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, alice.rec, "alice gets the decline", func(v event.CallSwitch) bool { return v.Status == "decline" && v.UserJID == bob.jid })
	isErrCode(t, bob.AcceptVideoCallSwitchRequest(ctx(t)), wire.CodeConflict)

	if err := alice.RequestVideoCallSwitch(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := alice.CancelVideoCallSwitchRequest(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, bob.rec, "bob sees the cancel", func(v event.CallSwitch) bool { return v.Status == "cancel" })

	if err := bob.RequestVideoCallSwitch(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, alice.rec, "alice sees the timeout", func(v event.CallSwitch) bool { return v.Status == "timeout" })
	wait(t, bob.rec, "bob sees the timeout", func(v event.CallSwitch) bool { return v.Status == "timeout" })
	if c, _ := alice.CurrentCall(); c.Type != wire.TypeAudio {
		t.Fatalf("call type %q after a refused switch", c.Type)
	}

	// Accepted: video flows both ways in the same call, audio goes on.
	if err := alice.RequestVideoCallSwitch(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, bob.rec, "bob gets the second request", func(v event.CallSwitch) bool { return v.Status == "request" })
	if err := bob.AcceptVideoCallSwitchRequest(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, alice.rec, "alice gets the accept", func(v event.CallSwitch) bool { return v.Status == "accept" })
	alice.waitPackets(t, bob.jid, rtc.KindVideo, 10)
	bob.waitPackets(t, alice.jid, rtc.KindVideo, 10)
	bob.waitPackets(t, alice.jid, rtc.KindAudio, 10)
	wait(t, alice.rec, "alice's own camera", func(v event.UserTrack) bool { return v.LocalUser && v.TrackType == "video" && v.Track != nil })
	if c, _ := bob.CurrentCall(); c.Type != wire.TypeVideo || c.RoomID == "" {
		t.Fatalf("call after the switch: %+v", c)
	}
	isErrCode(t, alice.RequestVideoCallSwitch(ctx(t)), wire.CodeConflict)
}

func TestVideoSwitchInGroupIsRefused(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	if _, err := alice.MakeVoiceCall(ctx(t), []string{"bob", "carol"}, "g"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{bob, carol} {
		c.waitIncoming(t)
		if err := c.AnswerCall(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	alice.waitStatus(t, carol.jid, wire.StatusConnected)
	isErrCode(t, alice.RequestVideoCallSwitch(ctx(t)), wire.CodeForbidden)
}
