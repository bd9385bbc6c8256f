package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
	"parley/app/wire"
)

// Screen sharing in the call: who shares (the call snapshot's sharer), the
// share toggle and its keyboard shortcut; the layout is in screen.go.

// screenState is this page's side of screen sharing.
type screenState struct {
	busy bool // a share or stop request is under way
}

// sharer is the JID of who shares their screen in the current call, "" for
// nobody.
func (s *session) sharer() string {
	if !s.call.has {
		return ""
	}
	return s.call.snap.ScreenSharer
}

// presenting reports whether this user shares their screen.
func (s *session) presenting() bool {
	return s.sharer() != "" && s.sharer() == s.account.user.JID
}

// toggleScreen starts sharing the screen, or stops this user's share (the
// share button, the S key and the presenting bar's Stop).
func (s *session) toggleScreen(ctx app.Context) {
	if s.screen.busy {
		return
	}
	stop := s.presenting()
	s.screen.busy = true
	// The browser's picker waits for the user: no short timeout.
	run(s, 5*time.Minute, func(c context.Context) (struct{}, error) {
		if stop {
			return struct{}{}, s.eng.StopScreenShare(c)
		}
		return struct{}{}, s.eng.ShareScreen(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.screen.busy = false
		s.refresh(ctx)
		switch {
		case err == nil:
		case code(err) == wire.CodeScreenDenied:
			s.setNote("Screen sharing was cancelled or is not allowed.")
		default:
			s.setNote(humanError(actScreen, err, true))
		}
	})
}

// onScreenShare handles screenShareListener: the snapshot names the new
// sharer, and a share replaced or ended is said in a note.
func (s *session) onScreenShare(ctx app.Context, ev event.ScreenShare) {
	s.refresh(ctx)
	if s.phase != phaseInCall {
		return
	}
	me := s.account.user.JID
	switch {
	case ev.Sharing && ev.UserJID != me && ev.Replacing != me: // a replaced sharer hears why below
		s.setNote(s.displayName(ev.UserJID) + " is sharing their screen.")
	case !ev.Sharing && ev.UserJID == me && ev.Replaced:
		s.setNote(s.displayName(ev.ReplacedBy) + " is sharing now; your screen share stopped.")
	}
}

// actScreen words sharing's errors as the media toggles' are worded.
const actScreen = actMute
