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

// The seed's API to the letter: the points where the engine had drifted from
// the contract.

func TestCallSizeUsesServerLimitAfterDuplicates(t *testing.T) {
	srv := startServer(t, hub.Config{MaxParticipants: 3})
	alice, bob, carol := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	register(t, srv, "dave")
	if got := alice.Limits().MaxParticipants; got != 3 {
		t.Fatalf("limits from the sign-in: MaxParticipants %d, want 3", got)
	}
	// Three people would be too many, four JIDs are given, but bob twice
	// (in two spellings) and alice herself count once and never.
	_, err := alice.MakeVoiceCall(ctx(t), []string{"bob", "BOB@localhost", alice.jid, "carol"}, "")
	if err != nil {
		t.Fatalf("bob, bob, yourself and carol are two others: %v", err)
	}
	bob.waitIncoming(t)
	carol.waitIncoming(t)
	if err := alice.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	_, err = alice.MakeVoiceCall(ctx(t), []string{"bob", "carol", "dave"}, "")
	isErrCode(t, err, wire.CodeCallFull)
}

func TestEndCallBeforeCreateReplyEndsItOnServer(t *testing.T) {
	// Ringing lasts a minute: only the fix can stop bob's phone in time.
	srv := startServer(t, hub.Config{RingTimeout: time.Minute})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	ended := make(chan error, 1)
	call.SetCreatedHook(alice.Engine, func() { ended <- alice.EndCall(ctx(t)) })
	_, err := alice.MakeVoiceCall(ctx(t), []string{"bob"}, "")
	isErrCode(t, err, wire.CodeCallEnded)
	if err := <-ended; err != nil {
		t.Fatalf("endCall while the call was being made: %v", err)
	}
	bob.waitIncoming(t)
	m := wait(t, bob.rec, "bob's ringing to stop", func(v event.MissedCall) bool { return true })
	if m.Status != wire.StatusEnded {
		t.Fatalf("bob's missed call status %q, want ended", m.Status)
	}
	if _, busy := alice.CurrentCall(); busy {
		t.Fatal("alice still has a call")
	}
	// And alice can call again at once.
	call.SetCreatedHook(alice.Engine, nil)
	if _, err := alice.MakeVoiceCall(ctx(t), []string{"bob"}, ""); err != nil {
		t.Fatalf("call again: %v", err)
	}
}

// gatedMedia opens devices only when the test says so, as a browser does
// while its permission prompt is up.
type gatedMedia struct {
	rtc.Media
	opening chan struct{} // closed when Open starts
	release chan struct{} // Open waits for it
}

func (m gatedMedia) Open(video bool) (*rtc.LocalMedia, error) {
	close(m.opening)
	<-m.release
	return m.Media.Open(video)
}

func TestEndCallWhileDevicesOpenCancelsTheCall(t *testing.T) {
	srv := startServer(t, hub.Config{})
	register(t, srv, "alice").Close()
	bob := register(t, srv, "bob")
	media := gatedMedia{Media: rtc.DefaultMedia(), opening: make(chan struct{}), release: make(chan struct{})}
	alice := login(t, srv, "alice", media)
	made := make(chan error, 1)
	go func() {
		_, err := alice.MakeVoiceCall(ctx(t), []string{"bob"}, "")
		made <- err
	}()
	<-media.opening
	if err := alice.EndCall(ctx(t)); err != nil {
		t.Fatalf("endCall while the microphone opens: %v", err)
	}
	close(media.release)
	isErrCode(t, <-made, wire.CodeCallEnded)
	if _, busy := alice.CurrentCall(); busy {
		t.Fatal("alice is still in a call")
	}
	// The call was never created, so bob's phone never rang.
	bob.Flush()
	if n := count(bob.rec, func(event.IncomingCall) bool { return true }); n != 0 {
		t.Fatalf("bob was rung %d times", n)
	}
	isErrCode(t, alice.EndCall(ctx(t)), wire.CodeNotInCall)
}

func TestInviteeHearsWhoInvitedAndEveryone(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	connectCall(t, alice, bob, false)
	if err := bob.InviteUsers(ctx(t), []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	in := carol.waitIncoming(t)
	if in.UserJID != bob.jid || in.From != bob.jid || in.UserDetails.DisplayName != "User "+bob.name {
		t.Fatalf("invitee's userJid %q from %q (%q), want the inviter %s", in.UserJID, in.From, in.UserDetails.DisplayName, bob.jid)
	}
	want := map[string]bool{alice.jid: true, bob.jid: true, carol.jid: true}
	if len(in.ToUsers) != len(want) {
		t.Fatalf("toUsers %v, want everyone in the call, you included", in.ToUsers)
	}
	for _, j := range in.ToUsers {
		if !want[j] {
			t.Fatalf("toUsers %v has %s", in.ToUsers, j)
		}
	}
}

func TestCallUsernameIgnoresCaseAndLinkNameOfSignedInUser(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	_, link, err := alice.CreateMeetLink(ctx(t), false, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.SubscribeCall(ctx(t), link, ""); err != nil {
		t.Fatal(err)
	}
	if err := alice.JoinCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// bob is signed in, and asks to be shown as someone else in this call.
	if err := bob.SubscribeCall(ctx(t), link, "Bobby in the lobby"); err != nil {
		t.Fatal(err)
	}
	if req := knockIn(t, bob.Engine, alice); req.Guest || req.DisplayName != "Bobby in the lobby" {
		t.Fatalf("join request %+v", req)
	}
	alice.waitStatus(t, bob.jid, wire.StatusConnected)
	for _, jid := range []string{bob.jid, "BOB@LOCALHOST", "Bob"} {
		name, err := alice.GetCallUsername(jid)
		if err != nil || name != "Bobby in the lobby" {
			t.Fatalf("GetCallUsername(%q) = %q, %v; want bob's name in this call", jid, name, err)
		}
	}
	if name, err := bob.GetCallUsername(""); err != nil || name != "Bobby in the lobby" {
		t.Fatalf("bob's own name in the call %q, %v", name, err)
	}
	if u, _ := bob.User(); u.DisplayName == "Bobby in the lobby" {
		t.Fatal("the account's display name changed")
	}
}
