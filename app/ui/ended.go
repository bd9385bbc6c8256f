package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Ended is the short "Call ended" state before going back home. A guest, who
// has no home, stays here and may rejoin the call or leave Parley.
type Ended struct {
	app.Compo
	S     *session
	Text  string
	Guest bool
}

// OnMount moves focus to the guest's first choice.
func (c *Ended) OnMount(ctx app.Context) {
	if c.Guest {
		ctx.Defer(func(app.Context) { focus("rejoin-call") })
	}
}

// Render implements app.Composer.
func (c *Ended) Render() app.UI {
	return app.Section().ID("call-ended").Class("call-screen ended").Role("status").Body(
		app.H1().Text(c.Text),
		app.If(c.Guest, func() app.UI {
			return app.Div().Class("call-controls").Body(
				app.Button().ID("rejoin-call").Class("btn btn-answer").Type("button").
					Body(icon("phone"), app.Span().Text("Rejoin the call")).
					OnClick(func(ctx app.Context, e app.Event) { c.S.enterJoin(ctx) }),
				app.Button().ID("ended-done").Class("btn btn-toggle").Type("button").Text("Done").
					Aria("label", "Done: leave Parley's call page").
					OnClick(func(ctx app.Context, e app.Event) { ctx.Navigate("/") }),
			)
		}).Else(func() app.UI {
			return app.P().Class("muted").Text("Returning to your calls…")
		}),
	)
}
