package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/wire"
)

// Keyboard shortcuts of the in-call screen; the help dialog is in shortcuts.go.

// onKey handles a keydown anywhere on the page during a call. It reports
// whether the key was a shortcut: any other key must not re-render the call
// screen, which would make typing in a busy call lag.
func (s *session) onKey(ctx app.Context, k browser.Key) bool {
	if s.phase != phaseInCall || !k.MayBeShortcut() || s.ring.has {
		return false
	}
	if k.Key == "Escape" {
		s.escape(ctx)
		return true
	}
	if s.dialogOpen() {
		return false
	}
	switch k.Key {
	case "m", "M":
		s.toggleMic(ctx)
	case "v", "V":
		if s.callVideo() {
			s.toggleCam(ctx)
		} else {
			s.setNote("This is a voice call: use Turn on video to ask for video.")
		}
	case "c", "C":
		s.togglePanel(ctx)
	case "s", "S":
		s.toggleScreen(ctx)
	case "?":
		s.call.helpOpen = true
		s.deferFocus(ctx, "help-dialog")
	default:
		return false
	}
	return true
}

// escape closes the topmost dialog or panel.
func (s *session) escape(ctx app.Context) {
	switch {
	case s.call.helpOpen:
		s.call.helpOpen = false
		s.deferFocus(ctx, "toggle-mic")
	case s.call.audioOpen:
		s.call.audioOpen = false
		s.deferFocus(ctx, "open-audio")
	case s.sw.state == switchAsked:
		s.switchAnswer(ctx, wire.SwitchDecline)
	case s.sw.infoOpen:
		s.sw.infoOpen = false
		s.deferFocus(ctx, "switch-video")
	case s.inviteForm.open:
		s.closeInvite(ctx)
	case s.chat.open:
		s.togglePanel(ctx)
	}
}
