package ui

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// The fake engine's push methods record what they were given in calls.

func (f *fakeEngine) PushPublicKey(context.Context) (string, error) {
	if err := f.fail("PushPublicKey"); err != nil {
		return "", err
	}
	return "server-key", nil
}

func (f *fakeEngine) RegisterPush(_ context.Context, sub wire.PushSubscriptionJSON) error {
	if err := f.fail("RegisterPush"); err != nil {
		return err
	}
	f.mu.Lock()
	f.calls = append(f.calls, "registered "+sub.Endpoint+" "+sub.Keys.P256dh+" "+sub.Keys.Auth)
	f.mu.Unlock()
	return nil
}

func (f *fakeEngine) UnregisterPush(context.Context) (bool, error) {
	return true, f.fail("UnregisterPush")
}

func (f *fakeEngine) PushSession() map[string]string {
	return map[string]string{"type": "parley.push.session", "server": "http://parley.test", "token": f.token}
}

// fakePush is a browser's push: a permission, a subscription, the worker.
type fakePush struct {
	perm      string
	answer    string // what the permission prompt resolves to
	asked     int
	subKey    string // the applicationServerKey subscribed with
	subErr    error
	unsub     int
	toWorker  []map[string]string
	workerErr error
}

func (p *fakePush) Permission() string { return p.perm }
func (p *fakePush) RequestPermission() (string, error) {
	p.asked++
	p.perm = p.answer
	return p.perm, nil
}
func (p *fakePush) Subscribe(key string) (string, error) {
	if p.subErr != nil {
		return "", p.subErr
	}
	p.subKey = key
	return `{"endpoint":"https://push.test/abc","expirationTime":null,"keys":{"p256dh":"P","auth":"A"}}`, nil
}
func (p *fakePush) Unsubscribe() error { p.unsub++; return nil }
func (p *fakePush) TellWorker(m map[string]string) error {
	p.toWorker = append(p.toWorker, m)
	return p.workerErr
}

// TestEnablePush: the subscribe flow asks for permission only from a click,
// subscribes with the server's key, registers the subscription and hands
// the worker the session; each failure says why and registers nothing.
func TestEnablePush(t *testing.T) {
	notFound := &wire.Error{Code: wire.CodeNotFound, Reason: wire.ReasonNotFound, Message: "push off"}
	for _, tc := range []struct {
		name     string
		perm     string
		answer   string
		ask      bool
		engErr   map[string]error
		subErr   error
		want     string
		asked    int
		register bool
	}{
		{name: "asked and allowed", perm: browser.PermissionDefault, answer: browser.PermissionGranted, ask: true,
			want: pushOnSentence, asked: 1, register: true},
		{name: "already allowed, not asked", perm: browser.PermissionGranted, want: pushOnSentence, register: true},
		{name: "asked and refused", perm: browser.PermissionDefault, answer: browser.PermissionDenied, ask: true,
			want: pushDeniedSentence, asked: 1},
		{name: "never asked without a click", perm: browser.PermissionDefault, want: pushDeniedSentence},
		{name: "blocked", perm: browser.PermissionDenied, ask: true, want: pushDeniedSentence},
		{name: "server has push off", perm: browser.PermissionGranted, engErr: map[string]error{"PushPublicKey": notFound},
			want: pushOffSentence},
		{name: "no push service", perm: browser.PermissionGranted, subErr: errors.New("AbortError"), want: pushFailedSentence},
		{name: "registration refused", perm: browser.PermissionGranted,
			engErr: map[string]error{"RegisterPush": &wire.Error{Code: wire.CodeBadRequest, Message: "bad"}}, want: pushFailedSentence},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEngine{errs: tc.engErr, token: "tok-bob"}
			if f.errs == nil {
				f.errs = map[string]error{}
			}
			dev := &fakePush{perm: tc.perm, answer: tc.answer, subErr: tc.subErr}
			got, err := enablePush(context.Background(), f, dev, tc.ask)
			if got != tc.want || (err == nil) != (tc.want == pushOnSentence) || dev.asked != tc.asked {
				t.Fatalf("enablePush = %q, %v (asked %d); want %q (asked %d)", got, err, dev.asked, tc.want, tc.asked)
			}
			registered := slices.Contains(f.calls, "registered https://push.test/abc P A")
			if registered != tc.register {
				t.Fatalf("registered %v, want %v (calls %v)", registered, tc.register, f.calls)
			}
			if tc.register {
				if dev.subKey != "server-key" {
					t.Errorf("subscribed with %q, want the server's key", dev.subKey)
				}
				if len(dev.toWorker) != 1 || dev.toWorker[0]["token"] != "tok-bob" || dev.toWorker[0]["type"] != "parley.push.session" {
					t.Errorf("told the worker %v", dev.toWorker)
				}
			} else if len(dev.toWorker) != 0 {
				t.Errorf("told the worker %v without a registration", dev.toWorker)
			}
		})
	}
}

