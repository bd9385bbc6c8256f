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

func TestGuestJoinsByLink(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	ref := connectCall(t, alice, bob, true)
	link, err := alice.CallLink(ctx(t)) // shares the 1:1 call's link
	if err != nil {
		t.Fatal(err)
	}

	ge, grec := newClient(t, srv, nil)
	guest := &client{Engine: ge, rec: grec, name: "guest"}
	isErrCode(t, ge.JoinCall(ctx(t)), wire.CodeCallEnded)
	isErrCode(t, ge.SubscribeCall(ctx(t), srv.URL+"/join/not-a-link", "Gina"), wire.CodeInvalidLink)
	if err := ge.SubscribeCall(ctx(t), link, "Gina"); err != nil {
		t.Fatal(err)
	}
	up := wait(t, grec, "the preview's users", func(v event.CallUsersUpdate) bool { return len(v.UsersList) == 2 })
	if up.RoomID != ref.RoomID {
		t.Fatalf("preview %+v", up)
	}
	if name, err := ge.GetCallUsername(alice.jid); err != nil || name != "User alice" {
		t.Fatalf("GetCallUsername(alice) = %q, %v", name, err)
	}
	u, _ := ge.User()
	if !u.Guest || u.DisplayName != "Gina" {
		t.Fatalf("guest identity %+v", u)
	}
	guest.jid = u.JID
	if name, err := ge.GetCallUsername(u.JID); err != nil || name != "Gina" {
		t.Fatalf("GetCallUsername(self) = %q, %v", name, err)
	}
	if req := knockIn(t, ge, alice); !req.Guest || req.DisplayName != "Gina" {
		t.Fatalf("join request %+v", req)
	}
	wait(t, alice.rec, "alice sees the guest join", func(v event.CallUserJoined) bool {
		return v.UserJID == u.JID && v.DisplayName == "Gina" && v.Guest
	})
	meshFlows(t, rtc.KindVideo, alice, bob, guest)

	// A second previewer sees the list change, then leaves the preview.
	pe, prec := newClient(t, srv, nil)
	if err := pe.SubscribeCall(ctx(t), link, "Pat"); err != nil {
		t.Fatal(err)
	}
	wait(t, prec, "three in the call", func(v event.CallUsersUpdate) bool { return len(v.UsersList) == 3 })
	if err := bob.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, prec, "bob left", func(v event.CallUsersUpdate) bool { return len(v.UsersList) == 2 })
	if err := pe.UnsubscribeCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, prec, "preview camera released", func(v event.UserTrack) bool { return v.LocalUser && v.TrackType == "video" && v.Track == nil })

	// A previewer who stays sees the list empty when the call ends.
	qe, qrec := newClient(t, srv, nil)
	if err := qe.SubscribeCall(ctx(t), link, "Quinn"); err != nil {
		t.Fatal(err)
	}
	wait(t, qrec, "two in the call", func(v event.CallUsersUpdate) bool { return len(v.UsersList) == 2 })

	// When the call ends, a link to it says so.
	_ = alice.EndCall(ctx(t))
	_ = ge.EndCall(ctx(t))
	wait(t, alice.rec, "alice's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && v.LocalUser })
	wait(t, qrec, "the preview's list empties", func(v event.CallUsersUpdate) bool { return len(v.UsersList) == 0 && v.RoomID == ref.RoomID })
	wait(t, qrec, "the preview's camera released", func(v event.UserTrack) bool { return v.LocalUser && v.TrackType == "video" && v.Track == nil })
	isErrCode(t, qe.JoinCall(ctx(t)), wire.CodeCallEnded)
	late, _ := newClient(t, srv, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := late.SubscribeCall(ctx(t), link, "Late")
		if ce, ok := err.(*call.Error); ok && ce.Code == wire.CodeCallEnded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribing to an ended call: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	isErrCode(t, late.SubscribeCall(ctx(t), "abc-defg-hij", "Late"), wire.CodeInvalidLink)
}

func TestMeetLink(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	ref, link, err := alice.CreateMeetLink(ctx(t), false, true) // open: no knock
	if err != nil {
		t.Fatal(err)
	}
	if link != srv.URL+"/join/"+ref.RoomLink {
		t.Fatalf("meet link %q", link)
	}
	for _, c := range []*client{alice, bob} {
		if err := c.SubscribeCall(ctx(t), link, ""); err != nil {
			t.Fatal(err)
		}
		if err := c.JoinCall(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	meshFlows(t, rtc.KindAudio, alice, bob)
	_ = alice.EndCall(ctx(t))
	bob.waitStatus(t, alice.jid, wire.StatusDisconnected)
	_ = bob.EndCall(ctx(t))
	wait(t, bob.rec, "bob's part ended", func(v event.CallStatus) bool { return v.Status == "ended" && v.LocalUser })
}
