package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
	"parley/app/wire"
)

// callLogState is the page of the call history shown on Home.
type callLogState struct {
	list    []wire.CallLog
	page    int
	pages   int
	err     string
	loading bool
}

// dialState is Home's dial form, kept across screens to call again.
type dialState struct {
	to    string // the usernames field
	group string // the group name field
}

// meetState is the call link created on Home.
type meetState struct {
	link string
	busy bool
	err  string
	open bool // people with the link walk in without knocking
}

// loadLogs fetches a page of the call log.
func (s *session) loadLogs(ctx app.Context, page int) {
	if page < 1 {
		page = 1
	}
	s.logs.loading = true
	withBlocked := !s.blocked.loaded && !s.blocked.loading // to mark blocked callers in the history
	var blocked []wire.BlockedUser
	var blockedErr error
	run(s, 15*time.Second, func(c context.Context) (wire.CallLogPage, error) {
		if withBlocked {
			blocked, blockedErr = s.eng.GetBlockedUsers(c)
		}
		return s.eng.GetCallLogs(c, page)
	}, func(ctx app.Context, p wire.CallLogPage, err error) {
		s.logs.loading = false
		if withBlocked && blockedErr == nil && !s.blocked.loaded {
			s.blocked.list, s.blocked.loaded = blocked, true
		}
		if err != nil {
			s.logs.err = "Your call history couldn't be loaded. " + humanError(actLogs, err, true)
			return
		}
		s.logs.err = ""
		s.logs.list, s.logs.page, s.logs.pages = p.CallLogs, page, p.TotalPages
		if s.logs.pages < 1 {
			s.logs.pages = 1
		}
	})
}

// onMissed handles missedCallListener.
func (s *session) onMissed(ctx app.Context, ev event.MissedCall) {
	s.refresh(ctx)
	name := ev.UserDetails.DisplayName
	if name == "" {
		name = s.displayName(ev.UserJID)
	}
	s.page.info = "Missed " + kindWord(ev.CallType) + " call from " + name + "."
	if s.phase == phaseHome {
		s.loadLogs(ctx, 1)
	}
}

// newMeetLink creates a video call people join by link (Home).
func (s *session) newMeetLink(ctx app.Context) {
	if s.meet.busy {
		return
	}
	s.meet.busy, s.meet.err = true, ""
	run(s, 20*time.Second, func(c context.Context) (string, error) {
		return s.eng.CreateMeetLink(c, true, s.meet.open)
	}, func(ctx app.Context, link string, err error) {
		s.meet.busy = false
		if err != nil {
			s.meet.err = "A call link couldn't be created. " + humanError(actLink, err, true)
			return
		}
		s.meet.link = link
	})
}
