package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/wire"
)

// The parts of the in-call screen that extras.go drives: head buttons, the
// switch banner, notes, reactions, the side panel and the dialogs.

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

// switchControl is "Turn on video" in a voice call.
func (c *InCall) switchControl() app.UI {
	busy := c.S.sw.state == switchRequesting || c.S.sw.busy
	return app.Button().ID("switch-video").Class("btn btn-toggle").Type("button").Disabled(busy).
		Aria("label", "Turn on video").
		Body(icon("cam"), app.Span().Text("Video")).
		OnClick(func(ctx app.Context, e app.Event) { c.S.turnOnVideo(ctx) })
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

// reactionsFor renders the reactions floating over the tile of jid ("" = you).
func (c *InCall) reactionsFor(jid string) app.UI {
	var rs []reaction
	for _, r := range c.S.chat.reactions {
		if r.From == jid {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	who := "You"
	if jid != "" {
		who = c.S.displayName(jid)
	}
	return app.Div().Class("reactions-float").Body(
		app.Range(rs).Slice(func(i int) app.UI {
			return app.Span().Class("reaction").DataSet("emoji", rs[i].Emoji).Role("img").
				Aria("label", who+" reacted "+emojiName(rs[i].Emoji)).
				Style("left", itoa(10+(rs[i].ID*23)%60)+"%").Text(rs[i].Emoji)
		}),
	)
}

// reactionBar is the row of quick reactions.
func (c *InCall) reactionBar() app.UI {
	return app.Div().ID("reaction-bar").Class("reaction-bar").Role("group").Aria("label", "Send a reaction").Body(
		app.Range(reactionEmoji).Slice(func(i int) app.UI {
			r := reactionEmoji[i]
			return app.Button().ID("react-"+itoa(i)).Class("btn-emoji").Type("button").
				Aria("label", "React with "+r.Name).Title("React with " + r.Name).Text(r.Emoji).
				OnClick(func(ctx app.Context, e app.Event) { c.S.sendReaction(ctx, r.Emoji) })
		}),
	)
}

// sidePanel is the messages panel.
func (c *InCall) sidePanel() app.UI {
	return app.Aside().ID("side-panel").Class("side-panel").Aria("labelledby", "panel-title").Body(
		app.Div().Class("panel-head").Body(
			app.H2().ID("panel-title").Text("Messages"),
			app.Button().ID("close-panel").Class("btn btn-toggle btn-small").Type("button").
				Aria("label", "Close messages").Text("Close").
				OnClick(func(ctx app.Context, e app.Event) { c.S.togglePanel(ctx) }),
		),
		app.Div().ID("chat-log").Class("chat-log").Role("log").Aria("live", "polite").Aria("label", "Messages in this call").Body(
			app.If(len(c.S.chat.msgs) == 0, func() app.UI {
				return app.P().Class("chat-empty muted").Text("Messages you send here reach everyone in the call. They disappear when the call ends.")
			}),
			app.Ol().Class("chat-list").Body(app.Range(c.S.chat.msgs).Slice(func(i int) app.UI {
				m := c.S.chat.msgs[i]
				return app.Li().Class(map[bool]string{true: "chat-msg mine", false: "chat-msg"}[m.Mine]).Body(
					app.Div().Class("chat-meta").Body(
						app.Span().Class("chat-from").Text(m.Name),
						app.Time().Class("chat-time").DateTime(m.At.Format("2006-01-02T15:04:05")).Text(m.At.Format("15:04")),
					),
					app.P().Class("chat-text").Text(m.Text),
				)
			})),
		),
		app.If(c.S.chat.err != "", func() app.UI {
			return app.P().Class("notice notice-error").Role("alert").Text(c.S.chat.err)
		}),
		app.Form().ID("chat-form").Class("chat-form").OnSubmit(func(ctx app.Context, e app.Event) {
			e.PreventDefault()
			if c.S.sendChat(ctx) {
				// go-app leaves the field alone when the value it rendered
				// last was already "": empty it here.
				if in := app.Window().GetElementByID("chat-input"); in.Truthy() {
					in.Set("value", "")
				}
			}
		}).Body(
			app.Label().For("chat-input").Class("visually-hidden").Text("Message"),
			app.Input().ID("chat-input").Type("text").Value(c.S.chat.draft).Placeholder("Send a message").
				MaxLength(maxChatRunes).Attr("autocomplete", "off").
				OnInput(func(ctx app.Context, e app.Event) { c.S.chat.draft = ctx.JSSrc().Get("value").String() }),
			app.Button().ID("chat-send").Class("btn btn-primary btn-small").Type("submit").Text("Send"),
		),
	)
}

// dialog renders a modal dialog; Escape is handled by the page's key listener.
func dialog(id, title string, alert bool, body ...app.UI) app.UI {
	role := "dialog"
	if alert {
		role = "alertdialog"
	}
	return app.Div().Class("overlay").Body(
		app.Section().ID(id).Class("incoming dialog").Role(role).Aria("modal", "true").
			Aria("labelledby", id+"-title").TabIndex(-1).Body(
			append([]app.UI{app.H2().ID(id + "-title").Class("dialog-title").Text(title)}, body...)...,
		),
	)
}

// dialogs renders the open dialog, if any.
func (c *InCall) dialogs() app.UI {
	s := c.S
	switch {
	case c.S.call.helpOpen:
		keys := []struct{ Key, What string }{
			{"M", "Mute or unmute your microphone"},
			{"V", "Turn your camera off or on (video calls)"},
			{"C", "Open or close messages"},
			{"Esc", "Close a dialog or the messages panel"},
			{"?", "Show these shortcuts"},
		}
		return dialog("help-dialog", "Keyboard shortcuts", false,
			app.Dl().Class("keys").Body(app.Range(keys).Slice(func(i int) app.UI {
				return app.Div().Class("key-row").Body(app.Dt().Body(app.Kbd().Text(keys[i].Key)), app.Dd().Text(keys[i].What))
			})),
			app.P().Class("muted").Text("Shortcuts don't work while you type in a text field."),
			app.Button().ID("help-close").Class("btn btn-primary").Type("button").Text("Close").
				OnClick(func(ctx app.Context, e app.Event) { s.escape(ctx) }),
		)
	case c.S.call.audioOpen:
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
	case c.S.sw.state == switchAsked:
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
	case c.S.sw.infoOpen:
		return dialog("video-info", "Video in group calls", false,
			app.P().Text("A group call can't switch from voice to video. In a group video call, everyone turns their own camera on or off whenever they like."),
			app.P().Class("muted").Text("To see each other, end this call and start a video call."),
			app.Button().ID("video-info-close").Class("btn btn-primary").Type("button").Text("OK").
				OnClick(func(ctx app.Context, e app.Event) { s.escape(ctx) }),
		)
	case c.S.inviteForm.open:
		return dialog("invite-dialog", "Invite people", false,
			app.Form().ID("invite-form").Class("dialog-form").OnSubmit(func(ctx app.Context, e app.Event) {
				e.PreventDefault()
				s.invite(ctx)
			}).Body(
				app.Label().For("invite-to").Text("Usernames"),
				app.Input().ID("invite-to").Type("text").Value(c.S.inviteForm.to).Placeholder("e.g. carol, dave").
					Attr("autocomplete", "off").Attr("autocapitalize", "none").Attr("spellcheck", "false").
					Aria("describedby", "invite-hint").Aria("invalid", boolAttr(c.S.inviteForm.err != "")).
					OnInput(func(ctx app.Context, e app.Event) { s.inviteForm.to = ctx.JSSrc().Get("value").String() }),
				app.P().ID("invite-hint").Class("field-hint").Text("Separate several usernames with commas. They are rung right away."),
				app.If(c.S.inviteForm.err != "", func() app.UI {
					return app.P().ID("invite-error").Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(c.S.inviteForm.err))
				}),
				app.Div().Class("dialog-buttons").Body(
					app.Button().ID("invite-cancel").Class("btn btn-toggle").Type("button").Text("Cancel").
						OnClick(func(ctx app.Context, e app.Event) { s.closeInvite(ctx) }),
					app.Button().ID("invite-send").Class("btn btn-answer").Type("submit").Disabled(c.S.inviteForm.busy).
						Text(map[bool]string{true: "Inviting…", false: "Invite"}[c.S.inviteForm.busy]),
				),
			),
		)
	}
	return nil
}

func canChooseSpeaker() bool { return browser.CanChooseSpeaker() }

func boolAttr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func emojiName(e string) string {
	for _, r := range reactionEmoji {
		if r.Emoji == e {
			return r.Name
		}
	}
	return e
}
