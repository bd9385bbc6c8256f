package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
	"parley/app/wire"
)

func (f *fakeEngine) GetSessions(context.Context) ([]wire.SessionInfo, error) {
	if err := f.fail("GetSessions"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.SessionInfo(nil), f.sessions...), nil
}

func (f *fakeEngine) EndSession(_ context.Context, id string) error {
	if err := f.fail("EndSession"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, si := range f.sessions {
		if si.SessionID == id && !si.Current {
			f.sessions = append(f.sessions[:i:i], f.sessions[i+1:]...)
			return nil
		}
	}
	return wire.NotFound("no session %q", id)
}

func (f *fakeEngine) LogoutOtherSessions(context.Context) (int, error) {
	if err := f.fail("LogoutOtherSessions"); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var kept []wire.SessionInfo
	for _, si := range f.sessions {
		if si.Current {
			kept = append(kept, si)
		}
	}
	n := len(f.sessions) - len(kept)
	f.sessions = kept
	return n, nil
}

func TestLastActive(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) wire.SessionInfo { return wire.SessionInfo{LastActiveAt: now.Add(-d).UnixMilli()} }
	for _, tc := range []struct {
		si   wire.SessionInfo
		want string
	}{
		{wire.SessionInfo{Online: true, LastActiveAt: now.Add(-72 * time.Hour).UnixMilli()}, "Active now"},
		{wire.SessionInfo{Current: true}, "Active now"},
		{at(10 * time.Second), "Active less than a minute ago"},
		{at(time.Minute), "Active 1 minute ago"},
		{at(59 * time.Minute), "Active 59 minutes ago"},
		{at(3 * time.Hour), "Active 3 hours ago"},
		{at(30 * time.Hour), "Active yesterday"},
		{at(9 * 24 * time.Hour), "Active 9 days ago"},
	} {
		if got := lastActive(tc.si, now); got != tc.want {
			t.Errorf("lastActive(%+v) = %q, want %q", tc.si, got, tc.want)
		}
	}
}

// TestSignIns: the settings card lists the sessions, signs one out, then all
// others; errors become sentences and keep the list; being signed out from
// elsewhere brings the sign-in screen with a reason.
func TestSignIns(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "alice", "secret-password") })
	if s.phase != phaseHome {
		t.Fatalf("phase %v", s.phase)
	}
	now := time.Now()
	h.f.sessions = []wire.SessionInfo{
		{SessionID: "cur", Device: "Chromium on Linux", Current: true, Online: true, LastActiveAt: now.UnixMilli()},
		{SessionID: "ph", Device: "Safari on iPhone", LastActiveAt: now.Add(-3 * time.Hour).UnixMilli()},
		{SessionID: "pc", Device: "", Online: true, LastActiveAt: now.UnixMilli()},
	}
	h.do(1, func(app.Context) { s.loadSessions() })
	if len(s.signIns.list) != 3 || !s.signIns.loaded || s.signIns.err != "" {
		t.Fatalf("after loading: %+v", s.signIns)
	}
	card := (&SignIns{S: s}).Render()
	html := app.HTMLString(card)
	for _, want := range []string{"Where you&#39;re signed in", "This device", "Safari on iPhone", "Active 3 hours ago",
		"Unknown device", `aria-label="Sign out Safari on iPhone (Active 3 hours ago)"`, "Sign out of all other sessions"} {
		if !strings.Contains(html, want) {
			t.Errorf("the card lacks %q:\n%s", want, html)
		}
	}
	if n := strings.Count(html, "signin-end"); n != 2 {
		t.Errorf("%d sign-out buttons, want 2 (not one for this device)", n)
	}

	// A failure keeps the list and says what happened.
	h.f.errs["EndSession"] = wire.Unreachable("down")
	h.do(1, func(app.Context) { s.endSession("ph") })
	if len(s.signIns.list) != 3 || !strings.Contains(s.signIns.err, "couldn't sign out Safari on iPhone") {
		t.Fatalf("after a failed sign-out: %+v", s.signIns)
	}
	h.do(2, func(app.Context) { s.endSession("ph") }) // the sign-out, then the new list
	if len(s.signIns.list) != 2 || s.signIns.msg != "Signed out of Safari on iPhone." || s.signIns.err != "" {
		t.Fatalf("after the sign-out: %+v", s.signIns)
	}
	h.do(2, func(app.Context) { s.logoutOtherSessions() })
	if len(s.signIns.list) != 1 || !s.signIns.list[0].Current || s.signIns.msg != "Signed out of 1 other session." {
		t.Fatalf("after signing out the others: %+v", s.signIns)
	}
	if html := app.HTMLString((&SignIns{S: s}).Render()); strings.Contains(html, "signout-others") {
		t.Error("'Sign out of all other sessions' shown with no other session")
	}

	// Signed out from another device: the sign-in screen says so.
	h.f.sink(event.ConnectionStatus{Status: event.AuthFail, Reason: event.ReasonRevoked})
	h.settle(1)
	if s.phase != phaseSignedOut || !strings.Contains(s.page.notice, "signed out from another device") {
		t.Fatalf("after a revoke: phase %v notice %q", s.phase, s.page.notice)
	}
	if s.signIns.list != nil {
		t.Error("the list of sessions outlived the sign-out")
	}
}
