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
	"parley/app/call/event"
	"parley/app/wire"
)

// fakeEngine is a scripted Engine.
type fakeEngine struct {
	mu       sync.Mutex
	sink     func(event.Event)
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
	limits   wire.Limits      // the server's; zero means wire.DefaultLimits
	blocked  []wire.BlockedUser

	sessions []wire.SessionInfo // what GetSessions lists (sessions_test.go)
	knock    chan error         // when set, JoinCall knocks and waits for its outcome here

	resumable *wire.Call // the call ResumeTab comes back into (rejoin_test.go)
	resumedAs TabSession // what ResumeTab was given
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

func (f *fakeEngine) SetEventSink(s func(event.Event)) { f.sink = s }

func (f *fakeEngine) User() (wire.User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.user, f.user.JID != ""
}

// previewUsers is who the fake's previewed call has.
var previewUsers = []event.CallUser{
	{UserJID: "alice@localhost", DisplayName: "Alice Liddell", Status: wire.StatusConnected},
	{UserJID: "bob@localhost", DisplayName: "Bob Marley", Status: wire.StatusConnected},
}

// fakeTrack stands for a MediaStreamTrack.
type fakeTrack string

func (t fakeTrack) Kind() string { return string(t) }
func (t fakeTrack) ID() string   { return string(t) }

func (f *fakeEngine) SubscribeCall(_ context.Context, link, name string) error {
	if err := f.fail("SubscribeCall"); err != nil {
		return err
	}
	f.mu.Lock()
	if f.user.JID == "" {
		f.user = wire.User{JID: "guest-1@localhost", Username: "guest-1", DisplayName: name, Guest: true}
	}
	f.mu.Unlock()
	f.sink(event.UserTrack{LocalUser: true, TrackType: "video", Track: fakeTrack("camera")})
	f.sink(event.CallUsersUpdate{RoomID: "room1", UsersList: previewUsers})
	return nil
}

func (f *fakeEngine) JoinCall(context.Context) error {
	if f.knock != nil { // a member must let us in first
		f.sink(event.CallJoinRequest{RequestID: "r1", RoomID: "room1", UserJID: f.user.JID, Status: event.JoinWaiting, LocalUser: true})
		if err := <-f.knock; err != nil {
			return err
		}
	}
	if err := f.fail("JoinCall"); err != nil {
		return err
	}
	c := &wire.Call{RoomID: "room1", Type: wire.TypeVideo, Initiator: "alice@localhost", State: wire.CallStateActive, Link: "abc-defg-hij"}
	for _, u := range previewUsers {
		c.Participants = append(c.Participants, wire.Participant{JID: u.UserJID, DisplayName: u.DisplayName, Status: u.Status})
	}
	c.Participants = append(c.Participants, wire.Participant{JID: f.user.JID, DisplayName: f.user.DisplayName, Status: wire.StatusConnecting})
	f.setCall(c)
	f.sink(event.CallStatus{UserJID: f.user.JID, LocalUser: true, Status: wire.StatusConnecting, RoomID: "room1"})
	return nil
}

func (f *fakeEngine) UnsubscribeCall(context.Context) error {
	err := f.fail("UnsubscribeCall")
	f.sink(event.UserTrack{LocalUser: true, TrackType: "video"})
	return err
}

func (f *fakeEngine) CreateMeetLink(_ context.Context, _, open bool) (string, error) {
	if open {
		f.mu.Lock()
		f.calls = append(f.calls, "CreateMeetLink open")
		f.mu.Unlock()
	}
	if err := f.fail("CreateMeetLink"); err != nil {
		return "", err
	}
	return "http://localhost/join/abc-defg-hij", nil
}

func (f *fakeEngine) AdmitUser(_ context.Context, jid string) error {
	return f.fail("AdmitUser " + jid)
}

func (f *fakeEngine) DenyUser(_ context.Context, jid string) error {
	return f.fail("DenyUser " + jid)
}

func (f *fakeEngine) CallLink(context.Context) (string, error) {
	if err := f.fail("CallLink"); err != nil {
		return "", err
	}
	return "http://localhost/join/abc-defg-hij", nil
}

func (f *fakeEngine) Limits() wire.Limits {
	if f.limits == (wire.Limits{}) {
		return wire.DefaultLimits()
	}
	return f.limits
}

// called reports whether method was called.
func (f *fakeEngine) called(method string) bool { return f.times(method) > 0 }

// times counts the calls of method.
func (f *fakeEngine) times(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.calls {
		if m == method {
			n++
		}
	}
	return n
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
	f.sink(event.CallStatus{UserJID: jid, Status: status, RoomID: "room1"})
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
		case <-time.After(30 * time.Second): // a guard against a hang, not a deadline: CI runs every package at once
			h.t.Fatalf("no dispatch %d of %d", i+1, n)
		}
	}
	h.eng.ConsumeAll()
}

func (f *fakeEngine) ShareScreen(context.Context) error {
	if err := f.fail("ShareScreen"); err != nil {
		return err
	}
	f.mu.Lock()
	if f.call != nil {
		f.call.ScreenSharer = f.user.JID
	}
	f.mu.Unlock()
	return nil
}

func (f *fakeEngine) StopScreenShare(context.Context) error {
	if err := f.fail("StopScreenShare"); err != nil {
		return err
	}
	f.mu.Lock()
	if f.call != nil {
		f.call.ScreenSharer = ""
	}
	f.mu.Unlock()
	return nil
}
