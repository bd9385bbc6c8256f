package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// IncomingCard is the full-screen card of a ringing incoming call, shown over
// whatever screen is open. It takes keyboard focus when it appears; Escape
// declines.
type IncomingCard struct {
	app.Compo
	S      *session
	Name   string
	Video  bool
	RoomID string
	Busy   bool
}

// OnMount focuses the card so keyboard and screen-reader users land on it.
func (c *IncomingCard) OnMount(ctx app.Context) {
	ctx.Defer(func(app.Context) { focus("incoming-card") })
}

// Render implements app.Composer.
func (c *IncomingCard) Render() app.UI {
	kind := "voice"
	if c.Video {
		kind = "video"
	}
	return app.Div().Class("overlay").Body(
		// data-ringing tells (tests, styles) that the ringtone plays now.
		app.Section().ID("incoming-card").Class("incoming").Role("alertdialog").Aria("modal", "true").
			DataSet("ringing", map[bool]string{true: "true", false: "false"}[c.S != nil && c.S.ring.stop != nil]).
			Aria("labelledby", "incoming-title").Aria("describedby", "incoming-kind").TabIndex(-1).
			OnKeyDown(func(ctx app.Context, e app.Event) {
				if e.Get("key").String() == "Escape" && !c.Busy {
					c.S.decline(ctx)
				}
			}).Body(
			app.Div().Class("avatar avatar-xl pulse").Aria("hidden", "true").Text(initials(c.Name)),
			app.H1().ID("incoming-title").Class("incoming-name").Text(c.Name),
			app.P().ID("incoming-kind").Class("call-kind").Text("Incoming "+kind+" call"),
			app.Div().Class("call-controls").Body(
				app.Button().ID("decline-call").Class("btn btn-end").Type("button").Disabled(c.Busy).
					Aria("label", "Decline call from "+c.Name).
					Body(icon("hangup"), app.Span().Text("Decline")).
					OnClick(func(ctx app.Context, e app.Event) { c.S.decline(ctx) }),
				app.Button().ID("answer-call").Class("btn btn-answer").Type("button").Disabled(c.Busy).
					Aria("label", "Answer "+kind+" call from "+c.Name).
					Body(icon(map[bool]string{true: "cam", false: "phone"}[c.Video]),
						app.Span().Text(map[bool]string{true: "Connecting…", false: "Answer"}[c.Busy])).
					OnClick(func(ctx app.Context, e app.Event) { c.S.answer(ctx) }),
			),
		),
	)
}
