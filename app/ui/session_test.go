package ui

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/wire"
)

// fakeEngine is a scripted Engine.
type fakeEngine struct {
	mu       sync.Mutex
	sink     func(Event)
	user     wire.User
	token    string
	call     *wire.Call
	incoming *wire.Call
	logs     wire.CallLogPage
	errs     map[string]error // method name -> error to return once
	calls    []string         // methods called
	sent     []string         // custom data sent
	groupID  string           // of the last MakeCall
	devices  string           // "mic|camera" of the last SetDevices
}

func (f *fakeEngine) fail(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	if err, ok := f.errs[method]; ok {
		delete(f.errs, method)
		return err
	}
	return nil
}

func (f *fakeEngine) Register(_ context.Context, u, _, d string) (wire.User, error) {
	if err := f.fail("Register"); err != nil {
		return wire.User{}, err
	}
	f.user = wire.User{JID: u + "@localhost", Username: u, DisplayName: d}
	f.token = "tok-" + u
	return f.user, nil
}

func (f *fakeEngine) Connect(_ context.Context, u, _ string) (wire.User, error) {
	if err := f.fail("Connect"); err != nil {
		return wire.User{}, err
	}
	f.user = wire.User{JID: u + "@localhost", Username: u, DisplayName: strings.ToUpper(u[:1]) + u[1:]}
	f.token = "tok-" + u
	return f.user, nil
}

func (f *fakeEngine) ConnectToken(ctx context.Context, token string) (wire.User, error) {
	if err := f.fail("ConnectToken"); err != nil {
		return wire.User{}, err
	}
	return f.Connect(ctx, strings.TrimPrefix(token, "tok-"), "")
}

func (f *fakeEngine) Token() string                { return f.token }
func (f *fakeEngine) Logout(context.Context) error { return f.fail("Logout") }

func (f *fakeEngine) InviteUsers(_ context.Context, to []string) error { return f.fail("InviteUsers") }
func (f *fakeEngine) RequestVideoCallSwitch(context.Context) error {
	return f.fail("RequestVideoCallSwitch")
}
func (f *fakeEngine) CancelVideoCallSwitchRequest(context.Context) error {
	return f.fail("CancelVideoCallSwitchRequest")
}
func (f *fakeEngine) AcceptVideoCallSwitchRequest(context.Context) error {
	return f.fail("AcceptVideoCallSwitchRequest")
}
func (f *fakeEngine) DeclineVideoCallSwitchRequest(context.Context) error {
	return f.fail("DeclineVideoCallSwitchRequest")
}
func (f *fakeEngine) SetDevices(_ context.Context, audioID, videoID string) error {
	f.mu.Lock()
	f.devices = audioID + "|" + videoID
	f.mu.Unlock()
	return f.fail("SetDevices")
}

func (f *fakeEngine) SendCustomData(_ context.Context, data json.RawMessage) error {
	f.mu.Lock()
	f.sent = append(f.sent, string(data))
	f.mu.Unlock()
	return f.fail("SendCustomData")
}

func (f *fakeEngine) MakeCall(_ context.Context, video bool, to []string, groupID string) error {
	if err := f.fail("MakeCall"); err != nil {
		return err
	}
	typ := wire.TypeAudio
	if video {
		typ = wire.TypeVideo
	}
	f.mu.Lock()
	f.groupID = groupID
	f.mu.Unlock()
	c := &wire.Call{RoomID: "room1", Type: typ, Initiator: f.user.JID, State: wire.CallStateRinging,
		Participants: []wire.Participant{{JID: f.user.JID, DisplayName: f.user.DisplayName, Status: wire.StatusConnecting, Initiator: true}}}
	for _, u := range to {
		c.Participants = append(c.Participants, wire.Participant{JID: u + "@localhost", DisplayName: "Bob Marley", Status: wire.StatusCalling})
	}
	f.setCall(c)
	return nil
}

func (f *fakeEngine) AnswerCall(context.Context) error {
	if err := f.fail("AnswerCall"); err != nil {
		return err
	}
	f.mu.Lock()
	c := f.incoming
	f.incoming = nil
	f.mu.Unlock()
	if c != nil {
		for i := range c.Participants {
			c.Participants[i].Status = wire.StatusConnecting
		}
		c.State = wire.CallStateActive
		f.setCall(c)
	}
	return nil
}

func (f *fakeEngine) DeclineCall(context.Context) error {
	f.mu.Lock()
	f.incoming = nil
	f.mu.Unlock()
	return f.fail("DeclineCall")
}

