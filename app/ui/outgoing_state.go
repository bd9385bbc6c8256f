package ui

import (
	"context"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
)

// outgoingState is the call being dialled before the server has created it.
type outgoingState struct {
	names []string // usernames being dialled
	video bool     // the call being dialled is a video call
}

// dial starts a call to the comma-separated usernames in to.
func (s *session) dial(ctx app.Context, to string, video bool) {
	var names []string
	for _, n := range strings.Split(to, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if n == s.account.user.Username || n == s.account.user.JID {
			s.page.notice = "You can't call yourself. Enter someone else's username."
			return
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		s.page.notice = "Enter the username of the person to call."
		return
	}
	if len(names) > 7 {
		s.page.notice = "A call has at most 8 people: call up to 7 others."
		return
	}
	group := ""
	if len(names) > 1 {
		group = strings.TrimSpace(s.dialForm.group)
		if len(group) > 64 {
			s.page.notice = "A group name has at most 64 characters."
			return
		}
	}
	s.page.notice, s.page.info = "", ""
	s.clearCall()
	s.phase, s.out.names, s.out.video = phaseOutgoing, names, video
	run(s, 45*time.Second, func(c context.Context) (struct{}, error) {
		s.applyDevices(c)
		return struct{}{}, s.eng.MakeCall(c, video, names, group)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.out.names = nil
		if err != nil {
			s.clearCall()
			if s.phase == phaseOutgoing {
				s.phase = phaseHome
			}
			s.page.notice = humanError(actCall, err, browser.SecureContext())
			return
		}
		if _, ok := s.eng.CurrentCall(); !ok {
			// The call was over before the reply came back (declined, engaged...).
			s.call.has = true
			s.refresh(ctx)
			return
		}
		s.refresh(ctx)
	})
}
