package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The screen-sharing parts of the in-call screen: the share button, the
// "You are presenting" bar and the stage with the shared screen as the large
// tile and everyone's camera small beside it. The state is in
// screen_state.go.

// shareButton starts or stops sharing this user's screen.
func (c *InCall) shareButton() app.UI {
	// The accessible name is the visible text (WCAG label in name).
	label, text := "Share screen", "Share screen"
	if c.Presenting {
		label, text = "Stop sharing screen", "Stop sharing"
	}
	return app.Button().ID("toggle-screen").Class(map[bool]string{true: "btn btn-toggle on", false: "btn btn-toggle"}[c.Presenting]).
		Type("button").Aria("pressed", boolAttr(c.Presenting)).Aria("label", label).Aria("keyshortcuts", "S").
		Disabled(c.S.screen.busy).
		Body(icon("screen"), app.Span().Text(text)).
		OnClick(func(ctx app.Context, e app.Event) { c.S.toggleScreen(ctx) })
}

// presentingBar tells the sharer that everyone sees their screen.
func (c *InCall) presentingBar() app.UI {
	return app.Div().ID("presenting-bar").Class("banner banner-present").Role("status").Body(
		icon("screen"), app.Span().Text("You are presenting"),
		app.Button().ID("stop-share").Class("btn btn-toggle btn-small").Type("button").
			Aria("label", "Stop presenting").Text("Stop").Disabled(c.S.screen.busy).
			OnClick(func(ctx app.Context, e app.Event) { c.S.toggleScreen(ctx) }),
	)
}

// shareStage is the stage while someone shares: the screen large (for the
// sharer, a placeholder: their own screen inside the share would mirror
// endlessly), the cameras small in a strip.
func (c *InCall) shareStage() app.UI {
	var big app.UI
	if c.Presenting {
		big = app.Div().ID("screen-tile").Class("screen-tile screen-self").Body(
			icon("screen"),
			app.P().Role("status").Text("You are sharing your screen"),
		)
	} else {
		big = app.Div().ID("screen-tile").Class("screen-tile").Body(
			app.Video().ID("screen-view").Class("screen-video").AutoPlay(true).Muted(true).
				Attr("playsinline", true).Aria("label", "Screen shared by "+c.SharerName),
			app.Div().Class("tile-label").Body(app.Span().Class("tile-name").Text(c.SharerName+"'s screen")),
		)
	}
	return app.Div().Class("stage stage-share").Body(
		big,
		app.Div().Class("share-strip").Role("group").Aria("label", "Cameras").Body(
			app.Range(c.Remotes).Slice(func(i int) app.UI { return c.renderRemote(c.Remotes[i]) }),
		),
		app.If(c.Video, func() app.UI { return c.selfView() }),
		app.Div().Class("my-reactions").Body(c.reactionsFor("")),
	)
}