func (f *fakeEngine) EndCall(context.Context) error {
	f.setCall(nil)
	return f.fail("EndCall")
}

func (f *fakeEngine) MuteAudio(context.Context, bool) error { return f.fail("MuteAudio") }
func (f *fakeEngine) MuteVideo(context.Context, bool) error { return f.fail("MuteVideo") }

func (f *fakeEngine) GetCallLogs(context.Context, int) (wire.CallLogPage, error) {
	if err := f.fail("GetCallLogs"); err != nil {
		return wire.CallLogPage{}, err
	}
	return f.logs, nil
}

func (f *fakeEngine) CurrentCall() (wire.Call, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.call == nil {
		return wire.Call{}, false
	}
	return *f.call, true
}

func (f *fakeEngine) Incoming() (wire.Call, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.incoming == nil {
		return wire.Call{}, false
	}
	return *f.incoming, true
}

func (f *fakeEngine) SetEventSink(s func(Event)) { f.sink = s }

func (f *fakeEngine) User() (wire.User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.user, f.user.JID != ""
}

// previewUsers is who the fake's previewed call has.
var previewUsers = []CallUser{
	{JID: "alice@localhost", Name: "Alice Liddell", Status: wire.StatusConnected},
	{JID: "bob@localhost", Name: "Bob Marley", Status: wire.StatusConnected},
}

func (f *fakeEngine) SubscribeCall(_ context.Context, link, name string) error {
	if err := f.fail("SubscribeCall"); err != nil {
		return err
	}
	f.mu.Lock()
	if f.user.JID == "" {
		f.user = wire.User{JID: "guest-1@localhost", Username: "guest-1", DisplayName: name, Guest: true}
	}
	f.mu.Unlock()
	f.sink(Event{Kind: EventTrack, LocalUser: true, TrackType: "video", Track: "camera"})
	f.sink(Event{Kind: EventUsers, RoomID: "room1", Users: previewUsers})
	return nil
}

func (f *fakeEngine) JoinCall(context.Context) error {
	if err := f.fail("JoinCall"); err != nil {
		return err
	}
	c := &wire.Call{RoomID: "room1", Type: wire.TypeVideo, Initiator: "alice@localhost", State: wire.CallStateActive, Link: "abc-defg-hij"}
	for _, u := range previewUsers {
		c.Participants = append(c.Participants, wire.Participant{JID: u.JID, DisplayName: u.Name, Status: u.Status})
	}
	c.Participants = append(c.Participants, wire.Participant{JID: f.user.JID, DisplayName: f.user.DisplayName, Status: wire.StatusConnecting})
	f.setCall(c)
	f.sink(Event{Kind: EventStatus, UserJID: f.user.JID, LocalUser: true, Status: wire.StatusConnecting, RoomID: "room1"})
	return nil
}

func (f *fakeEngine) UnsubscribeCall(context.Context) error {
	err := f.fail("UnsubscribeCall")
	f.sink(Event{Kind: EventTrack, LocalUser: true, TrackType: "video"})
	return err
}

func (f *fakeEngine) CreateMeetLink(context.Context, bool) (string, error) {
	if err := f.fail("CreateMeetLink"); err != nil {
		return "", err
	}
	return "http://localhost/join/abc-defg-hij", nil
}

func (f *fakeEngine) CallLink() (string, error) {
	if err := f.fail("CallLink"); err != nil {
		return "", err
	}
	return "http://localhost/join/abc-defg-hij", nil
}

// called reports whether method was called.
func (f *fakeEngine) called(method string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.calls {
		if m == method {
			return true
		}
	}
	return false
}

func (f *fakeEngine) setCall(c *wire.Call) {
	f.mu.Lock()
	f.call = c
	f.mu.Unlock()
}

// setStatus changes a participant's status in the current call and emits it.
func (f *fakeEngine) setStatus(jid, status string) {
	f.mu.Lock()
	if f.call != nil {
		if p := f.call.Participant(jid); p != nil {
			p.Status = status
		}
		if wire.Joined(status) {
			f.call.State = wire.CallStateActive
		}
	}
	f.mu.Unlock()
	f.sink(Event{Kind: EventStatus, UserJID: jid, Status: status, RoomID: "room1"})
}

// testRoot mounts a Shell on go-app's native test engine, where OnMount does
// not run: it attaches the session from OnPreRender instead.
type testRoot struct {
	app.Compo
	shell *Shell
}

func (r *testRoot) OnPreRender(ctx app.Context) { r.shell.s.attach(ctx) }

func (r *testRoot) Render() app.UI { return r.shell }