// slowPush is a browser whose push service answers only when let go.
type slowPush struct {
	fakePush
	release chan struct{}
	dropped chan struct{} // closed by Unsubscribe
}

func (p *slowPush) Subscribe(key string) (string, error) {
	<-p.release
	return p.fakePush.Subscribe(key)
}

func (p *slowPush) Unsubscribe() error { close(p.dropped); return nil }

// TestEnablePushSlowService: a push service that does not answer in time
// makes the setting say it failed, registers nothing, and the subscription
// that comes afterwards is dropped.
func TestEnablePushSlowService(t *testing.T) {
	f := &fakeEngine{errs: map[string]error{}, token: "tok-bob"}
	dev := &slowPush{fakePush: fakePush{perm: browser.PermissionGranted}, release: make(chan struct{}), dropped: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond) // the run's deadline, short here
	defer cancel()
	type outcome struct {
		msg string
		err error
	}
	out := make(chan outcome, 1)
	go func() {
		msg, err := enablePush(ctx, f, dev, true)
		out <- outcome{msg, err}
	}()
	var got string
	var err error
	select {
	case o := <-out:
		got, err = o.msg, o.err
	case <-time.After(10 * time.Second):
		close(dev.release)
		t.Fatal("enablePush waited for a push service that does not answer")
	}
	if got != pushFailedSentence || !errors.Is(err, errPushSlow) {
		t.Fatalf("enablePush = %q, %v; want %q, errPushSlow", got, err, pushFailedSentence)
	}
	if slices.Contains(f.calls, "registered https://push.test/abc P A") {
		t.Fatalf("registered although the subscription did not come: %v", f.calls)
	}
	close(dev.release) // the browser subscribes at last
	select {
	case <-dev.dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("the late subscription was not dropped")
	}
}

// TestDisablePush: turning it off unregisters, unsubscribes and makes the
// worker forget the session.
func TestDisablePush(t *testing.T) {
	f := &fakeEngine{errs: map[string]error{}}
	dev := &fakePush{}
	if err := disablePush(context.Background(), f, dev); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.calls, "UnregisterPush") || dev.unsub != 1 || len(dev.toWorker) != 1 || dev.toWorker[0]["token"] != "" {
		t.Fatalf("calls %v, unsubscribed %d, worker %v", f.calls, dev.unsub, dev.toWorker)
	}
}

// TestPushSettingAndSignIn: Settings' button turns ringing on (and a later
// sign-in registers again without asking); sign-out forgets it; opening
// the app from a notification's Answer answers that call when it rings,
// and no other.
func TestPushSettingAndSignIn(t *testing.T) {
	browser.StorageRemove(pushPrefKey)
	h := newHarness(t)
	s := h.s
	dev := &fakePush{perm: browser.PermissionDefault, answer: browser.PermissionGranted}
	s.pushDev = dev
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "bob", "secret-password") })
	if slices.Contains(h.f.calls, "PushPublicKey") {
		t.Fatal("push set up at sign-in without being asked")
	}
	h.do(1, func(ctx app.Context) { s.turnOnPush(ctx) })
	if !s.push.on || s.push.msg != pushOnSentence || dev.asked != 1 {
		t.Fatalf("after turning on: %+v asked %d", s.push, dev.asked)
	}
	if v, _ := browser.StorageGet(pushPrefKey); v != "on" {
		t.Fatal("the setting was not kept")
	}
	h.f.mu.Lock()
	h.f.calls = nil
	h.f.mu.Unlock()
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "bob", "secret-password") })
	h.until("registered again", func() bool {
		h.f.mu.Lock()
		defer h.f.mu.Unlock()
		return slices.Contains(h.f.calls, "registered https://push.test/abc P A")
	})
	if dev.asked != 1 {
		t.Fatal("asked for permission again at sign-in")
	}

	// Opened by Answer for room7: room6 rings and is left alone, room7 is answered.
	s.answerFromURL("room7")
	ring := func(room string) {
		h.f.mu.Lock()
		h.f.incoming = &wire.Call{RoomID: room, Type: wire.TypeVideo, Initiator: "carol@localhost", State: wire.CallStateRinging,
			Participants: []wire.Participant{{JID: "carol@localhost", DisplayName: "Carol", Status: wire.StatusConnecting, Initiator: true},
				{JID: "bob@localhost", Status: wire.StatusRinging}}}
		h.f.mu.Unlock()
		h.f.sink(event.IncomingCall{UserJID: "carol@localhost", CallType: wire.TypeVideo, RoomID: room})
		h.settle(1)
	}
	ring("room6")
	if slices.Contains(h.f.calls, "AnswerCall") {
		t.Fatal("answered a call the notification was not for")
	}
	h.f.mu.Lock()
	h.f.incoming = nil
	h.f.mu.Unlock()
	ring("room7")
	h.until("the call answered", func() bool {
		h.f.mu.Lock()
		defer h.f.mu.Unlock()
		return slices.Contains(h.f.calls, "AnswerCall")
	})
	if s.push.answerRoom != "" {
		t.Fatal("the answer request was kept after answering")
	}

	h.do(1, func(ctx app.Context) { s.signOut(ctx) })
	if v, ok := browser.StorageGet(pushPrefKey); ok && v != "" {
		t.Fatal("the setting outlived sign-out")
	}
}

