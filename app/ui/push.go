package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// pushSetting is the part of Settings' notifications card that turns on
// ringing this device while Parley is closed (push_state.go).
func pushSetting(s *session) app.UI {
	p := &s.push
	return app.Div().ID("push-setting").Style("margin-top", "1.5rem").Body(
		app.H3().ID("push-title").Text("Ring when Parley is closed"),
		app.P().Class("field-hint").Text("Calls ring this device with a notification you can answer or decline, even when no Parley tab is open."),
		app.Div().Class("dial-buttons").Body(
			app.If(!p.on, func() app.UI {
				return app.Button().ID("push-on").Class("btn btn-call").Type("button").Disabled(p.busy).
					Body(icon("bell"), app.Span().Text("Ring this device when Parley is closed")).
					OnClick(func(ctx app.Context, e app.Event) { s.turnOnPush(ctx) })
			}),
			app.If(p.on, func() app.UI {
				return app.Button().ID("push-off").Class("btn btn-quiet").Type("button").Disabled(p.busy).
					Body(app.Span().Text("Stop ringing while closed")).
					OnClick(func(ctx app.Context, e app.Event) { s.turnOffPush(ctx) })
			}),
		),
		app.If(p.msg != "", func() app.UI {
			cls, role := "notice notice-info", "status"
			if p.err {
				cls, role = "notice notice-error", "alert"
			}
			return app.P().ID("push-status").Class(cls).Role(role).Text(p.msg)
		}),
	)
}