// render renders every screen component of the current state on a fresh
// engine, to catch panics in Render.
func (h *harness) render() {
	h.t.Helper()
	e := app.NewTestEngine()
	if err := e.Load(&Shell{s: h.s}); err != nil {
		h.t.Fatalf("render: %v", err)
	}
}

// harness runs a Shell on go-app's test engine.
type harness struct {
	t   *testing.T
	eng app.TestEngine
	f   *fakeEngine
	s   *session
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	browser.StorageRemove(tokenKey)
	f := &fakeEngine{errs: map[string]error{}, logs: wire.CallLogPage{TotalPages: 1}}
	s := newSession(f)
	s.ended.wait = 10 * time.Millisecond
	e := app.NewTestEngine()
	if err := e.Load(&testRoot{shell: &Shell{s: s}}); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	return &harness{t: t, eng: e, f: f, s: s}
}

// ctx is the mounted Shell's context, as event handlers get it.
func (h *harness) ctx() app.Context {
	ctx, ok := h.s.shell()
	if !ok {
		h.t.Fatal("shell not mounted")
	}
	return ctx
}

// do runs f on the UI goroutine's turn and waits for the n continuations it
// dispatches.
func (h *harness) do(n int, f func(ctx app.Context)) {
	h.t.Helper()
	f(h.ctx())
	h.settle(n)
}

// until consumes dispatches until cond holds.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	defer h.render()
	deadline := time.After(10 * time.Second)
	for !cond() {
		done := make(chan struct{})
		go func() { h.eng.ConsumeNext(); close(done) }()
		select {
		case <-done:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
	h.eng.ConsumeAll()
}

func (h *harness) settle(n int) {
	h.t.Helper()
	defer h.render()
	for i := 0; i < n; i++ {
		done := make(chan struct{})
		go func() { h.eng.ConsumeNext(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			h.t.Fatalf("no dispatch %d of %d", i+1, n)
		}
	}
	h.eng.ConsumeAll()
}

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
	h.f.sink(Event{Kind: EventTrack, UserJID: "bob@localhost", TrackType: "video", Track: struct{}{}})
	h.f.sink(Event{Kind: EventMute, UserJID: "bob@localhost", TrackType: "audio", Muted: true})
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
	if s.phase != phaseEnded || !strings.HasPrefix(s.ended.text, "Call ended") {
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
	h.f.sink(Event{Kind: EventStatus, UserJID: "alice@localhost", LocalUser: true, Status: wire.StatusEnded, RoomID: "room1"})
	h.until("the call to end", func() bool { return s.phase == phaseEnded })
	if s.phase != phaseEnded || s.ended.text != "Bob Marley declined the call" {
		t.Fatalf("declined: phase %v text %q", s.phase, s.ended.text)
	}
	h.until("home after the declined call", func() bool { return s.phase == phaseHome })

	// An incoming call shows the card over any screen.
	h.f.mu.Lock()
	h.f.incoming = &wire.Call{RoomID: "room2", Type: wire.TypeVideo, Initiator: "carol@localhost", State: wire.CallStateRinging,
		Participants: []wire.Participant{{JID: "carol@localhost", DisplayName: "Carol King", Status: wire.StatusConnecting, Initiator: true},
			{JID: "alice@localhost", Status: wire.StatusRinging}}}
	h.f.mu.Unlock()
	h.f.sink(Event{Kind: EventIncoming, UserJID: "carol@localhost", DisplayName: "Carol King", CallType: wire.TypeVideo, RoomID: "room2"})
	h.settle(1)
	if !s.ring.has || s.ring.name != "Carol King" || s.ring.kind != wire.TypeVideo {
		t.Fatalf("incoming: %v %q %q", s.ring.has, s.ring.name, s.ring.kind)
	}
	h.do(1, func(ctx app.Context) { s.answer(ctx) })
	if s.ring.has || s.phase != phaseInCall {
		t.Fatalf("after answer: incoming %v phase %v", s.ring.has, s.phase)
	}

	// The session is revoked elsewhere: back to sign-in, token forgotten.
	h.f.sink(Event{Kind: EventConnection, Status: "AUTHFAIL"})
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

// TestResumeOffline: a reload while the server is unreachable keeps the saved
// session, says the page is offline, and signs back in once the server answers.
func TestResumeOffline(t *testing.T) {
	browser.StorageSet(tokenKey, "tok-bob")
	f := &fakeEngine{errs: map[string]error{
		"ConnectToken": &wire.Error{Code: wire.CodeUnreachable, Reason: "unreachable", Message: "down"},
	}}
	s := newSession(f)
	s.account.retry = 20 * time.Millisecond
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
