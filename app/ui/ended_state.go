package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

// endedFor is how long the "Call ended" state stays before going home.
const endedFor = 2500 * time.Millisecond

// endedState is the "Call ended" screen.
type endedState struct {
	text string
	gen  int           // bumps at every call end, to cancel stale timers
	wait time.Duration // how long "Call ended" shows
}

// endCall shows "Call ended" for a moment, then goes home.
func (s *session) endCall(ctx app.Context) {
	s.ended.text = s.endedSentence()
	hadCall := s.call.everJoined
	s.clearCall()
	s.tab.remove(tabKey)
	s.resumedSince = time.Time{}
	s.phase = phaseEnded
	s.ended.gen++
	if s.account.user.Guest {
		return // a guest has no home: the ended screen offers to rejoin
	}
	gen := s.ended.gen
	s.loadLogs(ctx, 1)
	if hadCall {
		s.offerPushAfterCall()
	}
	wait := s.ended.wait
	go func() {
		time.Sleep(wait)
		s.dispatch(func(ctx app.Context) {
			if s.ended.gen == gen && s.phase == phaseEnded {
				s.phase = phaseHome
				if s.join.code != "" {
					s.join.code = ""
					ctx.Navigate("/")
				}
			}
		})
	}()
}

// endedSentence says how the call ended, from the last remote statuses.
func (s *session) endedSentence() string {
	if s.call.everJoined {
		if !s.call.connectedAt.IsZero() {
			return "Call ended · " + clock(time.Since(s.call.connectedAt))
		}
		return "Call ended"
	}
	var who []string
	var status string
	for jid, st := range s.call.lastRemote {
		who = append(who, s.displayName(jid))
		status = st
	}
	if len(who) == 1 {
		switch status {
		case wire.StatusDeclined:
			return who[0] + " declined the call"
		case wire.StatusEngaged:
			return who[0] + " is in another call"
		case wire.StatusNoAnswer:
			return who[0] + " didn't answer"
		}
	}
	return "Call ended"
}