func (f *fakeEngine) ReportVisibility(_ context.Context, hidden bool) error {
	return f.fail("ReportVisibility")
}

// TestPushOfferAfterFirstCall: home offers to ring this device when Parley
// is closed after a call someone joined, not before and not after a call
// nobody joined; the browser is asked only from the offer's button, and the
// offer is made once per device (either answer puts it away for good).
func TestPushOfferAfterFirstCall(t *testing.T) {
	for _, k := range []string{pushPrefKey, pushOfferKey} {
		browser.StorageRemove(k)
	}
	t.Cleanup(func() {
		for _, k := range []string{pushPrefKey, pushOfferKey} {
			browser.StorageRemove(k)
		}
	})
	h := newHarness(t)
	s := h.s
	dev := &fakePush{perm: browser.PermissionDefault, answer: browser.PermissionGranted}
	s.pushDev = dev
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "alice", "secret-password") })
	home := func() *Home {
		v, ok := (&Shell{s: s}).screen().(*Home)
		if !ok {
			t.Fatalf("not at home: phase %v", s.phase)
		}
		return v
	}
	offered := func() bool { return home().S.push.offer }
	if offered() {
		t.Fatal("offered on the first visit")
	}

	call := func(answer bool) {
		t.Helper()
		h.do(1, func(ctx app.Context) { s.dial(ctx, "bob", true) })
		if answer {
			h.f.setStatus("bob@localhost", wire.StatusConnected)
			h.settle(1)
			h.do(1, func(ctx app.Context) { s.hangUp(ctx) })
		} else {
			h.f.setStatus("bob@localhost", wire.StatusDeclined)
			h.f.setCall(nil)
			h.f.sink(event.CallStatus{UserJID: "alice@localhost", LocalUser: true, Status: wire.StatusEnded, RoomID: "room1"})
		}
		h.until("home after the call", func() bool { return s.phase == phaseHome })
	}
	asked := func() bool { // whether the server was asked for its key since the last look
		h.f.mu.Lock()
		defer h.f.mu.Unlock()
		defer func() { h.f.calls = nil }()
		return slices.Contains(h.f.calls, "PushPublicKey")
	}
	asked()
	call(false)
	if offered() || asked() {
		t.Fatal("offered after a call nobody joined")
	}
	call(true)
	h.until("the offer after the first call", func() bool { return s.push.offer })
	if dev.asked != 0 {
		t.Fatal("the browser was asked before the offer's button")
	}
	h.do(1, func(ctx app.Context) { s.turnOnPush(ctx) })
	if !s.push.on || s.push.offer || dev.asked != 1 || s.page.info != pushOnSentence {
		t.Fatalf("after the offer's button: %+v asked %d info %q", s.push, dev.asked, s.page.info)
	}
	if v, _ := browser.StorageGet(pushOfferKey); v != "yes" {
		t.Fatalf("offer answer kept as %q", v)
	}

	// Once answered, never again: not after the next call, nor after a
	// sign-in on this device (turned off, or answered "Not now").
	h.do(1, func(ctx app.Context) { s.turnOffPush(ctx) })
	asked()
	call(true)
	if offered() || asked() {
		t.Fatal("offered again after it was answered")
	}

	// A device where "Not now" was said, and a server that does not push.
	browser.StorageRemove(pushOfferKey)
	call(true)
	h.until("offered on a fresh device", func() bool { return s.push.offer })
	s.settleOffer(false)
	if v, _ := browser.StorageGet(pushOfferKey); v != "no" || s.push.offer {
		t.Fatalf("Not now kept as %q, offer %v", v, s.push.offer)
	}
	browser.StorageRemove(pushOfferKey)
	h.f.errs["PushPublicKey"] = &wire.Error{Code: wire.CodeNotFound, Reason: wire.ReasonNotFound, Message: "push off"}
	asked()
	call(true)
	h.until("the server asked for its key", asked)
	if offered() {
		t.Fatal("offered by a server that does not push")
	}
}
