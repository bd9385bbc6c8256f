package ui

import (
	"context"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
	"parley/app/wire"
)

// Inviting more people into the current call; the dialog is in invite.go.

// inviteState is the invite dialog of the call.
type inviteState struct {
	open bool
	to   string
	err  string
	busy bool
}

// openInvite opens the invite dialog.
func (s *session) openInvite(ctx app.Context) {
	s.inviteForm.open, s.inviteForm.err = true, ""
	s.deferFocus(ctx, "invite-to")
}

// closeInvite closes the invite dialog and forgets its field.
func (s *session) closeInvite(ctx app.Context) {
	s.inviteForm.open, s.inviteForm.err, s.inviteForm.to = false, "", ""
	s.deferFocus(ctx, "open-invite")
}

// inviteNames checks the invite field and returns the usernames, or a sentence.
func (s *session) inviteNames(to string) ([]string, string) {
	var names []string
	seen := map[string]bool{}
	for _, n := range strings.Split(to, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if n == s.account.user.Username || n == s.account.user.JID {
			return nil, "You are already in this call. Enter someone else's username."
		}
		for _, p := range s.call.snap.Participants {
			u, _, _ := strings.Cut(p.JID, "@")
			if (p.JID == n || u == n) && (wire.Joined(p.Status) || wire.Pending(p.Status)) {
				return nil, s.displayName(p.JID) + " is already in this call."
			}
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, "Enter the username of the person to invite."
	}
	present := 0
	for _, p := range s.call.snap.Participants {
		if wire.Joined(p.Status) || wire.Pending(p.Status) {
			present++
		}
	}
	if most := s.limits().MaxParticipants; present+len(names) > most {
		return nil, "A call has at most " + itoa(most) + " people, so there is room for " + itoa(max(0, most-present)) + " more."
	}
	return names, ""
}

// invite rings the people of the invite field into the call.
func (s *session) invite(ctx app.Context) {
	names, msg := s.inviteNames(s.inviteForm.to)
	if msg != "" {
		s.inviteForm.err = msg
		return
	}
	s.inviteForm.busy, s.inviteForm.err = true, ""
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.InviteUsers(c, names)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.inviteForm.busy = false
		if err != nil {
			s.inviteForm.err = inviteError(err, names, s.limits().MaxParticipants)
			s.deferFocus(ctx, "invite-to")
			return
		}
		s.inviteForm.open, s.inviteForm.to = false, ""
		s.setNote("You invited " + strings.Join(names, ", ") + ". They are being rung.")
		s.refresh(ctx)
		s.deferFocus(ctx, "open-invite")
	})
}

// inviteError says why an invitation failed.
func inviteError(err error, names []string, most int) string {
	switch code(err) {
	case wire.CodeCallFull:
		return "The call is full: a call has at most " + itoa(most) + " people."
	case wire.CodeNotFound:
		if len(names) == 1 {
			return "There is no user named " + names[0] + " on this server. Check the username."
		}
		return "One of those users doesn't exist on this server. Check the usernames."
	case wire.CodeConflict:
		return "That person is already in this call or in another call."
	}
	return humanError(actInvite, err, true)
}

// onInvite handles inviteUsersListener.
func (s *session) onInvite(ctx app.Context, ev event.InviteUsers) {
	s.refresh(ctx)
	if ev.UserJID == s.account.user.JID {
		return // our own invitation: invite() said it
	}
	var names []string
	for _, j := range ev.InviteUsers {
		names = append(names, s.displayName(j))
	}
	if len(names) > 0 {
		s.setNote(s.displayName(ev.UserJID) + " invited " + strings.Join(names, ", ") + ".")
	}
}
