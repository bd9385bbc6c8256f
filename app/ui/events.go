package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Engine events reach the page through apply, on the UI goroutine. apply is
// the one switch over EventKind; every kind's handler sits beside the state it
// changes (onStatus in incall_state.go, onSwitch in switch_state.go, onInvite
// in invite_state.go, onData in chat_state.go, onUsers in join_state.go, ...).

// apply handles one engine event on the UI goroutine. It is the one place
// that reads an Event's Kind: each kind goes to the handler beside the state
// it changes.
func (s *session) apply(ctx app.Context, ev Event) {
	defer s.afterUpdate()
	if s.phase == phaseSignedOut || s.phase == phaseLoading {
		if ev.Kind != EventConnection {
			return
		}
	}
	switch ev.Kind {
	case EventIncoming:
		s.onIncoming(ctx, ev)
	case EventStatus:
		s.onStatus(ctx, ev)
	case EventTrack:
		s.onTrack(ctx, ev)
	case EventMute:
		s.onMute(ev)
	case EventMissed:
		s.onMissed(ctx, ev)
	case EventMediaError:
		s.onMediaError(ev)
	case EventUsers:
		s.onUsers(ev)
	case EventUserJoined, EventUserLeft:
		s.onUserJoinedOrLeft(ev)
	case EventSwitch:
		if s.phase == phaseInCall {
			s.onSwitch(ctx, ev)
		}
	case EventInvite:
		if s.phase == phaseInCall || s.phase == phaseOutgoing {
			s.onInvite(ctx, ev)
		}
	case EventData:
		s.onData(ev)
	case EventSpeaking:
		s.onSpeaking(ev)
	case EventConnection:
		s.onConnection(ev)
	}
}
