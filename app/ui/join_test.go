package ui

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
	"parley/app/wire"
)

func TestJoinAsGuest(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/abc-defg-hij") })
	if s.phase != phaseJoin || s.join.stage != joinName {
		t.Fatalf("visitor on a link: phase %v stage %v", s.phase, s.join.stage)
	}
	h.render()

	h.do(0, func(ctx app.Context) { s.subscribe(ctx, "  ") })
	if !strings.Contains(s.join.field, "Enter your name") || h.f.called("SubscribeCall") {
		t.Errorf("empty name: field %q, subscribed %v", s.join.field, h.f.called("SubscribeCall"))
	}

	h.do(0, func(ctx app.Context) { s.subscribe(ctx, " Carol ") })
	h.until("preview", func() bool { return s.join.stage == joinPreview && len(s.join.users) == 2 })
	if !s.account.user.Guest || s.account.user.DisplayName != "Carol" || !s.join.subscribed {
		t.Errorf("guest %+v subscribed %v", s.account.user, s.join.subscribed)
	}
	if _, ok := s.media.tracks["local:video"]; !ok {
		t.Error("no local preview track")
	}
	view := (&Shell{s: s}).screen().(*Join)
	if len(view.Users) != 2 || view.Users[0].DisplayName != "Alice Liddell" || !view.Guest || !view.HasVideo {
		t.Errorf("preview view %+v", view)
	}

	// Somebody leaves: the list follows.
	h.f.sink(event.CallUsersUpdate{RoomID: "room1", UsersList: previewUsers[:1]})
	h.until("one user", func() bool { return len(s.join.users) == 1 })

	h.do(0, func(ctx app.Context) { s.joinNow(ctx) })
	h.until("in call", func() bool { return s.phase == phaseInCall })
	call := (&Shell{s: s}).inCall().(*InCall)
	if len(call.Remotes) != 2 || !call.ByLink {
		t.Errorf("in-call view %+v", call)
	}
	h.do(0, func(ctx app.Context) { s.showCallLink(ctx) })
	h.until("call link", func() bool { return s.call.link != "" })

	// The call ends: a guest stays on the ended screen and may rejoin.
	h.f.setCall(nil)
	closed := "closed"
	h.f.sink(event.CallStatus{UserJID: s.account.user.JID, LocalUser: true, Status: wire.StatusEnded, SessionStatus: &closed})
	h.until("ended", func() bool { return s.phase == phaseEnded })
	if e, ok := (&Shell{s: s}).screen().(*Ended); !ok || !e.Guest {
		t.Errorf("guest's ended screen %+v", (&Shell{s: s}).screen())
	}
	// Done leaves Parley's call page: the guest is signed out.
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/") })
	h.until("signed out", func() bool { return s.phase == phaseSignedOut && h.f.called("Logout") })
	if s.account.user.JID != "" {
		t.Errorf("guest still signed in as %+v", s.account.user)
	}
}

func TestJoinFailures(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/not-a-code") })
	if s.join.stage != joinFailed || s.join.errCode != wire.CodeInvalidLink || !strings.Contains(s.join.err, "isn't valid") {
		t.Fatalf("invalid code: stage %v code %d %q", s.join.stage, s.join.errCode, s.join.err)
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
		h.until("failure", func() bool { return s.join.stage == joinFailed })
		if !strings.Contains(joinErrorTitle(s.join.errCode), tc.title) || !strings.Contains(s.join.err, tc.text) {
			t.Errorf("code %d: %q / %q", tc.code, joinErrorTitle(s.join.errCode), s.join.err)
		}
		h.do(0, func(ctx app.Context) { s.navigated(ctx, "/") })
	}
}

func TestJoinSignedInPreviewEndsAndBack(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "dave", "secret-password") })
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/abc-defg-hij") })
	h.until("preview", func() bool { return s.join.stage == joinPreview && len(s.join.users) == 2 })
	if s.account.user.Guest || s.account.user.JID != "dave@localhost" {
		t.Errorf("user %+v", s.account.user)
	}

	// Everyone leaves while dave previews.
	h.f.sink(event.CallUsersUpdate{RoomID: "room1", UsersList: []event.CallUser{}})
	h.until("ended", func() bool { return s.join.stage == joinFailed })
	if s.join.errCode != wire.CodeCallEnded || s.join.subscribed {
		t.Errorf("ended preview: code %d subscribed %v", s.join.errCode, s.join.subscribed)
	}

	// Opening it again and leaving releases the preview.
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/xyz-abcd-efg") })
	h.until("preview again", func() bool { return s.join.stage == joinPreview })
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/") })
	h.until("home", func() bool { return s.phase == phaseHome && h.f.called("UnsubscribeCall") })
	if _, ok := s.media.tracks["local:video"]; ok {
		t.Error("camera preview still attached after leaving")
	}

	// Home creates a link.
	h.do(0, func(ctx app.Context) { s.newMeetLink(ctx) })
	h.until("meet link", func() bool { return s.meet.link != "" })
	if codeOfLink(s.meet.link) != "abc-defg-hij" {
		t.Errorf("code of %q", s.meet.link)
	}
	if h.f.called("CreateMeetLink open") {
		t.Error("a link was made open though nobody asked for it")
	}

	// With "Let people in without asking" ticked, the link is open.
	h.do(0, func(ctx app.Context) {
		s.meet.link, s.meet.open = "", true
		s.newMeetLink(ctx)
	})
	h.until("open meet link", func() bool { return s.meet.link != "" && h.f.called("CreateMeetLink open") })
}
