package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

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
	c.s.updateReady = true
}

// OnDismount stops delivering engine events to this mount.
func (c *Shell) OnDismount() {
	c.s.detach()
}

// Render implements app.Composer.
func (c *Shell) Render() app.UI {
	s := c.s
	s.rev++
	signedIn := s.phase >= phaseHome && s.user.JID != ""
	member := signedIn && !s.user.Guest
	// While the incoming card is up, everything behind it is inert; the call
	// screens cover the header, which is inert then too.
	modal := s.hasIncoming && member
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
						return app.Span().Class("who-name").Text(s.user.DisplayName + map[bool]string{true: " (guest)", false: ""}[s.user.Guest])
					}),
					app.If((s.phase == phaseHome || s.phase == phaseSignedOut) && !s.onSettings, func() app.UI {
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
		app.If(s.conn != "" && signedIn, func() app.UI {
			text := "Connection lost. Reconnecting…"
			if s.conn == "DISCONNECTED" {
				text = "You are offline. Parley reconnects as soon as the server can be reached."
			}
			return app.Div().Class("banner banner-warn").Role("status").Body(icon("reconnect"), app.Span().Text(text))
		}),
		app.If(s.updateReady && s.phase != phaseInCall && s.phase != phaseOutgoing, func() app.UI {
			return app.Div().Class("banner banner-info").Role("status").Body(
				app.Span().Text("A new version of Parley is ready."),
				app.Button().ID("reload-app").Class("btn btn-quiet btn-small").Type("button").Text("Reload").
					OnClick(func(ctx app.Context, e app.Event) { ctx.Reload() }),
			)
		}),
		app.Main().ID("main").Class("main").TabIndex(-1).Attr("inert", inert(modal)).Body(c.screen()),
		app.If(s.hasIncoming && member, func() app.UI {
			return &IncomingCard{S: s, Name: s.incomingName, Video: s.incomingType == wire.TypeVideo,
				RoomID: s.incoming.RoomID, Busy: s.answering}
		}),
	)
}

func (c *Shell) screen() app.UI {
	s := c.s
	switch s.phase {
	case phaseSignedOut, phaseHome:
		if s.onSettings {
			return &Settings{S: s, Version: s.rev}
		}
	}
	switch s.phase {
	case phaseSignedOut:
		return &SignIn{S: s, Notice: s.notice, Info: s.info, Busy: s.busy}
	case phaseHome:
		return &Home{S: s, User: s.user, Notice: s.notice, Info: s.info, Logs: s.logs, Page: s.logPage,
			Pages: s.logPages, LogsErr: s.logsErr, LogsLoading: s.logsLoading, NotifPerm: s.notifPerm,
			MeetLink: s.meetLink, MeetBusy: s.meetBusy, MeetErr: s.meetErr}
	case phaseOutgoing:
		return &Outgoing{S: s, Video: s.callVideo(), Targets: c.targets(), Info: s.info}
	case phaseInCall:
		return c.inCall()
	case phaseEnded:
		return &Ended{S: s, Text: s.endedText, Guest: s.user.Guest && s.joinCode != ""}
	case phaseJoin:
		var users []CallUser
		for _, u := range s.joinUsers {
			if u.JID != s.user.JID {
				users = append(users, CallUser{JID: u.JID, Name: s.displayName(u.JID), Status: u.Status})
			}
		}
		_, hasVideo := s.tracks["local:video"]
		_, hasAudio := s.tracks["local:audio"]
		return &Join{S: s, Stage: s.joinStage, Users: users, Err: s.joinErr, ErrCode: s.joinErrCode,
			Field: s.joinField, MyName: s.user.DisplayName, Guest: s.user.JID == "" || s.user.Guest,
			HasVideo: hasVideo, HasAudio: hasAudio, Notice: s.notice, Info: s.info, Busy: s.busy}
	case phaseResuming:
		if s.offline {
			return app.Div().Class("center-msg").ID("offline").Role("status").Body(
				app.H1().Text("You are offline"),
				app.P().Text("Parley can't reach its server. It signs you back in as soon as the connection returns; nothing needs doing."),
				app.Button().ID("other-account").Class("btn btn-quiet").Type("button").Text("Sign in with another account").
					OnClick(func(ctx app.Context, e app.Event) { s.useAnotherAccount() }),
			)
		}
		return app.Div().Class("center-msg").Role("status").Body(app.P().Text("Signing you in…"))
	}
	if s.joinCode != "" {
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

// callVideo reports whether the current (or dialled) call is a video call.
func (s *session) callVideo() bool {
	if s.hasCall {
		return s.call.Type == wire.TypeVideo
	}
	return s.dialVideo
}

// targets lists who is being rung.
func (c *Shell) targets() []Target {
	s := c.s
	var out []Target
	if !s.hasCall {
		for _, n := range s.dialing {
			out = append(out, Target{JID: n, Name: n, Status: wire.StatusCalling})
		}
		return out
	}
	for _, p := range s.remotes() {
		out = append(out, Target{JID: p.JID, Name: s.displayName(p.JID), Status: p.Status})
	}
	return out
}

func (c *Shell) inCall() app.UI {
	s := c.s
	video := s.callVideo()
	var remotes []Remote
	reconnecting := s.conn == "RECONNECTING"
	for _, p := range s.remotes() {
		if p.Status == wire.StatusReconnecting {
			reconnecting = true
		}
		if !wire.Joined(p.Status) && !wire.Pending(p.Status) {
			continue
		}
		_, hasVideo := s.tracks[p.JID+":video"]
		remotes = append(remotes, Remote{
			JID: p.JID, ElemID: elemID(p.JID), Name: s.displayName(p.JID), Status: p.Status,
			AudioMuted: s.muted(p, "audio"), VideoMuted: s.muted(p, "video"),
			HasVideo: video && hasVideo, Speaking: s.speaking[p.JID],
		})
	}
	if me := s.call.Participant(s.user.JID); me != nil && me.Status == wire.StatusReconnecting {
		reconnecting = true
	}
	// The timer counts from when this tab saw the call connect: the local
	// clock only, so a device whose clock is off still shows the right time.
	started := s.connectedAt
	_, hasLocal := s.tracks["local:video"]
	return &InCall{S: s, Video: video, Remotes: remotes, Started: started,
		MicMuted: s.localAudio, CamMuted: s.localVideo, HasLocalVideo: video && hasLocal,
		Reconnecting: reconnecting, Notice: s.notice, MyName: s.user.DisplayName,
		ByLink: s.viaLink || s.call.Meet, Link: s.callLink, LinkCopied: s.callLinkCopied, Rev: s.rev}
}

// inert is the value of an inert attribute: present or absent.
func inert(on bool) string {
	if on {
		return "true"
	}
	return ""
}

// notice renders an error sentence (role=alert) or an information sentence.
func notice(errText, infoText string) app.UI {
	return app.Div().Class("notices").Body(
		app.If(errText != "", func() app.UI {
			return app.P().Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(errText))
		}),
		app.If(infoText != "", func() app.UI {
			return app.P().Class("notice notice-info").Role("status").Text(infoText)
		}),
	)
}
