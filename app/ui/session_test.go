package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

func TestSessionSignInAndCall(t *testing.T) {
	h := newHarness(t)
	s := h.s
	if s.phase != phaseSignedOut {
		t.Fatalf("phase %v, want signed out", s.phase)
	}

	h.f.errs["Connect"] = &wire.Error{Code: wire.CodeUnauthorized, Message: "bad credentials"}
	h.do(1, func(ctx app.Context) { s.signIn(ctx, "alice", "wrong-password") })
	if !strings.Contains(s.page.notice, "don't match") {
		t.Errorf("bad credentials notice %q", s.page.notice)
	}

	h.do(2, func(ctx app.Context) { s.signIn(ctx, " Alice ", "secret-password") }) // sign-in, then logs
	if s.phase != phaseHome || s.account.user.JID != "alice@localhost" || s.page.notice != "" {
		t.Fatalf("after sign-in: phase %v user %q notice %q", s.phase, s.account.user.JID, s.page.notice)
	}
	if tok, _ := browser.StorageGet(tokenKey); tok != "tok-alice" {
		t.Errorf("saved token %q", tok)
	}

	// Calling yourself or nobody is caught before the engine.
	h.do(0, func(ctx app.Context) { s.dial(ctx, " alice ", true) })
	if !strings.Contains(s.page.notice, "yourself") {
		t.Errorf("self-call notice %q", s.page.notice)
	}
	h.do(0, func(ctx app.Context) { s.dial(ctx, " , ", true) })
	if !strings.Contains(s.page.notice, "Enter the username") {
		t.Errorf("empty dial notice %q", s.page.notice)
	}

	h.f.errs["MakeCall"] = &wire.Error{Code: wire.CodeNotFound, Message: "no such user"}
	h.do(1, func(ctx app.Context) { s.dial(ctx, "nobody", true) })
	if s.phase != phaseHome || !strings.Contains(s.page.notice, "no user with that name") {
		t.Errorf("unknown user: phase %v notice %q", s.phase, s.page.notice)
	}

	h.do(1, func(ctx app.Context) { s.dial(ctx, "bob", true) })
	if s.phase != phaseOutgoing || s.page.notice != "" {
		t.Fatalf("after dial: phase %v notice %q", s.phase, s.page.notice)
	}
	h.f.setStatus("bob@localhost", wire.StatusRinging)
	h.settle(1)
	if got := (&Shell{s: s}).targets(); len(got) != 1 || got[0].Status != wire.StatusRinging || got[0].Name != "Bob Marley" {
		t.Errorf("targets %+v", got)
	}

	h.f.setStatus("bob@localhost", wire.StatusConnected)
	h.settle(1)
	if s.phase != phaseInCall {
		t.Fatalf("phase %v, want in call", s.phase)
	}
	h.f.sink(event.UserTrack{UserJID: "bob@localhost", TrackType: "video", Track: fakeTrack("video")})
	h.f.sink(event.MuteStatus{UserJID: "bob@localhost", TrackType: "audio", IsMuted: true})
	h.settle(2)
	view := (&Shell{s: s}).inCall().(*InCall)
	if len(view.Remotes) != 1 || !view.Remotes[0].AudioMuted || !view.Remotes[0].HasVideo || view.Remotes[0].VideoMuted {
		t.Errorf("remote view %+v", view.Remotes)
	}

	h.do(1, func(ctx app.Context) { s.toggleMic(ctx) })
	if !s.media.localAudio {
		t.Error("microphone not shown muted after toggle")
	}
	h.f.errs["MuteVideo"] = &wire.Error{Code: wire.CodeCameraDenied, Message: "camera denied"}
	h.do(1, func(ctx app.Context) { s.toggleCam(ctx) })
	if s.media.localVideo || !strings.Contains(s.page.notice, "camera") {
		t.Errorf("camera toggle failure: muted %v notice %q", s.media.localVideo, s.page.notice)
	}

	h.do(1, func(ctx app.Context) { s.hangUp(ctx) })
	// The ended screen may already have given way to home (10 ms here).
	if (s.phase != phaseEnded && s.phase != phaseHome) || !strings.HasPrefix(s.ended.text, "Call ended") {
		t.Fatalf("after hang-up: phase %v text %q", s.phase, s.ended.text)
	}
	h.until("home after the call", func() bool { return s.phase == phaseHome })
	if len(s.media.tracks) != 0 || s.media.localAudio {
		t.Error("call state not cleared")
	}
}

