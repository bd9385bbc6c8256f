package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
)

// Engine events reach the page through apply, on the UI goroutine. apply is
// the one switch over the engine's event types; every type's handler sits
// beside the state it changes (onStatus in incall_state.go, onSwitch in
// switch_state.go, onInvite in invite_state.go, onData in chat_state.go,
// onUsers in join_state.go, ...).

// apply handles one engine event on the UI goroutine.
func (s *session) apply(ctx app.Context, ev event.Event) {
	defer s.afterUpdate()
	if s.phase == phaseSignedOut || s.phase == phaseLoading {
		if _, ok := ev.(event.ConnectionStatus); !ok {
			return
		}
	}
	switch ev := ev.(type) {
	case event.IncomingCall:
		s.onIncoming(ctx, ev)
	case event.CallStatus:
		s.onStatus(ctx, ev)
		s.saveTab()
	case event.CallResumed:
		s.onCallResumed(ctx, ev)
	case event.UserTrack:
		s.onTrack(ctx, ev)
	case event.MuteStatus:
		s.onMute(ev)
		s.saveTab()
	case event.MissedCall:
		s.onMissed(ctx, ev)
	case event.MediaError:
		s.onMediaError(ev)
	case event.CallUsersUpdate:
		s.onUsers(ev)
	case event.CallUserJoined:
		s.onUserJoinedOrLeft(event.CallUserEvent(ev), false)
	case event.CallUserLeft:
		s.onUserJoinedOrLeft(event.CallUserEvent(ev), true)
	case event.CallSwitch:
		if s.phase == phaseInCall {
			s.onSwitch(ctx, ev)
		}
	case event.InviteUsers:
		if s.phase == phaseInCall || s.phase == phaseOutgoing {
			s.onInvite(ctx, ev)
		}
	case event.CustomData:
		s.onData(ev)
	case event.Speaking:
		s.onSpeaking(ev)
	case event.ConnectionStatus:
		s.onConnection(ev)
	case event.CallJoinRequest:
		s.onJoinRequest(ctx, ev)
	case event.CallQuality:
		s.onQuality(ev)
	case event.ScreenShare:
		s.onScreenShare(ctx, ev)
	}
}
