package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The side panel of messages and the reactions of the in-call screen; their
// state and actions are in chat_state.go.

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
				OnInput(func(ctx app.Context, e app.Event) {
					// The field shows what is typed: keep the draft for the
					// next render without re-rendering the call per key.
					c.S.chat.draft = ctx.JSSrc().Get("value").String()
					ctx.PreventUpdate()
				}),
			app.Button().ID("chat-send").Class("btn btn-primary btn-small").Type("submit").Text("Send"),
		),
	)
}

func emojiName(e string) string {
	for _, r := range reactionEmoji {
		if r.Emoji == e {
			return r.Name
		}
	}
	return e
}
