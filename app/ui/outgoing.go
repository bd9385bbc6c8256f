package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

// targets lists who is being rung.
func (c *Shell) targets() []Target {
	s := c.s
	var out []Target
	if !s.call.has {
		for _, n := range s.out.names {
			out = append(out, Target{JID: n, Name: n, Status: wire.StatusCalling})
		}
		return out
	}
	for _, p := range s.remotes() {
		out = append(out, Target{JID: p.JID, Name: s.displayName(p.JID), Status: p.Status})
	}
	return out
}

// Target is one person being rung.
type Target struct {
	JID    string
	Name   string
	Status string
}

// Outgoing is the screen while your call rings: who, their state, Cancel.
type Outgoing struct {
	app.Compo
	S       *session
	Video   bool
	Targets []Target
	Info    string
}

// OnMount moves focus to the Cancel button.
func (c *Outgoing) OnMount(ctx app.Context) {
	ctx.Defer(func(app.Context) { focus("cancel-call") })
}

// Render implements app.Composer.
func (c *Outgoing) Render() app.UI {
	name := "…"
	if len(c.Targets) > 0 {
		name = c.Targets[0].Name
		if len(c.Targets) > 1 {
			name += " and others"
		}
	}
	return app.Section().Class("call-screen outgoing").Aria("labelledby", "out-title").Body(
		app.Div().Class("avatar avatar-xl pulse").Aria("hidden", "true").Text(initials(name)),
		app.H1().ID("out-title").Text(name),
		app.P().Class("call-kind").Text("Outgoing "+kindWord(map[bool]string{true: wire.TypeVideo, false: wire.TypeAudio}[c.Video])+" call"),
		app.Ul().Class("targets").Aria("live", "polite").Body(
			app.Range(c.Targets).Slice(func(i int) app.UI {
				t := c.Targets[i]
				return app.Li().Class("target status-"+t.Status).DataSet("status", t.Status).Body(
					app.If(len(c.Targets) > 1, func() app.UI { return app.Span().Text(t.Name + ": ") }),
					app.Span().Class("target-status").Text(statusText(t.Status)),
				)
			}),
		),
		app.If(c.Info != "", func() app.UI { return app.P().Class("muted").Role("status").Text(c.Info) }),
		app.Div().Class("call-controls").Body(
			app.Button().ID("cancel-call").Class("btn btn-end").Type("button").
				Aria("label", "Cancel call").
				Body(icon("hangup"), app.Span().Text("Cancel")).
				OnClick(func(ctx app.Context, e app.Event) { c.S.hangUp(ctx) }),
		),
	)
}

// statusText is the sentence for a participant status.
func statusText(status string) string {
	switch status {
	case wire.StatusCalling:
		return "Calling…"
	case wire.StatusRinging:
		return "Ringing…"
	case wire.StatusConnecting:
		return "Connecting…"
	case wire.StatusConnected:
		return "Connected"
	case wire.StatusReconnecting:
		return "Reconnecting…"
	case wire.StatusDeclined:
		return "Declined"
	case wire.StatusEngaged:
		return "On another call"
	case wire.StatusNoAnswer:
		return "No answer"
	case wire.StatusDisconnected:
		return "Left the call"
	case wire.StatusEnded:
		return "Call ended"
	}
	return status
}
