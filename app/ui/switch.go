package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

// The voice -> video switch on the in-call screen: the control and its
// dialogs; the state and actions are in switch_state.go.

// switchControl is "Turn on video" in a voice call.
func (c *InCall) switchControl() app.UI {
	busy := c.S.sw.state == switchRequesting || c.S.sw.busy
	return app.Button().ID("switch-video").Class("btn btn-toggle").Type("button").Disabled(busy).
		Aria("label", "Turn on video").
		Body(icon("cam"), app.Span().Text("Video")).
		OnClick(func(ctx app.Context, e app.Event) { c.S.turnOnVideo(ctx) })
}

// switchDialog asks to accept or decline the other side's request for video.
func (c *InCall) switchDialog() app.UI {
	s := c.S
	name := s.displayName(c.S.sw.from)
	return dialog("switch-dialog", name+" wants to turn on video", true,
		app.P().ID("switch-dialog-desc").Class("call-kind").Text("If you accept, your camera turns on and you both see each other."),
		app.Div().Class("call-controls").Body(
			app.Button().ID("switch-decline").Class("btn btn-end").Type("button").Disabled(c.S.sw.busy).
				Aria("label", "Decline video from "+name).Text("Decline").
				OnClick(func(ctx app.Context, e app.Event) { s.switchAnswer(ctx, wire.SwitchDecline) }),
			app.Button().ID("switch-accept").Class("btn btn-answer").Type("button").Disabled(c.S.sw.busy).
				Aria("label", "Accept video from "+name).Body(icon("cam"), app.Span().Text("Accept")).
				OnClick(func(ctx app.Context, e app.Event) { s.switchAnswer(ctx, wire.SwitchAccept) }),
		),
	)
}

// videoInfoDialog explains why a group call can't switch to video.
func (c *InCall) videoInfoDialog() app.UI {
	s := c.S
	return dialog("video-info", "Video in group calls", false,
		app.P().Text("A group call can't switch from voice to video. In a group video call, everyone turns their own camera on or off whenever they like."),
		app.P().Class("muted").Text("To see each other, end this call and start a video call."),
		app.Button().ID("video-info-close").Class("btn btn-primary").Type("button").Text("OK").
			OnClick(func(ctx app.Context, e app.Event) { s.escape(ctx) }),
	)
}
