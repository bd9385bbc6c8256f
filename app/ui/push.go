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

// pushOffer is home's card after this device's first call: ring it when
// Parley is closed? The browser's permission prompt comes only from its
// button (offerPushAfterCall).
func pushOffer(s *session) app.UI {
	return app.Section().ID("push-offer").Class("card").Aria("labelledby", "push-offer-title").Body(
		app.H2().ID("push-offer-title").Text("Hear calls when Parley is closed?"),
		app.P().Class("field-hint").Text("This device can ring with a notification you can answer or decline, even when no Parley tab is open. Your browser will ask to allow notifications."),
		app.Div().Class("dial-buttons").Body(
			app.Button().ID("push-offer-on").Class("btn btn-call").Type("button").Disabled(s.push.busy).
				Body(icon("bell"), app.Span().Text("Ring this device")).
				OnClick(func(ctx app.Context, e app.Event) { s.turnOnPush(ctx) }),
			app.Button().ID("push-offer-no").Class("btn btn-quiet").Type("button").Disabled(s.push.busy).
				Text("Not now").
				OnClick(func(ctx app.Context, e app.Event) { s.settleOffer(false) }),
		),
	)
}
