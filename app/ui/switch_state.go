package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// The switch of a 1:1 voice call to video; its view is in switch.go.

// switchState is the switch of a 1:1 voice call to video.
type switchState struct {
	state    string // switchNone, switchRequesting or switchAsked
	from     string // JID of who asked (switchAsked)
	busy     bool
	infoOpen bool // the "no switch in group calls" explanation is open
}

// Switch states of the current call.
const (
	switchNone       = ""
	switchRequesting = "requesting" // we asked; waiting for the answer
	switchAsked      = "asked"      // the other side asked us
)

// turnOnVideo is the "Turn on video" control of a voice call.
func (s *session) turnOnVideo(ctx app.Context) {
	if s.groupCall() {
		s.sw.infoOpen = true
		s.deferFocus(ctx, "video-info")
		return
	}
	if s.sw.state != switchNone || s.sw.busy {
		return
	}
	s.sw.busy = true
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.RequestVideoCallSwitch(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.sw.busy = false
		if err != nil {
			s.page.notice = "Video couldn't be requested. " + humanError(actSwitch, err, browser.SecureContext())
			return
		}
		if s.callVideo() {
			return // accepted already
		}
		s.sw.state = switchRequesting
		s.deferFocus(ctx, "switch-cancel")
	})
}

// switchAnswer sends accept, decline or cancel.
func (s *session) switchAnswer(ctx app.Context, action string) {
	if s.sw.busy {
		return
	}
	s.sw.busy = true
	prev := s.sw.state
	run(s, 20*time.Second, func(c context.Context) (struct{}, error) {
		switch action {
		case wire.SwitchAccept:
			return struct{}{}, s.eng.AcceptVideoCallSwitchRequest(c)
		case wire.SwitchDecline:
			return struct{}{}, s.eng.DeclineVideoCallSwitchRequest(c)
		}
		return struct{}{}, s.eng.CancelVideoCallSwitchRequest(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.sw.busy = false
		if s.sw.state == prev {
			s.sw.state = switchNone
		}
		if err != nil && code(err) != wire.CodeNotInCall {
			s.page.notice = humanError(actSwitch, err, browser.SecureContext())
		}
		s.refresh(ctx)
		s.deferFocus(ctx, "toggle-mic")
	})
}

// onSwitch handles callSwitchListener.
func (s *session) onSwitch(ctx app.Context, ev event.CallSwitch) {
	mine := ev.LocalUser || ev.UserJID == s.account.user.JID
	name := s.displayName(ev.UserJID)
	switch ev.Status {
	case wire.SwitchRequest:
		if mine {
			if !s.callVideo() {
				s.sw.state = switchRequesting
			}
			return
		}
		s.sw.state, s.sw.from = switchAsked, ev.UserJID
		s.deferFocus(ctx, "switch-dialog")
	case wire.SwitchAccept:
		s.sw.state = switchNone
		if !mine {
			s.setNote(name + " turned on video.")
		}
	case wire.SwitchDecline:
		if s.sw.state == switchRequesting && !mine {
			s.setNote(name + " declined video. The call stays a voice call.")
		}
		s.sw.state = switchNone
	case wire.SwitchCancel:
		if s.sw.state == switchAsked && !mine {
			s.setNote(name + " cancelled the video request.")
		}
		s.sw.state = switchNone
	case wire.SwitchTimeout:
		if s.sw.state == switchRequesting {
			s.setNote("No answer to your video request. The call stays a voice call.")
		} else if s.sw.state == switchAsked {
			s.setNote("The video request timed out.")
		}
		s.sw.state = switchNone
	}
	s.refresh(ctx)
}
