package ui

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

func TestJoinAsGuest(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/abc-defg-hij") })
	if s.phase != phaseJoin || s.joinStage != joinName {
		t.Fatalf("visitor on a link: phase %v stage %v", s.phase, s.joinStage)
	}
	h.render()

	h.do(0, func(ctx app.Context) { s.subscribe(ctx, "  ") })
	if !strings.Contains(s.joinField, "Enter your name") || h.f.called("SubscribeCall") {
		t.Errorf("empty name: field %q, subscribed %v", s.joinField, h.f.called("SubscribeCall"))
	}

	h.do(0, func(ctx app.Context) { s.subscribe(ctx, " Carol ") })
	h.until("preview", func() bool { return s.joinStage == joinPreview && len(s.joinUsers) == 2 })
	if !s.user.Guest || s.user.DisplayName != "Carol" || !s.subscribed {
		t.Errorf("guest %+v subscribed %v", s.user, s.subscribed)
	}
	if _, ok := s.tracks["local:video"]; !ok {
		t.Error("no local preview track")
	}
	view := (&Shell{s: s}).screen().(*Join)
	if len(view.Users) != 2 || view.Users[0].Name != "Alice Liddell" || !view.Guest || !view.HasVideo {
		t.Errorf("preview view %+v", view)
	}

	// Somebody leaves: the list follows.
	h.f.sink(Event{Kind: EventUsers, RoomID: "room1", Users: previewUsers[:1]})
	h.until("one user", func() bool { return len(s.joinUsers) == 1 })

	h.do(0, func(ctx app.Context) { s.joinNow(ctx) })
	h.until("in call", func() bool { return s.phase == phaseInCall })
	call := (&Shell{s: s}).inCall().(*InCall)
	if len(call.Remotes) != 2 || !call.ByLink {
		t.Errorf("in-call view %+v", call)
	}
	h.do(0, func(ctx app.Context) { s.showCallLink(ctx) })
	h.until("call link", func() bool { return s.callLink != "" })

	// The call ends: a guest stays on the ended screen and may rejoin.
	h.f.setCall(nil)
	h.f.sink(Event{Kind: EventStatus, UserJID: s.user.JID, LocalUser: true, Status: wire.StatusEnded, Closed: true})
	h.until("ended", func() bool { return s.phase == phaseEnded })
	if e, ok := (&Shell{s: s}).screen().(*Ended); !ok || !e.Guest {
		t.Errorf("guest's ended screen %+v", (&Shell{s: s}).screen())
	}
	// Done leaves Parley's call page: the guest is signed out.
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/") })
	h.until("signed out", func() bool { return s.phase == phaseSignedOut && h.f.called("Logout") })
	if s.user.JID != "" {
		t.Errorf("guest still signed in as %+v", s.user)
	}
}

func TestJoinFailures(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/not-a-code") })
	if s.joinStage != joinFailed || s.joinErrCode != wire.CodeInvalidLink || !strings.Contains(s.joinErr, "isn't valid") {
		t.Fatalf("invalid code: stage %v code %d %q", s.joinStage, s.joinErrCode, s.joinErr)
	}
	h.render()

	for _, tc := range []struct {
		code        int
		title, text string
	}{
		{wire.CodeCallEnded, "This call has ended", "Everyone has left"},
		{wire.CodeCallFull, "This call is full", "Try again when someone leaves"},
		{wire.CodeCameraDenied, "camera or microphone", "camera"},
		{wire.CodeInvalidLink, "doesn't work", "ask the person who shared it"},
	} {
		h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/abc-defg-hij") })
		h.f.errs["SubscribeCall"] = &wire.Error{Code: tc.code, Message: "no"}
		h.do(0, func(ctx app.Context) { s.subscribe(ctx, "Carol") })
		h.until("failure", func() bool { return s.joinStage == joinFailed })
		if !strings.Contains(joinErrorTitle(s.joinErrCode), tc.title) || !strings.Contains(s.joinErr, tc.text) {
			t.Errorf("code %d: %q / %q", tc.code, joinErrorTitle(s.joinErrCode), s.joinErr)
		}
		h.do(0, func(ctx app.Context) { s.navigated(ctx, "/") })
	}
}

func TestJoinSignedInPreviewEndsAndBack(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "dave", "secret-password") })
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/abc-defg-hij") })
	h.until("preview", func() bool { return s.joinStage == joinPreview && len(s.joinUsers) == 2 })
	if s.user.Guest || s.user.JID != "dave@localhost" {
		t.Errorf("user %+v", s.user)
	}

	// Everyone leaves while dave previews.
	h.f.sink(Event{Kind: EventUsers, RoomID: "room1", Users: []CallUser{}})
	h.until("ended", func() bool { return s.joinStage == joinFailed })
	if s.joinErrCode != wire.CodeCallEnded || s.subscribed {
		t.Errorf("ended preview: code %d subscribed %v", s.joinErrCode, s.subscribed)
	}

	// Opening it again and leaving releases the preview.
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/xyz-abcd-efg") })
	h.until("preview again", func() bool { return s.joinStage == joinPreview })
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/") })
	h.until("home", func() bool { return s.phase == phaseHome && h.f.called("UnsubscribeCall") })
	if _, ok := s.tracks["local:video"]; ok {
		t.Error("camera preview still attached after leaving")
	}

	// Home creates a link.
	h.do(0, func(ctx app.Context) { s.newMeetLink(ctx) })
	h.until("meet link", func() bool { return s.meetLink != "" })
	if codeOfLink(s.meetLink) != "abc-defg-hij" {
		t.Errorf("code of %q", s.meetLink)
	}
}
