package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The invite dialog of the in-call screen; its state and actions are in
// invite_state.go.

// inviteDialog asks whom to ring into the call.
func (c *InCall) inviteDialog() app.UI {
	s := c.S
	return dialog("invite-dialog", "Invite people", false,
		app.Form().ID("invite-form").Class("dialog-form").OnSubmit(func(ctx app.Context, e app.Event) {
			e.PreventDefault()
			s.invite(ctx)
		}).Body(
			app.Label().For("invite-to").Text("Usernames"),
			app.Input().ID("invite-to").Type("text").Value(c.S.inviteForm.to).Placeholder("e.g. carol, dave").
				Attr("autocomplete", "off").Attr("autocapitalize", "none").Attr("spellcheck", "false").
				Aria("describedby", "invite-hint").Aria("invalid", boolAttr(c.S.inviteForm.err != "")).
				OnInput(func(ctx app.Context, e app.Event) {
					s.inviteForm.to = ctx.JSSrc().Get("value").String()
					ctx.PreventUpdate() // as the message field: no call re-render per key
				}),
			app.P().ID("invite-hint").Class("field-hint").Text("Separate several usernames with commas. They are rung right away."),
			app.If(c.S.inviteForm.err != "", func() app.UI {
				return app.P().ID("invite-error").Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(c.S.inviteForm.err))
			}),
			app.Div().Class("dialog-buttons").Body(
				app.Button().ID("invite-cancel").Class("btn btn-toggle").Type("button").Text("Cancel").
					OnClick(func(ctx app.Context, e app.Event) { s.closeInvite(ctx) }),
				app.Button().ID("invite-send").Class("btn btn-answer").Type("submit").Disabled(c.S.inviteForm.busy).
					Text(map[bool]string{true: "Inviting…", false: "Invite"}[c.S.inviteForm.busy]),
			),
		),
	)
}
