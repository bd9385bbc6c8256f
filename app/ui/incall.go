package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// headButtons are the call's secondary controls: invite, messages, shortcuts.
func (c *InCall) headButtons() app.UI {
	chatLabel := "Chat"
	if c.S.chat.unread > 0 {
		chatLabel += ", " + itoa(c.S.chat.unread) + " unread"
	}
	return app.Div().Class("head-buttons").Body(
		app.If(!c.ByLink, func() app.UI {
			return app.Button().ID("open-invite").Class("btn btn-toggle btn-small").Type("button").
				Aria("label", "Invite people").Aria("haspopup", "dialog").
				Body(icon("add-user"), app.Span().Text("Invite")).
				OnClick(func(ctx app.Context, e app.Event) { c.S.openInvite(ctx) })
		}),
		app.Button().ID("toggle-chat").Class(map[bool]string{true: "btn btn-toggle btn-small on", false: "btn btn-toggle btn-small"}[c.S.chat.open]).
			Type("button").Aria("label", chatLabel).Aria("expanded", boolAttr(c.S.chat.open)).Aria("controls", "side-panel").
			Body(icon("chat"), app.Span().Text("Chat"),
				app.If(c.S.chat.unread > 0, func() app.UI {
					return app.Span().ID("unread-badge").Class("count").Aria("hidden", "true").Text(itoa(min(c.S.chat.unread, 99)))
				})).
			OnClick(func(ctx app.Context, e app.Event) { c.S.togglePanel(ctx) }),
		app.Button().ID("open-audio").Class("btn btn-toggle btn-small").Type("button").
			Aria("label", "Devices").Aria("haspopup", "dialog").Title("Devices").
			Body(icon("gear")).
			OnClick(func(ctx app.Context, e app.Event) { c.S.openAudio(ctx) }),
		app.Button().ID("open-help").Class("btn btn-toggle btn-small").Type("button").
			Aria("label", "Keyboard shortcuts").Aria("haspopup", "dialog").Aria("keyshortcuts", "?").
			Text("?").
			OnClick(func(ctx app.Context, e app.Event) {
				c.S.call.helpOpen = true
				c.S.deferFocus(ctx, "help-dialog")
			}),
	)
}

// statusLine shows the pending switch request and the current note.
func (c *InCall) statusLine() app.UI {
	return app.Div().Class("call-status").Body(
		app.If(c.S.sw.state == switchRequesting, func() app.UI {
			name := "the other person"
			if len(c.Remotes) == 1 {
				name = c.Remotes[0].Name
			}
			return app.Div().ID("switch-waiting").Class("call-pill").Role("status").Body(
				icon("cam"), app.Span().Text("Waiting for "+name+" to turn on video…"),
				app.Button().ID("switch-cancel").Class("btn btn-toggle btn-small").Type("button").
					Aria("label", "Cancel the video request").Text("Cancel").Disabled(c.S.sw.busy).
					OnClick(func(ctx app.Context, e app.Event) { c.S.switchAnswer(ctx, wire.SwitchCancel) }),
			)
		}),
		app.P().ID("call-note").Class(map[bool]string{true: "call-pill", false: "call-pill empty"}[c.S.note.text != ""]).
			Role("status").Text(c.S.note.text),
	)
}

// dialogs renders the open dialog, if any.
func (c *InCall) dialogs() app.UI {
	switch {
	case c.S.call.helpOpen:
		return c.helpDialog()
	case c.S.call.audioOpen:
		return c.audioDialog()
	case c.S.sw.state == switchAsked:
		return c.switchDialog()
	case c.S.sw.infoOpen:
		return c.videoInfoDialog()
	case c.S.inviteForm.open:
		return c.inviteDialog()
	}
	return nil
}

