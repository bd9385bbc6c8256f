package ui

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

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
	lim := s.limits()
	if len(names) > lim.MaxParticipants-1 {
		s.page.notice = "A call has at most " + itoa(lim.MaxParticipants) + " people: call up to " +
			others(lim.MaxParticipants-1) + "."
		return
	}
	group := ""
	if len(names) > 1 {
		group = strings.TrimSpace(s.dialForm.group)
		if len(group) > lim.MaxGroupID {
			s.page.notice = groupTooLong(group, lim.MaxGroupID)
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
			// The call was over before the reply came back (declined,
			// engaged...). The engine reported why before MakeCall returned,
			// so onStatus has moved the screen on already.
			if s.phase != phaseOutgoing {
				return
			}
			s.call.has = true
			s.refresh(ctx)
			return
		}
		s.refresh(ctx)
	})
}

// others is "1 other" or "n others".
func others(n int) string {
	if n == 1 {
		return "1 other"
	}
	return itoa(n) + " others"
}

// groupTooLong says that group is over the server's limit of maxBytes bytes;
// letters outside ASCII take several bytes, which only matters when group
// has some.
func groupTooLong(group string, maxBytes int) string {
	if utf8.RuneCountInString(group) == len(group) {
		return "A group name has at most " + itoa(maxBytes) + " characters."
	}
	return "That group name is too long: shorten it. A group name has room for " + itoa(maxBytes) +
		" plain letters; accented letters and emoji take the room of several."
}
