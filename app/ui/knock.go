package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
)

// knockCards are the join requests of the call, each with Admit and Deny:
// "Gina (guest) wants to join". Plain buttons, so they are in the tab order;
// the region is announced politely by screen readers when a card appears.
func (c *InCall) knockCards() app.UI {
	reqs := c.S.knock.reqs
	if len(reqs) == 0 {
		return app.Div().ID("knocks").Class("knocks empty").Aria("live", "polite")
	}
	return app.Div().ID("knocks").Class("knocks").Role("region").Aria("label", "People asking to join").Aria("live", "polite").Body(
		app.Range(reqs).Slice(func(i int) app.UI { return c.knockCard(reqs[i]) }),
	)
}

func (c *InCall) knockCard(req event.CallJoinRequest) app.UI {
	s := c.S
	id := elemID(req.UserJID)
	name := guestLabel(s.displayName(req.UserJID), req.Guest)
	busy := s.knock.busy[req.RequestID]
	return app.Div().ID("knock-"+id).Class("knock-card").Role("group").Aria("labelledby", "knock-text-"+id).
		DataSet("jid", req.UserJID).DataSet("guest", boolAttr(req.Guest)).Body(
		app.Span().Class("avatar avatar-xs").Aria("hidden", "true").Text(initials(name)),
		app.P().ID("knock-text-"+id).Class("knock-text").Body(
			app.Strong().Text(name), app.Span().Text(" wants to join"),
		),
		app.Div().Class("knock-buttons").Body(
			app.Button().ID("knock-admit-"+id).Class("btn btn-answer btn-small").Type("button").Disabled(busy).
				Aria("label", "Admit "+name).Text("Admit").
				OnClick(func(ctx app.Context, e app.Event) { s.answerKnock(ctx, req, true) }),
			app.Button().ID("knock-deny-"+id).Class("btn btn-toggle btn-small").Type("button").Disabled(busy).
				Aria("label", "Deny "+name).Text("Deny").
				OnClick(func(ctx app.Context, e app.Event) { s.answerKnock(ctx, req, false) }),
		),
	)
}

// waitingNote is the join page while a member has to let us in.
func waitingNote() app.UI {
	return app.P().ID("join-waiting").Class("notice join-waiting").Role("status").Body(
		app.Span().Text("Waiting for someone to let you in…"),
	)
}
