package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
)

// Remote is one other participant as the in-call screen shows them.
type Remote struct {
	JID        string
	ElemID     string
	Name       string
	Status     string
	AudioMuted bool
	VideoMuted bool
	HasVideo   bool
	Speaking   bool
}

// InCall is the screen of a call in progress: remote video (or an avatar),
// self-view, timer, mute toggles and End.
type InCall struct {
	app.Compo
	S             *session
	Video         bool
	Remotes       []Remote
	Started       time.Time
	MicMuted      bool
	CamMuted      bool
	HasLocalVideo bool
	Reconnecting  bool
	Notice        string
	MyName        string
	ByLink        bool   // joined by link or a link call: nobody is rung
	Link          string // the call link, once asked for
	LinkCopied    bool
	// Rev changes at every render of the Shell, so that the parts read from
	// the session (extras.go) are always current.
	Rev int

	now     time.Time
	stop    chan struct{}
	keysOff func()
}

// OnMount starts the call timer and attaches media.
func (c *InCall) OnMount(ctx app.Context) {
	c.now = time.Now()
	c.stop = make(chan struct{})
	stop := c.stop
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				browser.Post(func() { ctx.Dispatch(func(app.Context) { c.now = now }) })
			}
		}
	}()
	c.S.afterUpdate()
	ctx.Defer(func(app.Context) { focus("toggle-mic") })
	s := c.S
	c.keysOff = browser.OnKeyDown(func(k browser.Key) {
		s.dispatch(func(ctx app.Context) { s.onKey(ctx, k) })
	})
}

// OnDismount stops the timer and the keyboard shortcuts.
func (c *InCall) OnDismount() {
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
	if c.keysOff != nil {
		c.keysOff()
		c.keysOff = nil
	}
}

// Render implements app.Composer.
func (c *InCall) Render() app.UI {
	title := "Call"
	if len(c.Remotes) > 0 {
		title = c.Remotes[0].Name
		if len(c.Remotes) > 1 {
			title += " and " + itoa(len(c.Remotes)-1) + " more"
		}
	}
	elapsed := ""
	if !c.Started.IsZero() {
		elapsed = clock(c.now.Sub(c.Started))
	}
	cls := "call-screen incall"
	if !c.Video {
		cls += " voice"
	}
	if c.S.chat.open {
		cls += " panel-open"
	}
	modal := c.S.dialogOpen()
	return app.Section().Class(cls).Aria("labelledby", "call-title").Body(
		app.Div().Class("call-body").Attr("inert", inert(modal)).Body(
			c.callMain(title, elapsed),
			app.If(c.S.chat.open, func() app.UI { return c.sidePanel() }),
		),
		c.dialogs(),
	)
}