func TestSessionDeclinedAndIncoming(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "alice", "secret-password") })

	h.do(1, func(ctx app.Context) { s.dial(ctx, "bob", false) })
	h.f.setStatus("bob@localhost", wire.StatusDeclined)
	h.f.setCall(nil)
	h.f.sink(event.CallStatus{UserJID: "alice@localhost", LocalUser: true, Status: wire.StatusEnded, RoomID: "room1"})
	// The ended screen gives way to home after s.ended.wait (10 ms here), and
	// until drains the dispatches queued when its condition holds, so the text
	// is read the moment the phase is seen, not after.
	var endedText string
	h.until("the call to end", func() bool {
		if s.phase == phaseEnded {
			endedText = s.ended.text
			return true
		}
		return false
	})
	if endedText != "Bob Marley declined the call" {
		t.Fatalf("declined: ended screen text %q", endedText)
	}
	h.until("home after the declined call", func() bool { return s.phase == phaseHome })

	// An incoming call shows the card over any screen.
	h.f.mu.Lock()
	h.f.incoming = &wire.Call{RoomID: "room2", Type: wire.TypeVideo, Initiator: "carol@localhost", State: wire.CallStateRinging,
		Participants: []wire.Participant{{JID: "carol@localhost", DisplayName: "Carol King", Status: wire.StatusConnecting, Initiator: true},
			{JID: "alice@localhost", Status: wire.StatusRinging}}}
	h.f.mu.Unlock()
	h.f.sink(event.IncomingCall{UserJID: "carol@localhost", CallType: wire.TypeVideo, RoomID: "room2", UserDetails: event.UserDetails{DisplayName: "Carol King"}})
	h.settle(1)
	if !s.ring.has || s.ring.name != "Carol King" || s.ring.kind != wire.TypeVideo {
		t.Fatalf("incoming: %v %q %q", s.ring.has, s.ring.name, s.ring.kind)
	}
	h.do(1, func(ctx app.Context) { s.answer(ctx) })
	if s.ring.has || s.phase != phaseInCall {
		t.Fatalf("after answer: incoming %v phase %v", s.ring.has, s.phase)
	}

	// The session is revoked elsewhere: back to sign-in, token forgotten.
	h.f.sink(event.ConnectionStatus{Status: "AUTHFAIL"})
	h.settle(1)
	if s.phase != phaseSignedOut || !strings.Contains(s.page.notice, "Sign in again") {
		t.Errorf("auth fail: phase %v notice %q", s.phase, s.page.notice)
	}
	if _, ok := browser.StorageGet(tokenKey); ok {
		t.Error("token kept after AUTHFAIL")
	}
}

func TestResumeWithSavedToken(t *testing.T) {
	browser.StorageSet(tokenKey, "tok-bob")
	f := &fakeEngine{errs: map[string]error{}}
	s := newSession(f)
	e := app.NewTestEngine()
	if err := e.Load(&testRoot{shell: &Shell{s: s}}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, eng: e, f: f, s: s}
	h.settle(2)
	if s.phase != phaseHome || s.account.user.Username != "bob" {
		t.Fatalf("resume: phase %v user %+v", s.phase, s.account.user)
	}
}

// TestResumeSignsInEarly: with a saved token, the page begins signing in as
// it starts, before its first screen is mounted (Routes calls signInEarly),
// and the mounted screen takes that sign-in's result rather than signing in
// a second time.
func TestResumeSignsInEarly(t *testing.T) {
	browser.StorageSet(tokenKey, "tok-bob")
	t.Cleanup(func() { browser.StorageRemove(tokenKey) })
	f := &fakeEngine{errs: map[string]error{}, logs: wire.CallLogPage{TotalPages: 1}}
	s := newSession(f)
	s.signInEarly()
	early := s.account.early
	if early == nil {
		t.Fatal("no sign-in begun before the mount with a saved token")
	}
	select {
	case <-early.done:
	case <-time.After(30 * time.Second): // a guard against a hang, not a deadline
		t.Fatal("the early sign-in never finished")
	}
	if n := f.times("ConnectToken"); n != 1 {
		t.Fatalf("ConnectToken called %d times before the mount, want 1", n)
	}
	e := app.NewTestEngine()
	if err := e.Load(&testRoot{shell: &Shell{s: s}}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, eng: e, f: f, s: s}
	h.until("home", func() bool { return s.phase == phaseHome && s.account.user.Username == "bob" })
	if n := f.times("ConnectToken"); n != 1 {
		t.Errorf("ConnectToken called %d times, want 1: the mount signed in again", n)
	}

	// Without a saved token nothing is begun.
	browser.StorageRemove(tokenKey)
	s2 := newSession(f)
	s2.signInEarly()
	if s2.account.early != nil {
		t.Error("a sign-in begun without a saved token")
	}
}

// TestResumeOffline: a reload while the server is unreachable keeps the saved
// session, says the page is offline, and signs back in once the server answers.
// The page's early sign-in is the one that finds the server down; the retry
// signs in anew.
func TestResumeOffline(t *testing.T) {
	browser.StorageSet(tokenKey, "tok-bob")
	f := &fakeEngine{errs: map[string]error{
		"ConnectToken": &wire.Error{Code: wire.CodeUnreachable, Reason: "unreachable", Message: "down"},
	}}
	s := newSession(f)
	s.account.retry = 20 * time.Millisecond
	s.signInEarly()
	e := app.NewTestEngine()
	if err := e.Load(&testRoot{shell: &Shell{s: s}}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, eng: e, f: f, s: s}
	until := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); h.settle(1) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: phase %v offline %v notice %q calls %v", what, s.phase, s.account.offline, s.page.notice, f.calls)
			}
		}
	}
	until("offline resume", func() bool { return s.phase == phaseResuming && s.account.offline })
	if tok, ok := browser.StorageGet(tokenKey); !ok || tok != "tok-bob" {
		t.Fatal("the saved session was dropped while offline")
	}
	until("signed back in", func() bool { return s.phase == phaseHome && s.account.user.Username == "bob" && !s.account.offline })
	if n := f.times("ConnectToken"); n < 2 {
		t.Errorf("ConnectToken called %d times: the retry reused the early sign-in's failure", n)
	}
}