// audioDialog chooses the devices of the call: microphone, camera and speaker.
func (c *InCall) audioDialog() app.UI {
	s := c.S
	st := &s.settings
	return dialog("audio-dialog", "Devices", false,
		app.Div().Class("dialog-form").Body(
			devicePicker(s, "mic-select", "Microphone", browser.KindMic, st.mic, true),
			app.If(c.Video, func() app.UI {
				return devicePicker(s, "camera-select", "Camera", browser.KindCamera, st.camera, true)
			}),
			devicePicker(s, "speaker-select", "Speaker", browser.KindSpeaker, st.speaker, canChooseSpeaker()),
			app.P().Class("field-hint").Text(map[bool]string{
				true:  "Changes apply right away and are kept for your next calls.",
				false: "Changes apply right away. This browser always plays calls on the system's speaker.",
			}[canChooseSpeaker()]),
			app.P().ID("audio-saved").Class("field-hint").Role("status").Text(st.saved),
		),
		app.Button().ID("audio-close").Class("btn btn-primary").Type("button").Text("Done").
			OnClick(func(ctx app.Context, e app.Event) { s.escape(ctx) }),
	)
}

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
	// Quality is the line to them (zero before the first report).
	Quality event.CallQuality
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
	// Reconnecting: someone's media is reconnecting (the server says so).
	Reconnecting bool
	// ServerAway: this tab's signalling connection is down and the engine is
	// reconnecting; the call goes on peer to peer meanwhile.
	ServerAway bool
	Notice     string
	MyName     string
	ByLink     bool   // joined by link or a link call: nobody is rung
	Link       string // the call link, once asked for
	LinkCopied bool
	// Sharer is the JID of who shares their screen ("" for nobody),
	// SharerName their name; Presenting: this user shares (screen.go).
	Sharer     string
	SharerName string
	Presenting bool
	// Rev changes at every render of the Shell, so that the parts read from
	// the session (chat.go, switch.go, invite.go...) are always current.
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
		// A key typed into a field never reaches the UI goroutine, and a
		// key that turns out not to be a shortcut re-renders nothing.
		if !k.MayBeShortcut() {
			return
		}
		s.dispatch(func(ctx app.Context) {
			if !s.onKey(ctx, k) {
				ctx.PreventUpdate()
			}
		})
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
		app.If(c.Presenting, func() app.UI { return c.presentingBar() }),
		c.knockCards(),
		app.If(c.Link != "", func() app.UI {
			return app.Div().ID("call-link-box").Class("call-link").Role("status").Body(
				app.Span().Class("call-link-label").Text(map[bool]string{true: "Copied. Anyone with this link can ask to join:", false: "Share this link to invite people:"}[c.LinkCopied]),
				app.Code().ID("call-link-text").Class("call-link-text").Text(c.Link),
				app.Button().ID("hide-call-link").Class("btn btn-toggle btn-small").Type("button").
					Aria("label", "Hide the call link").Text("Hide").
					OnClick(func(ctx app.Context, e app.Event) { c.S.call.link = "" }),
			)
		}),
		// Always there, so that screen readers announce what appears in it
		// and the videos below keep their elements (and their frames) when
		// it does.
		app.Div().ID("call-connection").Role("status").Body(
			app.If(c.ServerAway, func() app.UI {
				// Quiet: the call itself goes on, only the server is away.
				return app.P().ID("server-reconnecting").Class("call-quiet").
					Body(icon("reconnect"), app.Span().Text("Reconnecting to the server…"))
			}),
			app.If(c.Reconnecting, func() app.UI {
				return app.Div().ID("reconnecting").Class("banner banner-warn").
					Body(icon("reconnect"), app.Span().Text("Reconnecting…"))
			}),
		),
		app.If(c.Notice != "", func() app.UI {
			return app.P().Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(c.Notice))
		}),
		app.If(c.Sharer != "", func() app.UI { return c.shareStage() }),
		app.If(c.Sharer == "", func() app.UI { return c.stage() }),
		c.reactionBar(),
		c.controls(),
	)
}

// stage shows everyone's camera (or avatar) and the self-view.
func (c *InCall) stage() app.UI {
	return app.Div().Class(map[bool]string{true: "stage", false: "stage stage-grid"}[len(c.Remotes) <= 1]).Body(
		app.Range(c.Remotes).Slice(func(i int) app.UI { return c.renderRemote(c.Remotes[i]) }),
		app.If(len(c.Remotes) == 0, func() app.UI {
			text := "Connecting…"
			if c.ByLink {
				text = "Waiting for others to join. Share the call link to invite them."
			}
			return app.Div().Class("tile tile-wait").Body(app.P().Class("muted").Role("status").Text(text))
		}),
		app.If(c.Video, func() app.UI { return c.selfView() }),
		app.Div().Class("my-reactions").Body(c.reactionsFor("")),
	)
}

// selfView is this user's own camera, small.
func (c *InCall) selfView() app.UI {
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
}

// controls are the call's main buttons.
func (c *InCall) controls() app.UI {
	return app.Div().Class("call-controls").Role("group").Aria("label", "Call controls").Body(
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
		c.shareButton(),
		app.Button().ID("end-call").Class("btn btn-end").Type("button").Aria("label", "End call").
			Body(icon("hangup"), app.Span().Text("End")).
			OnClick(func(ctx app.Context, e app.Event) { c.S.hangUp(ctx) }),
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
			qualityIndicator(r.ElemID, r.Quality),
		),
	)
}

func (c *Shell) inCall() app.UI {
	s := c.s
	video := s.callVideo()
	var remotes []Remote
	// While this tab's signalling is away the snapshot is stale: its
	// "reconnecting" statuses are not news, the server's absence is.
	serverAway := s.page.conn != ""
	reconnecting := false
	for _, p := range s.remotes() {
		if p.Status == wire.StatusReconnecting {
			reconnecting = true
		}
		if !wire.Joined(p.Status) && !wire.Pending(p.Status) {
			continue
		}
		_, hasVideo := s.media.tracks[p.JID+":video"]
		remotes = append(remotes, Remote{
			JID: p.JID, ElemID: elemID(p.JID), Name: s.displayName(p.JID), Status: p.Status,
			AudioMuted: s.muted(p, "audio"), VideoMuted: s.muted(p, "video"),
			HasVideo: video && hasVideo, Speaking: s.media.speaking[p.JID],
			Quality: s.media.quality[p.JID],
		})
	}
	if me := s.call.snap.Participant(s.account.user.JID); me != nil && me.Status == wire.StatusReconnecting {
		reconnecting = true
	}
	// The timer counts from when this tab saw the call connect: the local
	// clock only, so a device whose clock is off still shows the right time.
	started := s.call.connectedAt
	_, hasLocal := s.media.tracks["local:video"]
	sharer := s.sharer()
	return &InCall{Sharer: sharer, SharerName: s.displayName(sharer), Presenting: s.presenting(), S: s, Video: video, Remotes: remotes, Started: started,
		MicMuted: s.media.localAudio, CamMuted: s.media.localVideo, HasLocalVideo: video && hasLocal,
		Reconnecting: reconnecting && !serverAway, ServerAway: serverAway, Notice: s.page.notice, MyName: s.account.user.DisplayName,
		ByLink: s.call.viaLink || s.call.snap.Meet, Link: s.call.link, LinkCopied: s.call.linkCopied, Rev: s.page.rev}
}
