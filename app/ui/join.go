package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// OnMount lists the devices once the preview shows.
func (c *Join) OnMount(ctx app.Context) { c.followStage(ctx) }

// OnUpdate lists the devices when the preview appears, and forgets them when
// it goes.
func (c *Join) OnUpdate(ctx app.Context) { c.followStage(ctx) }

// renderDevices is the microphone and camera pickers under the self-view.
func (c *Join) renderDevices() app.UI {
	d := &c.dev
	return app.Div().ID("preview-devices").Class("card preview-devices").Role("group").
		Aria("labelledby", "preview-devices-title").Aria("busy", map[bool]string{true: "true", false: "false"}[d.switching]).Body(
		app.H2().ID("preview-devices-title").Class("preview-devices-title").Text("Microphone and camera"),
		app.Div().Class("preview-pickers").Body(
			c.picker("preview-mic", "Microphone", browser.KindMic, d.mic),
			app.If(d.video, func() app.UI {
				return c.picker("preview-camera", "Camera", browser.KindCamera, d.cam)
			}),
		),
		app.P().ID("preview-devices-status").Class(map[bool]string{true: "field-hint notice-text-error", false: "field-hint"}[d.failed]).
			Role("status").Text(d.msg),
	)
}

// systemDefault is the value of the pickers' "System default" option (an
// empty value attribute is left out when rendered, and the option's value
// would then be its text).
const systemDefault = "system-default"

// picker is one device select of the preview.
func (c *Join) picker(id, label, kind, chosen string) app.UI {
	return deviceSelect(id, label, kind, chosen, c.dev.list, c.Stage != joinPreview, func(ctx app.Context, id string) {
		c.chooseDevice(ctx, kind, id)
	})
}

// Join is the page of a call link, /join/<code>: a visitor's name (or sign
// in), then a preview with the self-view and who is in the call, and Join
// now; or why the call can't be joined and what to do instead.
type Join struct {
	app.Compo
	S        *session
	Stage    joinStage
	Users    []event.CallUser // the others in the call
	Err      string
	ErrCode  int
	Field    string // the name field's error
	MyName   string
	Guest    bool // joining as a guest (not signed in)
	HasVideo bool // the camera preview is on
	HasAudio bool // the microphone is open
	Waiting  bool // Join now knocked: someone in the call has to let us in

	// The sign-in form offered next to the guest form.
	Notice string
	Info   string
	Busy   bool

	// The preview's device pickers (join_devices_state.go). They live on the mounted
	// component, not in the session, and change through this component's
	// context so that it re-renders.
	dev joinDevices
}

// Render implements app.Composer.
func (c *Join) Render() app.UI {
	switch c.Stage {
	case joinName:
		return c.renderName()
	case joinOpening:
		return app.Section().ID("join-opening").Class("card join-card").Role("status").Body(
			app.H1().Text("Opening the call…"),
			app.P().Class("muted").Text("Your browser may ask to use your camera and microphone: allow them to be seen and heard."),
		)
	case joinFailed:
		return c.renderFailed()
	}
	return c.renderPreview()
}

func (c *Join) renderName() app.UI {
	return app.Div().Class("join join-visitor").Body(
		app.Section().Class("card join-card").Aria("labelledby", "join-title").Body(
			app.H1().ID("join-title").Text("Join the call"),
			app.P().Class("muted").Text("You were invited to a Parley call. Enter your name to see who is there before you join."),
			app.Form().ID("guest-form").Class("form").OnSubmit(func(ctx app.Context, e app.Event) {
				e.PreventDefault()
				c.S.subscribe(ctx, c.S.join.guestName)
			}).Body(
				app.Label().For("guest-name").Text("Your name"),
				app.Input().ID("guest-name").Name("guest-name").Type("text").Value(c.S.join.guestName).
					Attr("autocomplete", "name").MaxLength(c.S.limits().MaxDisplayName).Aria("required", "true").
					Aria("describedby", "guest-name-hint").
					Aria("invalid", map[bool]string{true: "true", false: "false"}[c.Field != ""]).
					OnInput(c.ValueTo(&c.S.join.guestName)),
				app.P().ID("guest-name-hint").Class("field-hint").Text("The others see this name in the call."),
				app.If(c.Field != "", func() app.UI {
					return app.P().ID("guest-name-error").Class("notice notice-error").Role("alert").
						Body(icon("warn"), app.Span().Text(c.Field))
				}),
				app.Button().ID("guest-continue").Class("btn btn-primary btn-wide").Type("submit").Text("Continue"),
			),
		),
		&SignIn{S: c.S, Notice: c.Notice, Info: c.Info, Busy: c.Busy, InJoin: true},
	)
}

func (c *Join) renderPreview() app.UI {
	joining := c.Stage == joinJoining
	return app.Section().ID("join-preview").Class("join-preview").Aria("labelledby", "join-title").Body(
		app.Div().Class("preview-col").Body(c.renderSelf(), c.renderDevices()),
		c.renderSide(joining),
	)
}

