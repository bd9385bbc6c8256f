package ui

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
	"parley/app/wire"
)

// TestKnockCardAndGuestLabels: in a call, a guest's knock shows a card
// "Gina (guest) wants to join"; Admit lets them in through the engine and the
// card goes; another member's decision clears a card; a guest's name carries
// "(guest)" on the tiles.
func TestKnockCardAndGuestLabels(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/abc-defg-hij") })
	h.do(0, func(ctx app.Context) { s.subscribe(ctx, "Carol") })
	h.until("preview", func() bool { return s.join.stage == joinPreview })
	h.do(0, func(ctx app.Context) { s.joinNow(ctx) })
	h.until("in call", func() bool { return s.phase == phaseInCall })

	gina := event.CallJoinRequest{RequestID: "k1", RoomID: "room1", UserJID: "guest-9@localhost", DisplayName: "Alice Liddell",
		Guest: true, Status: event.JoinWaiting}
	h.f.sink(gina)
	h.until("the knock card", func() bool { return len(s.knock.reqs) == 1 })
	if got := s.displayName(gina.UserJID); got != "Alice Liddell (guest)" {
		t.Errorf("a guest named like a member shows as %q", got)
	}
	h.render()

	h.do(1, func(ctx app.Context) { s.answerKnock(ctx, s.knock.reqs[0], true) })
	if !h.f.called("AdmitUser guest-9@localhost") || len(s.knock.reqs) != 0 {
		t.Errorf("admit: called %v, cards %d", h.f.calls, len(s.knock.reqs))
	}
	if !strings.Contains(s.note.text, "(guest)") {
		t.Errorf("note %q", s.note.text)
	}

	// Another member denies the next knock: the card goes here too.
	h.f.sink(event.CallJoinRequest{RequestID: "k2", RoomID: "room1", UserJID: "dave@localhost", DisplayName: "Dave", Status: event.JoinWaiting})
	h.until("second card", func() bool { return len(s.knock.reqs) == 1 })
	h.f.sink(event.CallJoinRequest{RequestID: "k2", RoomID: "room1", UserJID: "dave@localhost", Status: wire.KnockDenied, By: "alice@localhost"})
	h.until("card cleared", func() bool { return len(s.knock.reqs) == 0 })
	if !strings.Contains(s.note.text, "did not let Dave in") {
		t.Errorf("note %q", s.note.text)
	}

	// A guest in the call is labelled on its tile.
	c, _ := h.f.CurrentCall()
	c.Participants = append(c.Participants, wire.Participant{JID: "guest-9@localhost", DisplayName: "Alice Liddell", Status: wire.StatusConnecting, Guest: true})
	h.f.setCall(&c)
	h.f.sink(event.CallStatus{UserJID: "guest-9@localhost", Status: wire.StatusConnecting, RoomID: "room1"})
	h.until("three remotes", func() bool { return len((&Shell{s: s}).inCall().(*InCall).Remotes) == 3 })
	names := map[string]bool{}
	for _, r := range (&Shell{s: s}).inCall().(*InCall).Remotes {
		names[r.Name] = true
	}
	if !names["Alice Liddell (guest)"] || !names["Alice Liddell"] {
		t.Errorf("tile names %v: the guest must be told apart from the member", names)
	}
}

// TestJoinWaitsToBeLetIn: Join now on a link that knocks shows the waiting
// state; a refusal shows "You were not let in".
func TestJoinWaitsToBeLetIn(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.f.knock = make(chan error, 1)
	h.do(0, func(ctx app.Context) { s.navigated(ctx, "/join/abc-defg-hij") })
	h.do(0, func(ctx app.Context) { s.subscribe(ctx, "Gina") })
	h.until("preview", func() bool { return s.join.stage == joinPreview })
	h.do(0, func(ctx app.Context) { s.joinNow(ctx) })
	h.until("waiting", func() bool { return s.join.waiting })
	if v := (&Shell{s: s}).screen().(*Join); !v.Waiting || v.Stage != joinJoining {
		t.Errorf("join view while waiting %+v", v)
	}
	h.f.knock <- wire.Errorf(wire.CodeNotAdmitted, wire.ReasonNotAdmitted, "You were not let in.")
	h.until("refused", func() bool { return s.join.stage == joinFailed })
	if s.join.errCode != wire.CodeNotAdmitted || joinErrorTitle(s.join.errCode) != "You were not let in" || s.join.waiting {
		t.Errorf("refused: code %d %q waiting %v", s.join.errCode, s.join.err, s.join.waiting)
	}
}
