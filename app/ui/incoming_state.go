package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// ringState is the incoming call ringing on this tab.
type ringState struct {
	call      wire.Call
	has       bool
	name      string // the caller's name
	kind      string // the call type, wire.TypeAudio or wire.TypeVideo
	answering bool
	stop      func() // stops the ringtone; nil when silent
}

// answer, decline, hangUp, toggleMic and toggleCam are the call actions.
func (s *session) answer(ctx app.Context) {
	if s.ring.answering {
		return
	}
	s.ring.answering = true
	s.stopRinging()
	s.clearCall()
	run(s, 45*time.Second, func(c context.Context) (struct{}, error) {
		s.applyDevices(c)
		return struct{}{}, s.eng.AnswerCall(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.ring.answering = false
		if err != nil {
			s.page.notice = humanError(actAnswer, err, browser.SecureContext())
		}
		s.refresh(ctx)
	})
}

// decline declines the incoming call.
func (s *session) decline(ctx app.Context) {
	s.stopRinging()
	s.ring.has = false
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.DeclineCall(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil && code(err) != wire.CodeNotFound {
			s.page.notice = humanError(actDecline, err, true)
		}
		s.refresh(ctx)
		if s.phase == phaseHome {
			s.loadLogs(ctx, 1)
		}
	})
}

// onIncoming handles incomingCallListener: the card and the ringtone.
func (s *session) onIncoming(ctx app.Context, ev event.IncomingCall) {
	s.learn(ev.UserJID, ev.UserDetails.DisplayName, ev.UserDetails.Guest)
	s.refresh(ctx)
	if s.ring.has {
		s.ring.name = s.displayName(ev.UserJID)
		s.ring.kind = ev.CallType
		s.notify(ctx, ev)
	}
	s.autoAnswer(ctx)
}

// refreshRing reads the engine's snapshot of the incoming call: the card
// shows and the ringtone plays while it rings.
func (s *session) refreshRing() {
	inc, ok := s.eng.Incoming()
	if ok && inc.State != wire.CallStateEnded {
		if !s.ring.has || s.ring.call.RoomID != inc.RoomID {
			s.ring.name, s.ring.kind = "", inc.Type
		}
		s.ring.call, s.ring.has = inc, true
		for _, p := range inc.Participants {
			s.learn(p.JID, p.DisplayName, p.Guest)
		}
		if s.ring.name == "" {
			s.ring.name = s.displayName(inc.Initiator)
		}
		if s.ring.kind == "" {
			s.ring.kind = inc.Type
		}
		if s.ring.stop == nil {
			s.ring.stop = browser.StartRingtone()
		}
	} else {
		s.ring.has = false
		s.stopRinging()
	}
}

// stopRinging stops the ringtone, if it plays.
func (s *session) stopRinging() {
	if s.ring.stop != nil {
		s.ring.stop()
		s.ring.stop = nil
	}
}

// notify shows a system notification for an incoming call while the tab is
// hidden.
func (s *session) notify(ctx app.Context, ev event.IncomingCall) {
	title := "Incoming " + kindWord(ev.CallType) + " call"
	body := s.ring.name + " is calling you on Parley."
	tag := "parley-call-" + ev.RoomID
	go func() {
		// A notification that cannot show leaves the ringing card and the
		// ringtone; the console says why, for whoever looks.
		if err := browser.ShowNotification(browser.Notification{Title: title, Body: body, Icon: "/web/icon-192.png", Tag: tag}); err != nil {
			app.Logf("parley: the incoming call's notification did not show: %v", err)
		}
	}()
}
