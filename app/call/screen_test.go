//go:build !(js && wasm)

package call_test

import (
	"testing"
	"time"

	"parley/app/call"
	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
)

// flowing waits until c has a remote track of jid/kind and the latest one
// receives n more packets.
func (c *client) flowing(t *testing.T, jid, kind string, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	rt := c.rec.track(jid, kind)
	for ; rt == nil; rt = c.rec.track(jid, kind) {
		if time.Now().After(deadline) {
			t.Fatalf("%s has no %s track from %s; events: %s", c.name, kind, jid, c.rec.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := rt.Packets()
	for rt.Packets() < start+n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: only %d %s packets from %s", c.name, rt.Packets()-start, kind, jid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sharing(jid string, on bool) func(event.ScreenShare) bool {
	return func(v event.ScreenShare) bool { return v.UserJID == jid && v.Sharing == on }
}

func screenTrack(jid string, present bool) func(event.UserTrack) bool {
	return func(v event.UserTrack) bool {
		return v.UserJID == jid && v.TrackType == rtc.KindScreen && (v.Track != nil) == present
	}
}

// TestScreenShareGroup: in a group video call one participant at a time
// shares a screen on the third transceiver while cameras keep going; a late
// joiner gets the running share; a second sharer replaces the first;
// stopping and leaving end a share; the wrong requests fail typed.
func TestScreenShareGroup(t *testing.T) {
	srv := startServer(t, hub.Config{RingTimeout: 5 * time.Minute}) // carol answers late
	alice, bob, carol, dave := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol"), register(t, srv, "dave")
	if _, err := alice.MakeVideoCall(ctx(t), []string{"bob", "carol"}, "team"); err != nil {
		t.Fatal(err)
	}
	bob.waitIncoming(t)
	if err := bob.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	carol.waitIncoming(t)
	alice.waitPackets(t, bob.jid, rtc.KindVideo, 10)

	isErrCode(t, dave.ShareScreen(ctx(t)), wire.CodeNotInCall)  // in no call
	isErrCode(t, carol.ShareScreen(ctx(t)), wire.CodeNotInCall) // still ringing
	isErrCode(t, bob.StopScreenShare(ctx(t)), wire.CodeConflict)

	// Bob shares: alice gets his screen while his camera still flows.
	if err := bob.ShareScreen(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, bob.rec, "bob's own screen track", func(v event.UserTrack) bool {
		return v.LocalUser && v.TrackType == rtc.KindScreen && v.Track != nil
	})
	wait(t, alice.rec, "alice hears bob shares", sharing(bob.jid, true))
	alice.waitPackets(t, bob.jid, rtc.KindScreen, 20)
	alice.flowing(t, bob.jid, rtc.KindVideo, 20)
	if c, _ := alice.CurrentCall(); c.ScreenSharer != bob.jid {
		t.Fatalf("alice's snapshot names %q as the sharer, want bob", c.ScreenSharer)
	}
	isErrCode(t, bob.ShareScreen(ctx(t)), wire.CodeConflict)

	// Carol joins late: she gets the running share.
	if err := carol.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, carol.rec, "carol hears bob shares", sharing(bob.jid, true))
	carol.waitPackets(t, bob.jid, rtc.KindScreen, 20)
	carol.waitPackets(t, bob.jid, rtc.KindVideo, 10)
	wait(t, alice.rec, "carol's status naming the sharer", func(v event.CallStatus) bool {
		return v.UserJID == carol.jid && v.Status == wire.StatusConnecting && v.ScreenSharer == bob.jid
	})

	// Alice shares: hers replaces bob's, whose capture ends.
	if err := alice.ShareScreen(ctx(t)); err != nil {
		t.Fatal(err)
	}
	ended := wait(t, bob.rec, "bob hears his share was replaced", sharing(bob.jid, false))
	if !ended.Replaced || ended.ReplacedBy != alice.jid || !ended.LocalUser {
		t.Errorf("bob's share ended as %+v, want replaced by alice", ended)
	}
	wait(t, bob.rec, "bob's own screen track ends", func(v event.UserTrack) bool {
		return v.LocalUser && v.TrackType == rtc.KindScreen && v.Track == nil
	})
	if started := wait(t, carol.rec, "carol hears alice shares", sharing(alice.jid, true)); started.Replacing != bob.jid {
		t.Errorf("alice's share started as %+v, want replacing bob", started)
	}
	wait(t, carol.rec, "bob's screen leaves carol's view", screenTrack(bob.jid, false))
	carol.waitPackets(t, alice.jid, rtc.KindScreen, 20)
	bob.waitPackets(t, alice.jid, rtc.KindScreen, 20)
	bob.flowing(t, alice.jid, rtc.KindVideo, 20)
	isErrCode(t, bob.StopScreenShare(ctx(t)), wire.CodeConflict) // replaced: nothing left to stop

	// Alice stops.
	if err := alice.StopScreenShare(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{bob, carol} {
		wait(t, c.rec, c.name+" hears alice stopped", func(v event.ScreenShare) bool {
			return v.UserJID == alice.jid && !v.Sharing && !v.Replaced
		})
		wait(t, c.rec, c.name+" loses alice's screen", screenTrack(alice.jid, false))
	}
	isErrCode(t, alice.StopScreenShare(ctx(t)), wire.CodeConflict)

	// Bob shares again (the same sender, a new capture), then leaves: the
	// share ends with him.
	from := carol.rec.mark()
	if err := bob.ShareScreen(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitAt(t, carol.rec, from, "carol hears bob shares again", sharing(bob.jid, true))
	carol.flowing(t, bob.jid, rtc.KindScreen, 20)
	if err := bob.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{alice, carol} {
		c.waitStatus(t, bob.jid, wire.StatusDisconnected)
		wait(t, c.rec, c.name+" sees bob's share end with him", func(v event.ScreenShare) bool {
			return v.UserJID == bob.jid && !v.Sharing && !v.Replaced
		})
		if cur, _ := c.CurrentCall(); cur.ScreenSharer != "" {
			t.Errorf("%s: sharer %q after bob left", c.name, cur.ScreenSharer)
		}
	}
}

// TestScreenShareDenied: a cancelled screen picker fails with the typed
// error, reports it on mediaErrorListener, and starts no share.
func TestScreenShareDenied(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice := register(t, srv, "alice")
	register(t, srv, "erin")
	erin := login(t, srv, "erin", rtc.SyntheticMedia{DenyScreen: true})
	connectCall(t, alice, erin, true)
	isErrCode(t, erin.ShareScreen(ctx(t)), wire.CodeScreenDenied)
	if me := wait(t, erin.rec, "the media error", func(event.MediaError) bool { return true }); me.Device != "screen" || me.StatusCode != wire.CodeScreenDenied {
		t.Errorf("media error %+v", me)
	}
	// Nothing changed: alice can share, and erin is not sharing.
	isErrCode(t, erin.StopScreenShare(ctx(t)), wire.CodeConflict)
	if err := alice.ShareScreen(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := count(erin.rec, func(v event.ScreenShare) bool { return v.UserJID == erin.jid }); n != 0 {
		t.Errorf("%d screen share events for erin's refused share", n)
	}
	erin.waitPackets(t, alice.jid, rtc.KindScreen, 10)
}

// bobSharing starts a server and a video call of alice and bob in which bob
// shares his screen, which alice receives.
func bobSharing(t *testing.T) (*testServer, *client, *client) {
	t.Helper()
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	connectCall(t, alice, bob, true)
	if err := bob.ShareScreen(ctx(t)); err != nil {
		t.Fatal(err)
	}
	alice.waitPackets(t, bob.jid, rtc.KindScreen, 10)
	return srv, alice, bob
}

// TestScreenShareEndsOnReload: a sharer's page reloads into the call; the new
// page has no capture, so it ends the share the server still names it for,
// and then can share again, which the other side receives.
func TestScreenShareEndsOnReload(t *testing.T) {
	srv, alice, bob := bobSharing(t)
	from := alice.rec.mark()
	bob2 := reload(t, srv, bob)
	waitAt(t, alice.rec, from, "alice sees bob's share end", sharing(bob.jid, false))
	wait(t, bob2.rec, "the reloaded page hears its old share end", func(v event.ScreenShare) bool {
		return v.UserJID == bob.jid && v.LocalUser && !v.Sharing
	})
	if c, _ := bob2.CurrentCall(); c.ScreenSharer != "" {
		t.Fatalf("sharer %q after the reload", c.ScreenSharer)
	}
	if err := bob2.ShareScreen(ctx(t)); err != nil {
		t.Fatal(err)
	}
	waitAt(t, alice.rec, from, "alice sees bob share again", sharing(bob.jid, true))
	alice.waitNewPackets(t, bob.jid, rtc.KindScreen, nil, 10)
}

// TestScreenShareAgainBeforeTheQueueRuns: stopping and sharing again while
// the page's work queue lags (a busy page) keeps the new share: the late
// stop ends only the track it was for, and the stop's late snapshot (naming
// nobody) does not end the new share. Before, the lagging stop ended the new
// capture, and the late snapshots ended the share on this side.
func TestScreenShareAgainBeforeTheQueueRuns(t *testing.T) {
	_, alice, bob := bobSharing(t)
	release := call.HoldWork(bob.Engine)
	if err := bob.StopScreenShare(ctx(t)); err != nil {
		release()
		t.Fatal(err)
	}
	if err := bob.ShareScreen(ctx(t)); err != nil {
		release()
		t.Fatal(err)
	}
	release()
	stillSharing(t, alice, bob)
}

// stillSharing checks that sharer's share is on after something else
// changes the call (alice mutes, so that a snapshot after every late one
// names the sharer): the server and sharer name it, other receives the
// screen, and the share's stop succeeds.
func stillSharing(t *testing.T, other, sharer *client) {
	t.Helper()
	if err := other.MuteAudio(ctx(t), true); err != nil {
		t.Fatal(err)
	}
	wait(t, sharer.rec, "the sharer sees the other muted", func(v event.MuteStatus) bool { return v.UserJID == other.jid && v.IsMuted })
	if c, _ := sharer.CurrentCall(); c.ScreenSharer != sharer.jid {
		t.Fatalf("sharer %q, want %s", c.ScreenSharer, sharer.jid)
	}
	other.flowing(t, sharer.jid, rtc.KindScreen, 10)
	if err := sharer.StopScreenShare(ctx(t)); err != nil {
		t.Fatalf("stopping the share: %v", err)
	}
}

// TestScreenShareQuickToggles: sharing right after stopping is not undone
// by the late snapshot of the stop (which names nobody): each share stays
// on until stopped, and its stop succeeds.
func TestScreenShareQuickToggles(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	connectCall(t, alice, bob, true)
	for i := 0; i < 10; i++ {
		if err := bob.ShareScreen(ctx(t)); err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
		if err := bob.StopScreenShare(ctx(t)); err != nil {
			t.Fatalf("stop %d: %v", i, err)
		}
	}
	if err := bob.ShareScreen(ctx(t)); err != nil {
		t.Fatal(err)
	}
	stillSharing(t, alice, bob)
}
