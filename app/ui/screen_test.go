package ui

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// TestScreenShareState: the S key and the share button share and stop; the
// in-call screen then shows the presenting bar and, for the sharer, the
// placeholder instead of their own screen; someone else's share replaces
// ours with a note; a cancelled picker says so and changes nothing.
func TestScreenShareState(t *testing.T) {
	h := inVoiceCall(t)
	s := h.s
	me, bob := "alice@localhost", "bob@localhost"
	view := func() *InCall { return (&Shell{s: s}).inCall().(*InCall) }

	h.do(1, func(ctx app.Context) { s.onKey(ctx, browser.Key{Key: "s"}) })
	if !h.f.called("ShareScreen") || !s.presenting() {
		t.Fatalf("after S: share called %v, presenting %v", h.f.called("ShareScreen"), s.presenting())
	}
	if v := view(); !v.Presenting || v.Sharer != me {
		t.Errorf("in-call view while presenting: presenting %v sharer %q", v.Presenting, v.Sharer)
	}

	// Bob shares: his replaces ours.
	h.f.mu.Lock()
	h.f.call.ScreenSharer = bob
	h.f.mu.Unlock()
	h.f.sink(event.ScreenShare{RoomID: "room1", UserJID: me, LocalUser: true, Replaced: true, ReplacedBy: bob})
	h.f.sink(event.ScreenShare{RoomID: "room1", UserJID: bob, Sharing: true, Replacing: me})
	h.settle(2)
	if s.presenting() || s.sharer() != bob || !strings.Contains(s.note.text, "your screen share stopped") {
		t.Errorf("after bob's share: presenting %v sharer %q note %q", s.presenting(), s.sharer(), s.note.text)
	}
	if v := view(); v.Presenting || v.Sharer != bob || v.SharerName != "Bob Marley" {
		t.Errorf("in-call view of bob's share: %+v", v)
	}

	// A cancelled picker: a note, nothing shared.
	h.f.mu.Lock()
	h.f.call.ScreenSharer = ""
	h.f.errs = map[string]error{"ShareScreen": wire.MediaDenied(wire.CodeScreenDenied, "cancelled")}
	h.f.mu.Unlock()
	h.do(1, func(ctx app.Context) { s.toggleScreen(ctx) })
	if s.presenting() || !strings.Contains(s.note.text, "cancelled") {
		t.Errorf("after a cancelled picker: presenting %v note %q", s.presenting(), s.note.text)
	}

	// Share, then stop with the same control.
	h.do(1, func(ctx app.Context) { s.toggleScreen(ctx) })
	h.do(1, func(ctx app.Context) { s.toggleScreen(ctx) })
	if !h.f.called("StopScreenShare") || s.presenting() {
		t.Errorf("after stop: stop called %v presenting %v", h.f.called("StopScreenShare"), s.presenting())
	}
}
