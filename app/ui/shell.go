package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
	"parley/app/wire"
)

// Shell is the root component of every page. It shows the header, the screen
// of the current phase, the connection banner and, over everything, the
// incoming-call card.
type Shell struct {
	app.Compo
	s *session
}

// OnNav opens or leaves the join page of a call link.
func (c *Shell) OnNav(ctx app.Context) {
	c.s.navigated(ctx, ctx.Page().URL().Path)
}

// OnMount starts the session: it receives engine events from now on.
func (c *Shell) OnMount(ctx app.Context) {
	c.s.attach(ctx)
}

// OnAppUpdate offers to reload when a new version has been downloaded.
func (c *Shell) OnAppUpdate(ctx app.Context) {
	c.s.page.updateReady = true
}

// OnDismount stops delivering engine events to this mount.
func (c *Shell) OnDismount() {
	c.s.detach()
}

// Render implements app.Composer.
func (c *Shell) Render() app.UI {
	s := c.s
	s.page.rev++
	signedIn := s.phase >= phaseHome && s.account.user.JID != ""
	member := signedIn && !s.account.user.Guest
	// While the incoming card is up, everything behind it is inert; the call
	// screens cover the header, which is inert then too.
	modal := s.ring.has && member
	covered := modal || s.phase == phaseOutgoing || s.phase == phaseInCall || s.phase == phaseEnded
	return app.Div().Class("shell").Body(
		app.A().Class("skip").Href("#main").Attr("inert", inert(covered)).Text("Skip to content"),
		app.Header().Class("topbar").Attr("inert", inert(covered)).Body(
			app.Div().Class("brand").Body(
				app.Img().Src("/web/icon.svg").Alt("").Aria("hidden", "true").Width(28).Height(28),
				app.Span().Text("Parley"),
			),
			app.If(signedIn || s.phase == phaseSignedOut, func() app.UI {
				return app.Div().Class("who").Body(
					app.If(signedIn, func() app.UI {
						return app.Span().Class("who-name").Text(s.account.user.DisplayName + map[bool]string{true: " (guest)", false: ""}[s.account.user.Guest])
					}),
					app.If((s.phase == phaseHome || s.phase == phaseSignedOut) && !s.page.onSettings, func() app.UI {
						return app.A().ID("open-settings").Class("btn btn-quiet btn-small").Href("/settings").
							Aria("label", "Settings").Body(icon("gear"), app.Span().Class("hide-narrow").Text("Settings"))
					}),
					app.If(s.phase == phaseHome, func() app.UI {
						return app.Button().Class("btn btn-quiet").ID("sign-out").Text("Sign out").
							OnClick(func(ctx app.Context, e app.Event) { s.signOut(ctx) })
					}),
				)
			}),
		),
		// Always there, so that the screen below keeps its elements (a call's
		// videos) when the banner comes and goes. The call screen shows its
		// own, quieter notice instead.
		app.Div().ID("shell-connection").Body(
			app.If(s.page.conn != "" && signedIn && s.phase != phaseInCall, func() app.UI {
				text := "Connection lost. Reconnecting…"
				if s.page.conn == "DISCONNECTED" {
					text = "You are offline. Parley reconnects as soon as the server can be reached."
				}
				return app.Div().Class("banner banner-warn").Role("status").Body(icon("reconnect"), app.Span().Text(text))
			}),
		),
		app.If(s.page.updateReady && s.phase != phaseInCall && s.phase != phaseOutgoing, func() app.UI {
			return app.Div().Class("banner banner-info").Role("status").Body(
				app.Span().Text("A new version of Parley is ready."),
				app.Button().ID("reload-app").Class("btn btn-quiet btn-small").Type("button").Text("Reload").
					OnClick(func(ctx app.Context, e app.Event) { ctx.Reload() }),
			)
		}),
		app.Main().ID("main").Class("main").TabIndex(-1).Attr("inert", inert(modal)).Body(c.screen()),
		app.If(s.ring.has && member, func() app.UI {
			return &IncomingCard{S: s, Name: s.ring.name, Video: s.ring.kind == wire.TypeVideo,
				RoomID: s.ring.call.RoomID, Busy: s.ring.answering}
		}),
	)
}

func (c *Shell) screen() app.UI {
	s := c.s
	switch s.phase {
	case phaseSignedOut, phaseHome:
		if s.page.onSettings {
			return &Settings{S: s, Version: s.page.rev}
		}
	}
	switch s.phase {
	case phaseSignedOut:
		return &SignIn{S: s, Notice: s.page.notice, Info: s.page.info, Busy: s.page.busy}
	case phaseHome:
		return &Home{S: s, User: s.account.user, Notice: s.page.notice, Info: s.page.info, Logs: s.logs.list, Page: s.logs.page,
			Pages: s.logs.pages, LogsErr: s.logs.err, LogsLoading: s.logs.loading, NotifPerm: s.settings.notifPerm,
			MeetLink: s.meet.link, MeetBusy: s.meet.busy, MeetErr: s.meet.err}
	case phaseOutgoing:
		return &Outgoing{S: s, Video: s.callVideo(), Targets: c.targets(), Info: s.page.info}
	case phaseInCall:
		return c.inCall()
	case phaseEnded:
		return &Ended{S: s, Text: s.ended.text, Guest: s.account.user.Guest && s.join.code != ""}
	case phaseJoin:
		var users []event.CallUser
		for _, u := range s.join.users {
			if u.UserJID != s.account.user.JID {
				users = append(users, event.CallUser{UserJID: u.UserJID, DisplayName: s.displayName(u.UserJID), Status: u.Status})
			}
		}
		_, hasVideo := s.media.tracks["local:video"]
		_, hasAudio := s.media.tracks["local:audio"]
		return &Join{S: s, Stage: s.join.stage, Users: users, Err: s.join.err, ErrCode: s.join.errCode,
			Field: s.join.field, MyName: s.account.user.DisplayName, Guest: s.account.user.JID == "" || s.account.user.Guest,
			HasVideo: hasVideo, HasAudio: hasAudio, Notice: s.page.notice, Info: s.page.info, Busy: s.page.busy,
			Waiting: s.join.waiting}
	case phaseResuming:
		if s.account.offline {
			return app.Div().Class("center-msg").ID("offline").Role("status").Body(
				app.H1().Text("You are offline"),
				app.P().Text("Parley can't reach its server. It signs you back in as soon as the connection returns; nothing needs doing."),
				app.Button().ID("other-account").Class("btn btn-quiet").Type("button").Text("Sign in with another account").
					OnClick(func(ctx app.Context, e app.Event) { s.useAnotherAccount() }),
			)
		}
		return app.Div().Class("center-msg").Role("status").Body(app.P().Text("Signing you in…"))
	}
	if s.join.code != "" {
		return app.Div().Class("center-msg").Body(
			app.H1().Text("Joining a call"),
			app.P().Text("Opening the call link…"),
			app.NoScript().Body(app.P().Text("Parley needs JavaScript and WebAssembly.")),
		)
	}
	return app.Div().Class("center-msg").Body(
		app.H1().Text("Parley"),
		app.P().Text("Voice and video calls, right in your browser."),
		app.NoScript().Body(app.P().Text("Parley needs JavaScript and WebAssembly.")),
	)
}
