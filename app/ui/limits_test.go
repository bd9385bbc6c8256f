package ui

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

// TestServerLimits: what the UI allows follows the server's limits from the
// engine, not numbers of its own; before sign-in it uses wire.DefaultLimits.
func TestServerLimits(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.f.limits = wire.Limits{MaxParticipants: 4, MaxDisplayName: 10, MaxGroupID: 8, MaxCustomData: 1024}
	if got := s.limits(); got != wire.DefaultLimits() {
		t.Errorf("limits before sign-in = %+v, want the defaults", got)
	}
	h.do(2, func(ctx app.Context) { s.register(ctx, "alice", "secret-password", strings.Repeat("a", 11)) })
	if s.page.notice != "" || s.phase != phaseHome {
		t.Errorf("an 11-character name refused before sign-in (default limit): %q", s.page.notice)
	}

	h = newHarness(t)
	s = h.s
	h.f.limits = wire.Limits{MaxParticipants: 4, MaxDisplayName: 10, MaxGroupID: 8, MaxCustomData: 1024}
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "alice", "secret-password") })
	if got := s.limits(); got != h.f.limits {
		t.Fatalf("limits after sign-in = %+v, want the engine's %+v", got, h.f.limits)
	}

	// Four others make five people: one too many.
	h.do(0, func(ctx app.Context) { s.dial(ctx, "bob, carol, dave, erin", false) })
	if s.phase != phaseHome || s.page.notice != "A call has at most 4 people: call up to 3 others." {
		t.Fatalf("dialling 4 others: phase %v notice %q", s.phase, s.page.notice)
	}
	if h.f.called("MakeCall") {
		t.Error("MakeCall was called over the limit")
	}

	// The group name counts bytes, as the server does.
	s.dialForm.group = "Book club"
	h.do(0, func(ctx app.Context) { s.dial(ctx, "bob, carol", false) })
	if s.page.notice != "A group name has at most 8 characters." {
		t.Errorf("9-byte group name: %q", s.page.notice)
	}
	s.dialForm.group = "Café 1"
	// One dispatch: the call made. (do(0) then settle(1) lost it when the
	// fake engine answered before do's ConsumeAll, which then ran it.)
	h.do(1, func(ctx app.Context) { s.dial(ctx, "bob, carol", false) })
	if s.page.notice != "" {
		t.Errorf("7-byte group name refused: %q", s.page.notice)
	}
	if h.f.groupID != "Café 1" {
		t.Errorf("group ID %q", h.f.groupID)
	}
	h.do(1, func(ctx app.Context) { s.hangUp(ctx) })
	h.until("home", func() bool { return s.phase == phaseHome })

	// Three others fit; in the call, there is room for one more.
	h.do(1, func(ctx app.Context) { s.dial(ctx, "bob, carol, dave", false) })
	if s.phase != phaseOutgoing {
		t.Fatalf("dialling 3 others: phase %v notice %q", s.phase, s.page.notice)
	}
	if _, msg := s.inviteNames("erin, frank"); msg != "A call has at most 4 people, so there is room for 0 more." {
		t.Errorf("invite over the limit: %q", msg)
	}
	if got := inviteError(&wire.Error{Code: wire.CodeCallFull}, []string{"erin"}, s.limits().MaxParticipants); !strings.Contains(got, "at most 4 people") {
		t.Errorf("call full: %q", got)
	}
}
