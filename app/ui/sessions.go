package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

// SignIns is the settings screen's "Where you're signed in" card: every
// session of the account with its device and when it was last active, this
// device marked, a "Sign out" button for each other session and one for all
// of them.
type SignIns struct {
	app.Compo
	S *session
	// Version makes the parent re-render this card when session state changes.
	Version int
}

// OnMount lists the sessions.
func (c *SignIns) OnMount(app.Context) { c.S.loadSessions() }

// Render implements app.Composer.
func (c *SignIns) Render() app.UI {
	s := c.S
	st := &s.signIns
	others := 0
	for _, si := range st.list {
		if !si.Current {
			others++
		}
	}
	now := time.Now()
	return app.Section().ID("signins").Class("card").Aria("labelledby", "signins-title").Aria("busy", st.loading).Body(
		app.H2().ID("signins-title").Text("Where you're signed in"),
		app.P().Class("field-hint").Text("Sign out of a device you no longer use or don't recognise. It has to sign in again to use Parley."),
		app.If(st.err != "", func() app.UI {
			return app.P().ID("signins-error").Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(st.err))
		}),
		app.If(st.loading && !st.loaded, func() app.UI {
			return app.P().Class("muted").Role("status").Text("Looking up your sessions…")
		}),
		app.Ul().ID("signins-list").Class("signins").Aria("label", "Your sessions").Body(
			app.Range(st.list).Slice(func(i int) app.UI {
				return c.item(st.list[i], now)
			}),
		),
		app.If(others > 0, func() app.UI {
			return app.Div().Class("dial-buttons").Body(
				app.Button().ID("signout-others").Class("btn btn-quiet").Type("button").
					Disabled(st.ending != "").
					Aria("describedby", "signins-title").
					Body(icon("out"), app.Span().Text(signOutOthersText(st.ending))).
					OnClick(func(app.Context, app.Event) { s.logoutOtherSessions() }),
			)
		}),
		app.P().ID("signins-status").Class("saved").Role("status").Text(st.msg),
	)
}

// item renders one session.
func (c *SignIns) item(si wire.SessionInfo, now time.Time) app.UI {
	s := c.S
	name := deviceName(si.Device)
	when := lastActive(si, now)
	labelID := "signin-" + si.SessionID
	return app.Li().Class("signin").DataSet("session", si.SessionID).DataSet("current", si.Current).Body(
		app.Div().Class("signin-text").Body(
			app.Strong().ID(labelID).Class("signin-device").Text(name),
			app.If(si.Current, func() app.UI {
				return app.Span().Class("signin-this").Text("This device")
			}),
			app.Br(),
			app.Span().Class("muted signin-when").Text(when),
		),
		app.If(!si.Current, func() app.UI {
			text := "Sign out"
			if s.signIns.ending == si.SessionID {
				text = "Signing out…"
			}
			return app.Button().Class("btn btn-quiet btn-small signin-end").Type("button").
				Disabled(s.signIns.ending != "").
				Aria("label", "Sign out "+name+" ("+when+")").
				Text(text).
				OnClick(func(app.Context, app.Event) { s.endSession(si.SessionID) })
		}),
	)
}

func signOutOthersText(ending string) string {
	if ending == allOthers {
		return "Signing out…"
	}
	return "Sign out of all other sessions"
}
