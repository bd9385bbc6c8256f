package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// SignIn is the sign-in and sign-up screen.
type SignIn struct {
	app.Compo
	S      *session
	Notice string
	Info   string
	Busy   bool
	// InJoin is set on the page of a call link, next to the guest form.
	InJoin bool

	register    bool
	username    string
	password    string
	displayName string
}

// Render implements app.Composer.
func (c *SignIn) Render() app.UI {
	title, submit := "Sign in", "Sign in"
	if c.register {
		title, submit = "Create your account", "Create account"
	}
	if c.Busy {
		submit = "Please wait…"
	}
	pwAuto := "current-password"
	if c.register {
		pwAuto = "new-password"
	}
	cls := "card auth"
	var heading app.UI = app.H1().ID("auth-title").Text(title)
	if c.InJoin {
		// Second on the page of a call link: the guest form has the h1.
		cls = "card auth auth-join"
		heading = app.H2().ID("auth-title").Text("Have a Parley account?")
	}
	return app.Section().Class(cls).Aria("labelledby", "auth-title").Body(
		heading,
		app.If(c.InJoin, func() app.UI {
			return app.P().Class("hint").Text("Joining a call by link with your account? " + title + " and you join as yourself.")
		}),
		notice(c.Notice, c.Info),
		app.Form().ID("auth-form").Class("form").OnSubmit(c.onSubmit).Body(
			app.Label().For("username").Text("Username"),
			app.Input().ID("username").Name("username").Type("text").Value(c.username).
				Attr("autocomplete", "username").Attr("autocapitalize", "none").Attr("spellcheck", "false").
				Required(true).MaxLength(32).Aria("describedby", "username-hint").
				OnInput(c.ValueTo(&c.username)),
			app.If(c.register, func() app.UI {
				return app.P().ID("username-hint").Class("field-hint").Text("3 to 32 characters: lowercase letters and digits, with single dots, underscores or hyphens between them.")
			}).Else(func() app.UI {
				return app.P().ID("username-hint").Class("field-hint").Text("The name you signed up with, for example alice.")
			}),
			app.If(c.register, func() app.UI {
				return app.Div().Class("field").Body(
					app.Label().For("display-name").Text("Display name"),
					app.Input().ID("display-name").Name("display-name").Type("text").Value(c.displayName).
						Attr("autocomplete", "name").MaxLength(c.S.limits().MaxDisplayName).Aria("describedby", "display-hint").
						OnInput(c.ValueTo(&c.displayName)),
					app.P().ID("display-hint").Class("field-hint").Text("What people see when you call them. Optional."),
				)
			}),
			app.Label().For("password").Text("Password"),
			app.Input().ID("password").Name("password").Type("password").Value(c.password).
				Attr("autocomplete", pwAuto).Required(true).
				OnInput(c.ValueTo(&c.password)),
			app.If(c.register, func() app.UI {
				return app.P().Class("field-hint").Text("At least 8 characters.")
			}),
			app.Button().ID("auth-submit").Class("btn btn-primary btn-wide").Type("submit").
				Disabled(c.Busy).Text(submit),
		),
		app.P().Class("switch").Body(
			app.If(c.register, func() app.UI {
				return app.Span().Text("Already have an account? ")
			}).Else(func() app.UI {
				return app.Span().Text("New to Parley? ")
			}),
			app.Button().ID("auth-switch").Class("linklike").Type("button").
				Text(map[bool]string{true: "Sign in", false: "Create an account"}[c.register]).
				OnClick(func(ctx app.Context, e app.Event) {
					c.register = !c.register
					c.S.page.notice, c.S.page.info = "", ""
				}),
		),
	)
}

func (c *SignIn) onSubmit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if c.Busy {
		return
	}
	if c.register {
		c.S.register(ctx, c.username, c.password, c.displayName)
		return
	}
	c.S.signIn(ctx, c.username, c.password)
}
