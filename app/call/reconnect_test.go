//go:build !(js && wasm)

package call_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"parley/app/call"
	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
)

// waitConnected waits until c has heard CONNECTED n times on
// connectionListener (the first is the sign-in).
func (c *client) waitConnected(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for count(c.rec, func(v event.ConnectionStatus) bool { return v.Status == event.Connected }) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached CONNECTED #%d: %s", c.name, n, c.rec.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNth returns the n-th (from 1) event of type T that matches.
func waitNth[T any](t *testing.T, r *recorder, what string, n int, match func(T) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for count(r, match) < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (#%d); events: %s", what, n, r.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mediaFlowsFor checks again and again, for at least d (at least once),
// that more audio packets arrive on both sides: media does not need the
// server.
func mediaFlowsFor(t *testing.T, a, b *client, d time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		a.waitPackets(t, b.jid, rtc.KindAudio, 10)
		b.waitPackets(t, a.jid, rtc.KindAudio, 10)
		if time.Since(start) >= d {
			return
		}
	}
}

// connectionStatuses are the statuses c heard on connectionListener, in order.
func connectionStatuses(c *client) []string {
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	var out []string
	for _, ev := range c.rec.events {
		if v, ok := ev.(event.ConnectionStatus); ok {
			out = append(out, v.Status)
		}
	}
	return out
}

// callStillWorks proves that a and b are still in the call ref, with the
// same peer connections as before (track is the one b had from a), and that
// every call API still works in it: mute and unmute reach the other side,
// custom data goes both ways, media flows, and ending it ends it for both.
func callStillWorks(t *testing.T, a, b *client, ref call.CallRef, track *rtc.RemoteTrack) {
	t.Helper()
	for _, c := range []*client{a, b} {
		cur, ok := c.CurrentCall()
		if !ok || cur.RoomID != ref.RoomID {
			t.Fatalf("%s is no longer in call %s (current %+v, %v): %s", c.name, ref.RoomID, cur, ok, c.rec.dump())
		}
	}
	if got := b.rec.track(a.jid, rtc.KindAudio); got != track {
		t.Errorf("%s's audio track from %s was replaced: the peer connection was rebuilt: %s", b.name, a.name, b.rec.dump())
	}
	if n := count(b.rec, func(v event.UserTrack) bool { return v.UserJID == a.jid && v.Track == nil }); n != 0 {
		t.Errorf("%s lost %s's tracks %d times: the peer connection was closed", b.name, a.name, n)
	}
	for _, x := range [][2]*client{{a, b}, {b, a}} {
		from, to := x[0], x[1]
		if err := from.MuteAudio(ctx(t), true); err != nil {
			t.Fatalf("%s mutes: %v", from.name, err)
		}
		wait(t, to.rec, to.name+" sees "+from.name+" muted", func(v event.MuteStatus) bool {
			return v.UserJID == from.jid && v.TrackType == rtc.KindAudio && v.IsMuted
		})
		if err := from.MuteAudio(ctx(t), false); err != nil {
			t.Fatalf("%s unmutes: %v", from.name, err)
		}
		wait(t, to.rec, to.name+" sees "+from.name+" unmuted", func(v event.MuteStatus) bool {
			return v.UserJID == from.jid && v.TrackType == rtc.KindAudio && !v.IsMuted
		})
		msg := fmt.Sprintf(`{"from":%q}`, from.name)
		if err := from.SendCustomData(ctx(t), json.RawMessage(msg)); err != nil {
			t.Fatalf("%s sends custom data: %v", from.name, err)
		}
		wait(t, to.rec, to.name+" gets "+from.name+"'s data", func(v event.CustomData) bool {
			return v.From.UserJID == from.jid && string(v.Data) == msg
		})
	}
	mediaFlowsFor(t, a, b, 0)
	if err := b.EndCall(ctx(t)); err != nil {
		t.Fatalf("%s ends: %v", b.name, err)
	}
	for _, c := range []*client{a, b} {
		wait(t, c.rec, c.name+"'s call ended for all", func(v event.CallStatus) bool {
			return v.Status == wire.StatusEnded && v.LocalUser && v.RoomID == ref.RoomID && closed(v)
		})
		if _, ok := c.CurrentCall(); ok {
			t.Errorf("%s is still in a call after it ended", c.name)
		}
	}
}

// TestSignallingAwayKeepsCall drops bob's signalling for seconds in a call
// (his network to the server goes away, the peer-to-peer path stays): the
// media keeps flowing both ways, nothing closes the peer connections, and
// once bob is back the same call works in every respect.
func TestSignallingAwayKeepsCall(t *testing.T) {
	srv := startServer(t, hub.Config{ResumeGrace: time.Minute})
	proxy := newCutProxy(t, srv.URL)
	alice, bob := register(t, srv, "alice"), registerAt(t, proxy.URL, "bob")
	ref := connectCall(t, alice, bob, false)
	mediaFlowsFor(t, alice, bob, 0)
	track := bob.rec.track(alice.jid, rtc.KindAudio)

	proxy.cut()
	wait(t, bob.rec, "bob reconnecting", func(v event.ConnectionStatus) bool { return v.Status == event.Reconnecting })
	alice.waitStatus(t, bob.jid, wire.StatusReconnecting)
	mediaFlowsFor(t, alice, bob, 3*time.Second)
	if got := connectionStatuses(bob); len(got) != 2 {
		t.Fatalf("bob's connection went %v through a cut network", got)
	}

	proxy.mend()
	bob.waitConnected(t, 2)
	waitNth(t, alice.rec, "alice sees bob connected again", 2, func(v event.CallStatus) bool {
		return v.UserJID == bob.jid && v.Status == wire.StatusConnected
	})
	callStillWorks(t, alice, bob, ref, track)
}

// TestResumeWithoutCallEndsCall: while bob is away his call ends, and the
// event saying so is lost (the server keeps one event per session here);
// bob's session resumes with no call in the reply, and that alone ends the
// call on his device.
func TestResumeWithoutCallEndsCall(t *testing.T) {
	srv := startServer(t, hub.Config{ResumeGrace: time.Minute, MaxReplayBytes: 1})
	proxy := newCutProxy(t, srv.URL)
	alice, carol, bob := register(t, srv, "alice"), register(t, srv, "carol"), registerAt(t, proxy.URL, "bob")
	ref := connectCall(t, alice, bob, false)

	proxy.cut()
	wait(t, bob.rec, "bob reconnecting", func(v event.ConnectionStatus) bool { return v.Status == event.Reconnecting })
	alice.waitStatus(t, bob.jid, wire.StatusReconnecting)
	if err := alice.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Carol's ring is bob's newest event: the call's end is no longer kept.
	if _, err := carol.MakeVoiceCall(ctx(t), []string{bob.jid}, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := bob.CurrentCall(); !ok {
		t.Fatal("bob left the call while his network was away")
	}

	proxy.mend()
	bob.waitConnected(t, 2)
	wait(t, bob.rec, "bob's call ended", func(v event.CallStatus) bool {
		return v.Status == wire.StatusEnded && v.LocalUser && v.RoomID == ref.RoomID
	})
	if _, ok := bob.CurrentCall(); ok {
		t.Fatal("bob is still in a call the server no longer has him in")
	}
	wait(t, bob.rec, "bob rings for carol", func(v event.IncomingCall) bool { return v.UserJID == carol.jid })
}

// TestServerRestartSignsBackIn: the server process goes away and a new one
// starts on the same address and store. A signed-in user who is in no call
// hears RECONNECTING then CONNECTED, signs back in with a fresh session of
// the same sign-in, and can make a call.
func TestServerRestartSignsBackIn(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice := register(t, srv, "alice")
	token := alice.Token()

	srv.stop(t)
	wait(t, alice.rec, "alice reconnecting", func(v event.ConnectionStatus) bool { return v.Status == event.Reconnecting })
	srv.start(t)
	alice.waitConnected(t, 2)
	want := []string{event.Connected, event.Reconnecting, event.Connected}
	if got := connectionStatuses(alice); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("alice's connection went %v, want %v", got, want)
	}
	if alice.Token() != token {
		t.Error("alice's sign-in token changed over a restart")
	}

	bob := register(t, srv, "bob")
	connectCall(t, alice, bob, false)
	mediaFlowsFor(t, alice, bob, 0)
}

// TestServerRestartKeepsCall: the server process goes away during a call and
// a new one starts on the same address and store. Media flows peer to peer
// meanwhile; both sides resume their sessions into the same call, which then
// works in every respect.
func TestServerRestartKeepsCall(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	ref := connectCall(t, alice, bob, false)
	mediaFlowsFor(t, alice, bob, 0)
	track := bob.rec.track(alice.jid, rtc.KindAudio)

	srv.stop(t)
	for _, c := range []*client{alice, bob} {
		wait(t, c.rec, c.name+" reconnecting", func(v event.ConnectionStatus) bool { return v.Status == event.Reconnecting })
	}
	mediaFlowsFor(t, alice, bob, 3*time.Second)
	srv.start(t)
	for _, c := range []*client{alice, bob} {
		c.waitConnected(t, 2)
	}
	callStillWorks(t, alice, bob, ref, track)
}

// TestRequestWaitsOutReconnect: what the user asks for while the engine is
// reconnecting (the server away for a moment) goes through once the session
// is back, instead of failing at once with 100620.
func TestRequestWaitsOutReconnect(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice := register(t, srv, "alice")

	srv.stop(t)
	wait(t, alice.rec, "alice reconnecting", func(v event.ConnectionStatus) bool { return v.Status == event.Reconnecting })
	logs := make(chan error, 1)
	go func() {
		_, err := alice.GetCallLogs(ctx(t), 1)
		logs <- err
	}()
	// The request is made while the server is away; it must not have failed
	// by the time the server is back (it used to, at once).
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-logs:
		t.Fatalf("the request ended while the server was away: %v", err)
	default:
	}
	srv.start(t)
	if err := <-logs; err != nil {
		t.Fatalf("the request made while reconnecting: %v", err)
	}
}