func TestHumanErrors(t *testing.T) {
	for _, tc := range []struct {
		act    action
		code   int
		secure bool
		want   string
	}{
		{actSignIn, wire.CodeUnauthorized, true, "don't match"},
		{actResume, wire.CodeUnauthorized, true, "expired"},
		{actRegister, wire.CodeConflict, true, "already taken"},
		{actCall, wire.CodeConflict, true, "already in a call"},
		{actCall, wire.CodeNotFound, true, "no user with that name"},
		{actCall, wire.CodeCameraDenied, true, "address bar"},
		{actCall, wire.CodeMicDenied, true, "microphone"},
		{actCall, wire.CodeMediaDenied, false, "https://"},
		{actCall, wire.CodeCallFull, true, "full"},
		{actCall, wire.CodeUnreachable, true, "network"},
		{actAnswer, wire.CodeCallEnded, true, "already ended"},
		{actLogs, wire.CodeInternal, true, "Try again"},
		{actLogs, wire.CodeRateLimited, true, "Wait a minute"},
	} {
		got := humanError(tc.act, &wire.Error{Code: tc.code, Reason: "x", Message: "raw message"}, tc.secure)
		if !strings.Contains(got, tc.want) {
			t.Errorf("humanError(%v, %d) = %q, want it to contain %q", tc.act, tc.code, got, tc.want)
		}
		if strings.Contains(got, "1006") || strings.Contains(got, "(4") {
			t.Errorf("humanError(%v, %d) = %q shows a raw code", tc.act, tc.code, got)
		}
	}
}

func TestCheckRegistration(t *testing.T) {
	for _, tc := range []struct{ user, pass, want string }{
		{"alice", "12345678", ""},
		{"Alice", "12345678", "lowercase"},
		{"al", "12345678", "3 to 32"},
		{"alice!", "12345678", "3 to 32"},
		{"al..ice", "12345678", "single dots"},
		{"-alice", "12345678", "single dots"},
		{"al.ice", "12345678", ""},
		{"guest-1", "12345678", "reserved"},
		{"alice", "short", "8 characters"},
	} {
		if got := checkRegistration(tc.user, tc.pass); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("checkRegistration(%q, %q) = %q, want %q", tc.user, tc.pass, got, tc.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[string]string{"Alice Liddell": "AL", "bob": "B", "jean-luc picard": "JL", "": "?", "zoë@x": "Z"} {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0:00", 61 * time.Second: "1:01", time.Hour + 5*time.Second: "1:00:05", -time.Second: "0:00"} {
		if got := clock(d); got != want {
			t.Errorf("clock(%v) = %q, want %q", d, got, want)
		}
	}
	if got := elemID("bob.smith@example.org"); got != "bob_smith_example_org" {
		t.Errorf("elemID = %q", got)
	}
	l := wire.CallLog{FromUser: "alice@x", ToUsers: []string{"bob@x", "carol@x"}}
	if got := logPeers(l, "bob@x"); strings.Join(got, ",") != "alice@x,carol@x" {
		t.Errorf("logPeers = %v", got)
	}
}

// TestWrongPasswordOnJoinPage: the engine reports a refused sign-in on
// connectionListener too (AUTH_FAIL). On a call link's page, where a visitor
// may sign in, that is a wrong password, not a lost session: the page and
// the sign-in's own notice stay. A session that was signed in does end.
func TestWrongPasswordOnJoinPage(t *testing.T) {
	h := newHarness(t)
	s := h.s
	s.join.code = "abc-defg-hij"
	s.phase = phaseJoin
	h.f.errs["Connect"] = &wire.Error{Code: wire.CodeUnauthorized, Message: "bad credentials"}
	h.do(1, func(ctx app.Context) { s.signIn(ctx, "alice", "wrong-password") })
	h.f.sink(event.ConnectionStatus{Status: event.AuthFail})
	h.settle(1)
	if s.phase != phaseJoin || !strings.Contains(s.page.notice, "don't match") {
		t.Fatalf("after a wrong password on the join page: phase %v notice %q", s.phase, s.page.notice)
	}

	delete(h.f.errs, "Connect")
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "alice", "secret-password") })
	if s.account.user.JID != "alice@localhost" {
		t.Fatalf("not signed in: %+v", s.account.user)
	}
	h.f.sink(event.ConnectionStatus{Status: event.AuthFail})
	h.settle(1)
	if s.phase != phaseSignedOut || !strings.Contains(s.page.notice, "session has ended") {
		t.Fatalf("after the session ended: phase %v notice %q", s.phase, s.page.notice)
	}
}
