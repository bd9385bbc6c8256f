package ui

import (
	"context"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
	"parley/app/wire"
)

// Admission in the PWA: members of a call see who asks to join it by link
// (a knock card with Admit and Deny); the joiner's join page waits until
// someone answers. Guests are marked wherever a name is shown, so nobody
// passes as a member by picking a member's name.

// guestSuffix follows a guest's name everywhere the PWA shows it.
const guestSuffix = " (guest)"

// knockState is the call's pending join requests, oldest first.
type knockState struct {
	reqs []event.CallJoinRequest
	busy map[string]bool // request IDs with an answer in flight
}

// learn records what the PWA knows of jid: its name in the call and
// whether it is a guest.
func (s *session) learn(jid, name string, guest bool) {
	if jid == "" {
		return
	}
	if name != "" {
		s.names[jid] = name
	}
	if s.guests == nil {
		s.guests = map[string]bool{}
	}
	if guest {
		s.guests[jid] = true
	}
}

// guestLabel is name marked as a guest's when guest is set.
func guestLabel(name string, guest bool) string {
	if guest && !strings.HasSuffix(name, guestSuffix) {
		return name + guestSuffix
	}
	return name
}

// onJoinRequest handles callJoinRequestListener: a knock on the call this
// tab is in (a card to answer), its end (the card goes), or, with
// LocalUser, this tab's own knock (the join page waits).
func (s *session) onJoinRequest(ctx app.Context, ev event.CallJoinRequest) {
	if ev.LocalUser {
		if s.phase == phaseJoin && s.join.stage == joinJoining && ev.Status == event.JoinWaiting {
			s.join.waiting = true
		}
		return
	}
	s.learn(ev.UserJID, ev.DisplayName, ev.Guest)
	if ev.Status == event.JoinWaiting {
		for _, r := range s.knock.reqs {
			if r.RequestID == ev.RequestID {
				return
			}
		}
		s.knock.reqs = append(s.knock.reqs, ev)
		return
	}
	s.dropKnock(ev.RequestID)
	who := s.displayName(ev.UserJID)
	switch {
	case ev.Status == wire.KnockAdmitted && ev.By != "" && ev.By != s.account.user.JID:
		s.setNote(s.displayName(ev.By) + " let " + who + " in.")
	case ev.Status == wire.KnockDenied && ev.By != "" && ev.By != s.account.user.JID:
		s.setNote(s.displayName(ev.By) + " did not let " + who + " in.")
	case ev.Status == wire.KnockTimeout:
		s.setNote(who + " was not let in: nobody answered.")
	case ev.Status == wire.KnockCanceled:
		s.setNote(who + " stopped waiting to join.")
	}
}

// dropKnock removes the knock card of request id.
func (s *session) dropKnock(id string) {
	out := s.knock.reqs[:0]
	for _, r := range s.knock.reqs {
		if r.RequestID != id {
			out = append(out, r)
		}
	}
	s.knock.reqs = out
	delete(s.knock.busy, id)
}

// answerKnock admits (admit true) or denies the request req.
func (s *session) answerKnock(ctx app.Context, req event.CallJoinRequest, admit bool) {
	if s.knock.busy[req.RequestID] {
		return
	}
	if s.knock.busy == nil {
		s.knock.busy = map[string]bool{}
	}
	s.knock.busy[req.RequestID] = true
	run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
		if admit {
			return struct{}{}, s.eng.AdmitUser(c, req.UserJID)
		}
		return struct{}{}, s.eng.DenyUser(c, req.UserJID)
	}, func(ctx app.Context, _ struct{}, err error) {
		delete(s.knock.busy, req.RequestID)
		who := s.displayName(req.UserJID)
		switch {
		case err == nil && admit:
			s.dropKnock(req.RequestID)
			s.setNote("You let " + who + " in.")
		case err == nil:
			s.dropKnock(req.RequestID)
			s.setNote("You did not let " + who + " in.")
		case code(err) == wire.CodeNotFound:
			s.dropKnock(req.RequestID) // someone else answered, or they gave up
		default:
			s.page.notice = humanError(actAdmit, err, true)
		}
	})
}
