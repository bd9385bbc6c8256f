//go:build !(js && wasm)

package call_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

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

func TestInviteIntoRunningCall(t *testing.T) {
	srv := startServer(t, hub.Config{MaxParticipants: 3})
	alice, bob, carol, dave := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol"), register(t, srv, "dave")
	isErrCode(t, dave.InviteUsers(ctx(t), []string{"alice"}), wire.CodeNotInCall)
	connectCall(t, alice, bob, false)
	if err := alice.InviteUsers(ctx(t), []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	iv := wait(t, bob.rec, "bob hears of the invite", func(event.InviteUsers) bool { return true })
	if iv.UserJID != alice.jid || len(iv.InviteUsers) != 1 || iv.InviteUsers[0] != carol.jid {
		t.Fatalf("invite payload %+v", iv)
	}
	carol.waitIncoming(t)
	if err := carol.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	meshFlows(t, rtc.KindAudio, alice, bob, carol)
	if c, _ := alice.CurrentCall(); c.Mode != wire.ModeOneToMany {
		t.Fatalf("mode after an invite: %q", c.Mode)
	}
	// Over the cap: nothing changes.
	isErrCode(t, bob.InviteUsers(ctx(t), []string{"dave"}), wire.CodeCallFull)
	dave.Flush()
	if n := count(dave.rec, func(event.IncomingCall) bool { return true }); n != 0 {
		t.Fatal("dave rang for a refused invite")
	}
	for _, c := range []*client{carol, bob, alice} {
		_ = c.EndCall(ctx(t))
	}
	logs, err := carol.GetCallLogs(ctx(t), 1)
	if err != nil || len(logs.CallLogs) != 1 || len(logs.CallLogs[0].InviteUserList) != 1 || logs.CallLogs[0].CallState != "incoming" {
		t.Fatalf("carol's logs %+v %v", logs, err)
	}
}

func TestVideoSwitch(t *testing.T) {
	srv := startServer(t, hub.Config{SwitchTimeout: 300 * time.Millisecond})
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

func TestCustomData(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol, dave := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol"), register(t, srv, "dave")
	isErrCode(t, alice.SendCustomData(ctx(t), json.RawMessage(`"hi"`)), wire.CodeNotInCall)
	if _, err := alice.MakeVoiceCall(ctx(t), []string{"bob", "carol"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{bob, carol} {
		c.waitIncoming(t)
		if err := c.AnswerCall(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	alice.waitStatus(t, carol.jid, wire.StatusConnecting)
	var got [2][]int
	var mu sync.Mutex
	for i, c := range []*client{bob, carol} {
		c.SetEventSink(func(ev event.Event) {
			d, ok := ev.(event.CustomData)
			var m struct{ N int }
			if ok && json.Unmarshal(d.Data, &m) == nil && d.From.UserJID == alice.jid {
				mu.Lock()
				got[i] = append(got[i], m.N)
				mu.Unlock()
			}
		})
	}
	outsider := 0
	dave.SetEventSink(func(ev event.Event) {
		if _, ok := ev.(event.CustomData); ok {
			outsider++
		}
	})
	const n = 50
	for i := 0; i < n; i++ {
		if err := alice.SendCustomData(ctx(t), json.RawMessage(fmt.Sprintf(`{"n":%d,"text":"message"}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, wire.MaxCustomDataBytes+1)
	for i := range big {
		big[i] = '1'
	}
	isErrCode(t, alice.SendCustomData(ctx(t), big), wire.CodeBadRequest)
	isErrCode(t, alice.SendCustomData(ctx(t), json.RawMessage(`{not json`)), wire.CodeBadRequest)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := len(got[0]) == n && len(got[1]) == n
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("custom data received: bob %d, carol %d of %d", len(got[0]), len(got[1]), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, g := range got {
		for i, v := range g {
			if v != i {
				t.Fatalf("custom data out of order: %v", g)
			}
		}
	}
	dave.Flush()
	if outsider != 0 {
		t.Fatalf("an outsider received %d messages", outsider)
	}
}

func TestGuestJoinsByLink(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	ref := connectCall(t, alice, bob, true)
	link, err := alice.CallLink()
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
	if err := ge.JoinCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, alice.rec, "alice sees the guest join", func(v event.CallUserJoined) bool { return v.UserJID == u.JID && v.DisplayName == "Gina" })
	meshFlows(t, rtc.KindVideo, alice, bob, guest)

	// A second previewer sees the list change, then leaves the preview.
	pe, prec := newClient(t, srv, nil)
	if err := pe.SubscribeCall(ctx(t), ref.RoomLink, "Pat"); err != nil {
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
	ref, link, err := alice.CreateMeetLink(ctx(t), false)
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
