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

func closed(v event.CallStatus) bool { return v.SessionStatus != nil && *v.SessionStatus == "closed" }

func TestVoiceCall(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")

	ref, err := alice.MakeVoiceCall(ctx(t), []string{"bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ref.RoomID == "" || ref.RoomLink != "" { // a 1:1 call's link is hidden until shared (CallLink)
		t.Fatalf("call ref %+v: want a room ID and no link", ref)
	}
	alice.waitStatus(t, bob.jid, wire.StatusCalling)
	alice.waitStatus(t, bob.jid, wire.StatusRinging)
	in := bob.waitIncoming(t)
	if in.UserJID != alice.jid || in.From != alice.jid || in.CallType != "audio" || in.CallMode != "onetoone" ||
		in.RoomID != ref.RoomID || in.Status != "calling" || in.UserDetails.DisplayName != "User alice" || in.GroupID != nil {
		t.Fatalf("incoming call payload %+v", in)
	}
	if len(in.ToUsers) != 1 || in.ToUsers[0] != bob.jid {
		t.Fatalf("toUsers %v", in.ToUsers)
	}
	if err := bob.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	alice.waitStatus(t, bob.jid, wire.StatusConnecting)
	alice.waitStatus(t, bob.jid, wire.StatusConnected)
	bob.waitStatus(t, alice.jid, wire.StatusConnected)

	// Audio flows both ways; a voice call shows no video.
	bob.waitPackets(t, alice.jid, rtc.KindAudio, 20)
	alice.waitPackets(t, bob.jid, rtc.KindAudio, 20)
	if n := count(bob.rec, func(v event.UserTrack) bool { return v.TrackType == "video" && !v.LocalUser }); n != 0 {
		t.Fatalf("voice call reported %d remote video tracks", n)
	}
	// Local tracks are reported as localUser.
	wait(t, alice.rec, "alice's own audio track", func(v event.UserTrack) bool {
		return v.LocalUser && v.UserJID == alice.jid && v.TrackType == "audio" && v.Track != nil
	})

	if c, ok := alice.CurrentCall(); !ok || c.RoomID != ref.RoomID || c.State != wire.CallStateActive {
		t.Fatalf("alice's current call %+v %v", c, ok)
	}
	time.Sleep(50 * time.Millisecond) // a measurable duration for the logs
	if err := alice.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, alice.rec, "alice's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && v.LocalUser && closed(v) })
	bob.waitStatus(t, alice.jid, wire.StatusDisconnected)
	wait(t, bob.rec, "bob's call ended for everyone", func(v event.CallStatus) bool { return v.Status == "ended" && v.LocalUser && closed(v) })
	wait(t, bob.rec, "alice's audio track gone", func(v event.UserTrack) bool {
		return v.UserJID == alice.jid && v.Track == nil
	})
	if _, ok := bob.CurrentCall(); ok {
		t.Fatal("bob still has a current call")
	}

	// Both call logs, with the contract's fields.
	for _, c := range []*client{alice, bob} {
		page, err := c.GetCallLogs(ctx(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.CallLogs) != 1 || page.TotalPages != 1 {
			t.Fatalf("%s's logs: %+v", c.name, page)
		}
		l := page.CallLogs[0]
		want := "incoming"
		if c == alice {
			want = "outgoing"
		}
		if l.CallState != want || l.RoomID != ref.RoomID || l.RoomLink != ref.RoomLink || l.CallType != "audio" ||
			l.CallMode != "onetoone" || l.FromUser != alice.jid || len(l.ToUsers) != 1 || l.ToUsers[0] != bob.jid ||
			len(l.UserList) != 2 || l.GroupID != nil || l.StartTime == nil || l.Duration <= 0 ||
			l.EndTime < *l.StartTime || l.CallTime > *l.StartTime || l.InviteUserList == nil {
			t.Fatalf("%s's log entry: %+v", c.name, l)
		}
	}
}

func TestVideoCall(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	connectCall(t, alice, bob, true)
	for _, kind := range []string{rtc.KindAudio, rtc.KindVideo} {
		bob.waitPackets(t, alice.jid, kind, 15)
		alice.waitPackets(t, bob.jid, kind, 15)
	}
	// The callee hangs up: the caller sees the callee leave and the call close.
	if err := bob.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	alice.waitStatus(t, bob.jid, wire.StatusDisconnected)
	wait(t, alice.rec, "alice's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })
	wait(t, alice.rec, "bob's video gone", func(v event.UserTrack) bool {
		return v.UserJID == bob.jid && v.TrackType == "video" && v.Track == nil
	})
}

func TestDecline(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	if _, err := alice.MakeVideoCall(ctx(t), []string{bob.jid}, ""); err != nil {
		t.Fatal(err)
	}
	bob.waitIncoming(t)
	if err := bob.DeclineCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	alice.waitStatus(t, bob.jid, wire.StatusDeclined)
	wait(t, alice.rec, "alice's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })
	if _, ok := bob.Incoming(); ok {
		t.Fatal("bob still rings after declining")
	}
	logs, err := bob.GetCallLogs(ctx(t), 1)
	if err != nil || len(logs.CallLogs) != 1 || logs.CallLogs[0].CallState != "declined" || logs.CallLogs[0].StartTime != nil {
		t.Fatalf("bob's logs %+v %v", logs, err)
	}
	// Nothing half-made: alice can call again at once.
	if _, err := alice.MakeVoiceCall(ctx(t), []string{bob.jid}, ""); err != nil {
		t.Fatalf("calling again after a decline: %v", err)
	}
}

func TestNoAnswer(t *testing.T) {
	srv := startServer(t, hub.Config{RingTimeout: 300 * time.Millisecond})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	ref, err := alice.MakeVoiceCall(ctx(t), []string{bob.jid}, "")
	if err != nil {
		t.Fatal(err)
	}
	bob.waitIncoming(t)
	alice.waitStatus(t, bob.jid, wire.StatusNoAnswer)
	wait(t, alice.rec, "alice's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })
	m := wait(t, bob.rec, "bob's missed call", func(v event.MissedCall) bool { return true })
	if m.Status != "noanswer" || m.RoomID != ref.RoomID || m.UserJID != alice.jid {
		t.Fatalf("missed call payload %+v", m)
	}
	if err := bob.AnswerCall(ctx(t)); err == nil {
		t.Fatal("answering a missed call succeeded")
	}
	logs, err := bob.GetCallLogs(ctx(t), 1)
	if err != nil || len(logs.CallLogs) != 1 || logs.CallLogs[0].CallState != "missed" {
		t.Fatalf("bob's logs %+v %v", logs, err)
	}
}

func TestCancelBeforeAnswer(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	if _, err := alice.MakeVoiceCall(ctx(t), []string{bob.jid}, ""); err != nil {
		t.Fatal(err)
	}
	bob.waitIncoming(t)
	if err := alice.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	m := wait(t, bob.rec, "bob's missed call", func(v event.MissedCall) bool { return true })
	if m.Status != "ended" {
		t.Fatalf("missed status %q, want ended", m.Status)
	}
	if _, ok := bob.Incoming(); ok {
		t.Fatal("bob still rings after the caller hung up")
	}
}

func TestEngaged(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	connectCall(t, alice, bob, false)
	if _, err := carol.MakeVoiceCall(ctx(t), []string{bob.jid}, ""); err != nil {
		t.Fatal(err)
	}
	// Already said when MakeVoiceCall returns, so a page can show why.
	if n := count(carol.rec, func(v event.CallStatus) bool { return v.Status == "ended" }); n == 0 {
		t.Fatal("MakeVoiceCall returned before the engaged call reported its end")
	}
	carol.waitStatus(t, bob.jid, wire.StatusEngaged)
	wait(t, carol.rec, "carol's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })
	bob.Flush()
	if n := count(bob.rec, func(event.IncomingCall) bool { return true }); n != 1 {
		t.Fatalf("bob rang %d times, want once (alice's call only)", n)
	}
	// The first call is untouched.
	bob.waitPackets(t, alice.jid, rtc.KindAudio, 10)
}

func TestMuteStatus(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	connectCall(t, alice, bob, true)
	bob.waitPackets(t, alice.jid, rtc.KindAudio, 5)

	if err := alice.MuteAudio(ctx(t), true); err != nil {
		t.Fatal(err)
	}
	wait(t, bob.rec, "bob sees alice muted", func(v event.MuteStatus) bool {
		return v.UserJID == alice.jid && v.TrackType == "audio" && v.IsMuted && !v.LocalUser
	})
	wait(t, alice.rec, "alice sees herself muted", func(v event.MuteStatus) bool {
		return v.UserJID == alice.jid && v.TrackType == "audio" && v.IsMuted && v.LocalUser
	})
	if m, err := bob.IsUserAudioMuted(alice.jid); err != nil || !m {
		t.Fatalf("bob: IsUserAudioMuted(alice) = %v, %v", m, err)
	}
	if m, err := alice.IsUserAudioMuted(""); err != nil || !m {
		t.Fatalf("alice: IsUserAudioMuted() = %v, %v", m, err)
	}
	if m, err := bob.IsUserVideoMuted(alice.jid); err != nil || m {
		t.Fatalf("bob: IsUserVideoMuted(alice) = %v, %v", m, err)
	}
	// Muted audio really stops: no packets for a while.
	rt := bob.rec.track(alice.jid, rtc.KindAudio)
	time.Sleep(150 * time.Millisecond)
	before := rt.Packets()
	time.Sleep(300 * time.Millisecond)
	if after := rt.Packets(); after > before+2 {
		t.Fatalf("muted audio still flows: %d packets", after-before)
	}

	if err := alice.MuteVideo(ctx(t), true); err != nil {
		t.Fatal(err)
	}
	wait(t, bob.rec, "bob sees alice's camera off", func(v event.MuteStatus) bool {
		return v.UserJID == alice.jid && v.TrackType == "video" && v.IsMuted
	})
	if err := alice.MuteAudio(ctx(t), false); err != nil {
		t.Fatal(err)
	}
	wait(t, bob.rec, "bob sees alice unmuted", func(v event.MuteStatus) bool {
		return v.UserJID == alice.jid && v.TrackType == "audio" && !v.IsMuted
	})
	bob.waitPackets(t, alice.jid, rtc.KindAudio, 10)
}

func TestTwoTabs(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	bob2 := login(t, srv, "bob", nil)
	if _, err := alice.MakeVideoCall(ctx(t), []string{bob.jid}, ""); err != nil {
		t.Fatal(err)
	}
	bob.waitIncoming(t)
	bob2.waitIncoming(t)
	if err := bob2.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, bob.rec, "first tab stops ringing", func(v event.CallStatus) bool {
		return v.Status == "ended" && v.Reason == wire.ReasonAnsweredElsewhere
	})
	if _, ok := bob.Incoming(); ok {
		t.Fatal("the first tab still rings")
	}
	if err := bob.AnswerCall(ctx(t)); err == nil {
		t.Fatal("the first tab answered a call answered elsewhere")
	}
	alice.waitStatus(t, bob.jid, wire.StatusConnected)
	alice.waitPackets(t, bob.jid, rtc.KindVideo, 10)
	bob2.waitPackets(t, alice.jid, rtc.KindVideo, 10)
}

func TestDroppedClient(t *testing.T) {
	srv := startServer(t, hub.Config{ResumeGrace: 400 * time.Millisecond})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	connectCall(t, alice, bob, false)
	// bob's device vanishes (it never comes back).
	bob.Close()
	alice.waitStatus(t, bob.jid, wire.StatusReconnecting)
	alice.waitStatus(t, bob.jid, wire.StatusDisconnected)
	wait(t, alice.rec, "alice's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })
	logs, err := alice.GetCallLogs(ctx(t), 1)
	if err != nil || len(logs.CallLogs) != 1 || logs.CallLogs[0].CallState != "outgoing" {
		t.Fatalf("alice's logs %+v %v", logs, err)
	}
}

func TestResumeAfterNetworkBlip(t *testing.T) {
	srv := startServer(t, hub.Config{ResumeGrace: 5 * time.Second})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	connectCall(t, alice, bob, false)
	bob.Abort() // the signalling link drops; media keeps flowing peer to peer
	wait(t, bob.rec, "bob reconnecting", func(v event.ConnectionStatus) bool { return v.Status == event.Reconnecting })
	wait(t, bob.rec, "bob back", func(v event.ConnectionStatus) bool { return v.Status == event.Connected && true }) // the first CONNECTED is the sign-in
	deadline := time.Now().Add(10 * time.Second)
	for count(bob.rec, func(v event.ConnectionStatus) bool { return v.Status == event.Connected }) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("bob never reconnected: %s", bob.rec.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The call survived: mute travels through the resumed session.
	if err := bob.MuteAudio(ctx(t), true); err != nil {
		t.Fatal(err)
	}
	wait(t, alice.rec, "alice sees bob muted", func(v event.MuteStatus) bool { return v.UserJID == bob.jid && v.IsMuted })
	if _, ok := bob.CurrentCall(); !ok {
		t.Fatal("bob lost the call over a network blip")
	}
	alice.waitPackets(t, bob.jid, rtc.KindAudio, 0)
	bob.waitPackets(t, alice.jid, rtc.KindAudio, 10)
}

func TestBadArguments(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	c := ctx(t)

	// Not signed in.
	anon, anonRec := newClient(t, srv, nil)
	_, err := anon.MakeVoiceCall(c, []string{"bob"}, "")
	isErrCode(t, err, 401)
	_, err = anon.GetCallLogs(c, 1)
	isErrCode(t, err, 401)
	_, err = anon.Connect(c, "alice", "wrong-password")
	isErrCode(t, err, 401)
	wait(t, anonRec, "AUTHFAIL", func(v event.ConnectionStatus) bool { return v.Status == event.AuthFail })
	_, err = anon.Register(c, "Bad Name!", "password-x", "")
	isErrCode(t, err, 400)
	_, err = anon.Register(c, "carol", "short", "")
	isErrCode(t, err, 400)
	_, err = anon.Register(c, "alice", "password-other", "")
	isErrCode(t, err, 409)

	cases := []struct {
		name string
		jids []string
		code int
	}{
		{"empty list", nil, 400},
		{"empty JID", []string{""}, 400},
		{"only yourself", []string{alice.jid}, 400},
		{"malformed JID", []string{"not a jid!"}, 400},
		{"unknown user", []string{"nobody"}, 404},
		{"other domain", []string{"bob@elsewhere.example"}, 404},
		{"over the cap", []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"}, wire.CodeCallFull},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := alice.MakeVideoCall(c, tc.jids, "")
			isErrCode(t, err, tc.code)
		})
	}
	_, err = alice.GetCallLogs(c, 0)
	isErrCode(t, err, 400)
	isErrCode(t, alice.AnswerCall(c), 404)
	isErrCode(t, alice.DeclineCall(c), 404)
	isErrCode(t, alice.EndCall(c), wire.CodeNotInCall)
	isErrCode(t, alice.MuteAudio(c, true), wire.CodeNotInCall)
	isErrCode(t, alice.MuteVideo(c, true), wire.CodeNotInCall)
	_, err = alice.IsUserAudioMuted("")
	isErrCode(t, err, wire.CodeNotInCall)
	_, err = alice.CallLink(c)
	isErrCode(t, err, wire.CodeNotInCall)

	// Refused devices: the right code and mediaErrorListener, and no call made.
	for _, tc := range []struct {
		media  rtc.SyntheticMedia
		video  bool
		code   int
		device string
	}{
		{rtc.SyntheticMedia{DenyMic: true}, false, wire.CodeMicDenied, "mic"},
		{rtc.SyntheticMedia{DenyCamera: true}, true, wire.CodeCameraDenied, "camera"},
		{rtc.SyntheticMedia{DenyMic: true, DenyCamera: true}, true, wire.CodeMediaDenied, "mic & camera"},
	} {
		denied := login(t, srv, alice.name, tc.media)
		var err error
		if tc.video {
			_, err = denied.MakeVideoCall(c, []string{"bob"}, "")
		} else {
			_, err = denied.MakeVoiceCall(c, []string{"bob"}, "")
		}
		isErrCode(t, err, tc.code)
		me := wait(t, denied.rec, "media error", func(event.MediaError) bool { return true })
		if me.StatusCode != tc.code || me.Device != tc.device || me.Message == "" {
			t.Fatalf("media error %+v", me)
		}
	}
	bob.Flush()
	if n := count(bob.rec, func(event.IncomingCall) bool { return true }); n != 0 {
		t.Fatalf("failed calls rang bob %d times", n)
	}

	// Already in a call: 409, and the call stays.
	connectCall(t, alice, bob, false)
	_, err = alice.MakeVoiceCall(c, []string{"bob"}, "")
	isErrCode(t, err, 409)
	isErrCode(t, bob.AnswerCall(c), 404)
	if link, err := alice.CallLink(c); err != nil || link == "" {
		t.Fatalf("CallLink in a call: %q, %v", link, err)
	}
	bob.waitPackets(t, alice.jid, rtc.KindAudio, 5)
}

func TestSwitchDevicesInCall(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	connectCall(t, alice, bob, true)
	first := wait(t, alice.rec, "alice's camera", func(v event.UserTrack) bool { return v.LocalUser && v.TrackType == "video" && v.Track != nil })
	mic := wait(t, alice.rec, "alice's microphone", func(v event.UserTrack) bool { return v.LocalUser && v.TrackType == "audio" && v.Track != nil })
	// Media flows before the switch, so the new camera must carry on the
	// stream bob already receives.
	bob.waitPackets(t, alice.jid, rtc.KindVideo, 5)
	if err := alice.MuteAudio(ctx(t), true); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetDevices(ctx(t), "other-mic", "other-camera"); err != nil {
		t.Fatal(err)
	}
	second := wait(t, alice.rec, "alice's new camera", func(v event.UserTrack) bool {
		return v.LocalUser && v.TrackType == "video" && v.Track != nil && v.Track.ID() != first.Track.ID()
	})
	if second.Track == nil {
		t.Fatal("no new camera track")
	}
	// The new camera's frames reach bob; the new microphone stays muted.
	bob.waitPackets(t, alice.jid, rtc.KindVideo, 15)
	newMic := wait(t, alice.rec, "alice's new microphone", func(v event.UserTrack) bool {
		return v.LocalUser && v.TrackType == "audio" && v.Track != nil && v.Track.ID() != mic.Track.ID()
	})
	if newMic.Track.(*rtc.LocalTrack).Enabled() {
		t.Fatal("the new microphone sends although alice muted")
	}
	if m, _ := alice.IsUserAudioMuted(""); !m {
		t.Fatal("switching devices unmuted alice")
	}
}

// TestSessionLimitSignsOut: a tab the server signs out for the user's
// session cap (wire.CloseSessionLimit) reports Disconnected and does not
// reconnect, which would sign out the new tab in turn.
func TestSessionLimitSignsOut(t *testing.T) {
	srv := startServer(t, hub.Config{MaxSessionsPerUser: 1})
	first := register(t, srv, "alice")
	second := login(t, srv, "alice", nil)
	wait(t, first.rec, "the first tab signed out", func(v event.ConnectionStatus) bool { return v.Status == event.Disconnected })
	if n := count(first.rec, func(v event.ConnectionStatus) bool { return v.Status == event.Reconnecting }); n != 0 {
		t.Fatalf("the signed-out tab reconnected %d times", n)
	}
	// The new tab works and stays signed in.
	bob := register(t, srv, "bob")
	connectCall(t, second, bob, false)
	if n := count(second.rec, func(v event.ConnectionStatus) bool { return v.Status == event.Disconnected }); n != 0 {
		t.Fatal("the new tab was signed out")
	}
}