// callMain is the call itself: head, stage and controls.
func (c *InCall) callMain(title, elapsed string) app.UI {
	return app.Div().Class("call-main").Body(
		app.Div().Class("call-head").Body(
			app.H1().ID("call-title").Text(title),
			app.Span().ID("call-timer").Class("timer").Aria("label", "Call duration").Text(elapsed),
			app.Button().ID("copy-call-link").Class("btn btn-toggle btn-small").Type("button").
				Aria("label", "Copy call link").
				Body(icon("link"), app.Span().Text("Copy call link")).
				OnClick(func(ctx app.Context, e app.Event) { c.S.showCallLink(ctx) }),
			c.headButtons(),
		),
		c.statusLine(),
		app.If(c.Link != "", func() app.UI {
			return app.Div().ID("call-link-box").Class("call-link").Role("status").Body(
				app.Span().Class("call-link-label").Text(map[bool]string{true: "Copied. Anyone with this link can join:", false: "Share this link to invite people:"}[c.LinkCopied]),
				app.Code().ID("call-link-text").Class("call-link-text").Text(c.Link),
				app.Button().ID("hide-call-link").Class("btn btn-toggle btn-small").Type("button").
					Aria("label", "Hide the call link").Text("Hide").
					OnClick(func(ctx app.Context, e app.Event) { c.S.call.link = "" }),
			)
		}),
		app.If(c.Reconnecting, func() app.UI {
			return app.Div().ID("reconnecting").Class("banner banner-warn").Role("status").
				Body(icon("reconnect"), app.Span().Text("Reconnecting…"))
		}),
		app.If(c.Notice != "", func() app.UI {
			return app.P().Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(c.Notice))
		}),
		app.Div().Class(map[bool]string{true: "stage", false: "stage stage-grid"}[len(c.Remotes) <= 1]).Body(
			app.Range(c.Remotes).Slice(func(i int) app.UI { return c.renderRemote(c.Remotes[i]) }),
			app.If(len(c.Remotes) == 0, func() app.UI {
				text := "Connecting…"
				if c.ByLink {
					text = "Waiting for others to join. Share the call link to invite them."
				}
				return app.Div().Class("tile tile-wait").Body(app.P().Class("muted").Role("status").Text(text))
			}),
			app.If(c.Video, func() app.UI {
				selfCls := "self"
				if !c.HasLocalVideo || c.CamMuted {
					selfCls += " self-off"
				}
				return app.Div().Class(selfCls).Body(
					app.Video().ID("self-view").Class("self-video").AutoPlay(true).Muted(true).
						Attr("playsinline", true).Aria("label", "Your camera"),
					app.If(!c.HasLocalVideo || c.CamMuted, func() app.UI {
						return app.Div().Class("avatar avatar-s").Role("img").Aria("label", "Your camera is off").Text(initials(c.MyName))
					}),
				)
			}),
			app.Div().Class("my-reactions").Body(c.reactionsFor("")),
		),
		c.reactionBar(),
		app.Div().Class("call-controls").Role("group").Aria("label", "Call controls").Body(
			app.Button().ID("toggle-mic").Class(map[bool]string{true: "btn btn-toggle off", false: "btn btn-toggle"}[c.MicMuted]).
				Type("button").Aria("pressed", map[bool]string{true: "true", false: "false"}[c.MicMuted]).
				Aria("label", map[bool]string{true: "Unmute microphone", false: "Mute microphone"}[c.MicMuted]).
				Body(icon(map[bool]string{true: "mic-off", false: "mic"}[c.MicMuted]),
					app.Span().Text(map[bool]string{true: "Unmute", false: "Mute"}[c.MicMuted])).
				OnClick(func(ctx app.Context, e app.Event) { c.S.toggleMic(ctx) }),
			app.If(c.Video, func() app.UI {
				return app.Button().ID("toggle-cam").Class(map[bool]string{true: "btn btn-toggle off", false: "btn btn-toggle"}[c.CamMuted]).
					Type("button").Aria("pressed", map[bool]string{true: "true", false: "false"}[c.CamMuted]).
					Body(icon(map[bool]string{true: "cam-off", false: "cam"}[c.CamMuted]),
						app.Span().Text(map[bool]string{true: "Start video", false: "Stop video"}[c.CamMuted])).
					OnClick(func(ctx app.Context, e app.Event) { c.S.toggleCam(ctx) })
			}),
			app.If(!c.Video, func() app.UI { return c.switchControl() }),
			app.Button().ID("end-call").Class("btn btn-end").Type("button").Aria("label", "End call").
				Body(icon("hangup"), app.Span().Text("End")).
				OnClick(func(ctx app.Context, e app.Event) { c.S.hangUp(ctx) }),
		),
	)
}

func (c *InCall) renderRemote(r Remote) app.UI {
	showVideo := c.Video && r.HasVideo && !r.VideoMuted
	cls := "tile"
	if !showVideo {
		cls += " tile-novideo"
	}
	if r.Speaking && !r.AudioMuted {
		cls += " speaking"
	}
	var badges []app.UI
	if r.AudioMuted {
		badges = append(badges, app.Span().Class("badge").ID("remote-mic-muted-"+r.ElemID).
			Aria("label", r.Name+" muted their microphone").Body(icon("mic-off")))
	}
	if c.Video && r.VideoMuted {
		badges = append(badges, app.Span().Class("badge").ID("remote-cam-muted-"+r.ElemID).
			Aria("label", r.Name+" turned their camera off").Body(icon("cam-off")))
	}
	return app.Div().Class(cls).DataSet("user", r.ElemID).DataSet("status", r.Status).Body(
		app.Video().ID("video-"+r.ElemID).Class("remote-video").AutoPlay(true).Muted(true).
			Attr("playsinline", true).Aria("label", "Video of "+r.Name),
		app.Audio().ID("audio-"+r.ElemID).AutoPlay(true),
		app.If(!showVideo, func() app.UI {
			return app.Div().Class("avatar avatar-xl").Aria("hidden", "true").Text(initials(r.Name))
		}),
		c.reactionsFor(r.JID),
		app.Div().Class("tile-label").Body(
			app.Span().Class("tile-name").Text(r.Name),
			app.If(r.Status != "connected", func() app.UI {
				return app.Span().Class("tile-status").Text(" · " + statusText(r.Status))
			}),
			app.Range(badges).Slice(func(i int) app.UI { return badges[i] }),
		),
	)
}
