//go:build !(js && wasm)

package call_test

import (
	"sync"
	"testing"

	"parley/app/call"
	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
)

// meshFlows waits until every client receives kind packets from every other.
func meshFlows(t *testing.T, kind string, clients ...*client) {
	t.Helper()
	for _, c := range clients {
		for _, o := range clients {
			if c != o {
				c.waitPackets(t, o.jid, kind, 10)
			}
		}
	}
}

// videoLimited checks that c has peers to n others, each asked to send its
// video at want (call.VideoLimits).
func videoLimited(t *testing.T, c *client, n int, want rtc.VideoLimit) {
	t.Helper()
	got := call.VideoLimits(c.Engine)
	if len(got) != n {
		t.Fatalf("%s's peers %v: want %d", c.name, got, n)
	}
	for jid, l := range got {
		if l != want {
			t.Fatalf("%s sends %s video at %+v, want %+v", c.name, jid, l, want)
		}
	}
}

func TestGroupVoiceCallOfFour(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol, dave := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol"), register(t, srv, "dave")
	if _, err := alice.MakeVoiceCall(ctx(t), []string{"bob", "carol", "dave"}, "team"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{bob, carol, dave} {
		in := c.waitIncoming(t)
		if in.CallMode != "onetomany" || in.GroupID == nil || *in.GroupID != "team" || len(in.ToUsers) != 3 {
			t.Fatalf("%s's incoming call: %+v", c.name, in)
		}
		if err := c.AnswerCall(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	everyone := []*client{alice, bob, carol, dave}
	meshFlows(t, rtc.KindAudio, everyone...)
	wait(t, alice.rec, "alice sees dave join", func(v event.CallUserJoined) bool { return v.UserJID == dave.jid && v.DisplayName == "User dave" })
	// Four people: everyone sends each of the three others half-size video,
	// whoever made the offer.
	half := rtc.VideoLimit{ScaleDown: 2, MaxBitrate: 400_000}
	for _, c := range everyone {
		videoLimited(t, c, 3, half)
	}

	// carol leaves; the other three go on.
	if err := carol.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{alice, bob, dave} {
		c.waitStatus(t, carol.jid, wire.StatusDisconnected)
		wait(t, c.rec, c.name+" sees carol leave", func(v event.CallUserLeft) bool { return v.UserJID == carol.jid })
	}
	wait(t, carol.rec, "carol's part ended", func(v event.CallStatus) bool { return v.Status == "ended" && v.LocalUser && v.SessionStatus == nil })
	meshFlows(t, rtc.KindAudio, alice, bob, dave)
	for _, c := range []*client{alice, bob, dave} { // three again: full size
		videoLimited(t, c, 2, rtc.VideoLimit{})
	}
	if c, ok := bob.CurrentCall(); !ok || c.State != wire.CallStateActive {
		t.Fatalf("bob's call after carol left: %+v", c)
	}
	// Down to one: the call ends for the last one.
	if err := bob.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := dave.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, alice.rec, "alice's call closed", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })
}

func TestGroupVideoCallOfThree(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	if _, err := alice.MakeVideoCall(ctx(t), []string{"bob", "carol"}, ""); err != nil {
		t.Fatal(err)
	}
	// Both callees answer at the same instant.
	bob.waitIncoming(t)
	carol.waitIncoming(t)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, c := range []*client{bob, carol} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.AnswerCall(ctx(t))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	meshFlows(t, rtc.KindVideo, alice, bob, carol)
	meshFlows(t, rtc.KindAudio, alice, bob, carol)
}