// renderSelf is the self-view of the preview.
func (c *Join) renderSelf() app.UI {
	return app.Div().Class(map[bool]string{true: "preview-media", false: "preview-media preview-off"}[c.HasVideo]).Body(
		app.Video().ID("preview-video").Class("preview-video").AutoPlay(true).Muted(true).
			Attr("playsinline", true).Aria("label", "Your camera preview"),
		app.If(!c.HasVideo, func() app.UI {
			return app.Div().Class("avatar avatar-xl").Aria("hidden", "true").Text(initials(c.MyName))
		}),
		app.Div().Class("preview-label").Body(
			app.Span().Text(c.MyName+" (you)"),
			app.Span().Class("preview-dev").Role("img").Aria("label", map[bool]string{true: "Microphone on", false: "Microphone off"}[c.HasAudio]).
				Body(icon(map[bool]string{true: "mic", false: "mic-off"}[c.HasAudio])),
		),
	)
}

// renderSide is who is in the call and the Join now button.
func (c *Join) renderSide(joining bool) app.UI {
	waiting := joining && c.Waiting
	return app.Div().Class("card preview-side").Body(
		app.H1().ID("join-title").Text(map[bool]string{true: "Asking to join", false: "Ready to join?"}[waiting]),
		app.If(waiting, waitingNote),
		app.H2().ID("call-users-title").Class("preview-sub").Text(peopleInCall(len(c.Users))),
		app.Ul().ID("call-users").Class("call-users").Aria("labelledby", "call-users-title").Aria("live", "polite").Body(
			app.Range(c.Users).Slice(func(i int) app.UI {
				u := c.Users[i]
				return app.Li().Class("call-user").DataSet("jid", u.UserJID).DataSet("status", u.Status).Body(
					app.Span().Class("avatar avatar-xs").Aria("hidden", "true").Text(initials(u.DisplayName)),
					app.Span().Class("call-user-name").Text(u.DisplayName),
					app.If(u.Status != wire.StatusConnected && u.Status != "", func() app.UI {
						return app.Span().Class("call-user-status").Text(previewStatus(u.Status))
					}),
				)
			}),
		),
		app.If(len(c.Users) == 0, func() app.UI {
			return app.P().Class("muted").Text("Nobody else is in the call yet.")
		}),
		app.P().Class("muted join-as").Body(
			app.Span().Text("You join as "),
			app.Strong().Text(c.MyName),
			app.If(c.Guest, func() app.UI { return app.Span().Text(", a guest") }),
			app.Span().Text("."),
		),
		app.Div().Class("join-buttons").Body(
			app.Button().ID("join-now").Class("btn btn-primary").Type("button").Disabled(joining || c.dev.switching).
				Body(icon(map[bool]string{true: "cam", false: "phone"}[c.HasVideo]),
					app.Span().Text(map[bool]string{true: "Joining…", false: "Join now"}[joining && !waiting]+
						map[bool]string{true: "Waiting…", false: ""}[waiting])).
				OnClick(func(ctx app.Context, e app.Event) { c.S.joinNow(ctx) }),
			app.Button().ID("join-back").Class("btn btn-quiet").Type("button").Disabled(joining && !waiting).
				Aria("label", map[bool]string{true: "Back: stop waiting and leave", false: "Back: leave the preview"}[waiting]).
				Body(icon("left"), app.Span().Text("Back")).
				OnClick(func(ctx app.Context, e app.Event) { c.S.backFromPreview(ctx) }),
		),
	)
}

func (c *Join) renderFailed() app.UI {
	retry := c.ErrCode != wire.CodeInvalidLink && c.ErrCode != wire.CodeCallEnded && c.ErrCode != wire.CodeNotFound
	home := "Go to your calls"
	if c.Guest || c.MyName == "" {
		home = "Go to Parley"
	}
	return app.Section().ID("join-failed").Class("card join-card join-failed").DataSet("code", itoa(c.ErrCode)).
		Aria("labelledby", "join-title").Body(
		app.H1().ID("join-title").Text(joinErrorTitle(c.ErrCode)),
		app.P().ID("join-error").Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(c.Err)),
		app.Div().Class("join-buttons").Body(
			app.If(retry, func() app.UI {
				return app.Button().ID("join-retry").Class("btn btn-primary").Type("button").Text("Try again").
					OnClick(func(ctx app.Context, e app.Event) { c.S.retryJoin(ctx) })
			}),
			app.Button().ID("join-home").Class(map[bool]string{true: "btn btn-quiet", false: "btn btn-primary"}[retry]).
				Type("button").Text(home).
				OnClick(func(ctx app.Context, e app.Event) { ctx.Navigate("/") }),
		),
	)
}

// joinErrorTitle is the heading of the join page when the call can't be joined.
func joinErrorTitle(code int) string {
	switch code {
	case wire.CodeInvalidLink, wire.CodeNotFound:
		return "This link doesn't work"
	case wire.CodeCallEnded:
		return "This call has ended"
	case wire.CodeCallFull:
		return "This call is full"
	case wire.CodeMicDenied, wire.CodeCameraDenied, wire.CodeMediaDenied:
		return "Parley can't use your camera or microphone"
	case wire.CodeConflict:
		return "You are already in a call"
	case wire.CodeNotAdmitted, wire.CodeKnockTimeout:
		return "You were not let in"
	}
	return "You can't join this call right now"
}

func peopleInCall(n int) string {
	switch n {
	case 0:
		return "In the call"
	case 1:
		return "1 person in the call"
	}
	return itoa(n) + " people in the call"
}

// previewStatus is how the preview lists someone who isn't connected yet.
func previewStatus(status string) string {
	switch {
	case wire.Pending(status):
		return "being called"
	case status == wire.StatusConnecting:
		return "joining"
	case status == wire.StatusReconnecting:
		return "reconnecting"
	}
	return statusText(status)
}
