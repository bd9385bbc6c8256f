package ui

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"parley/app/call/event"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Messages and reactions travel as custom data (SendCustomData) in an
// envelope; their view is in chat.go.

// chatState is the side panel of messages, and the reactions.
type chatState struct {
	open      bool
	msgs      []chatMsg
	unread    int
	draft     string
	err       string
	reactions []reaction
	reactSeq  int
}

// maxChatRunes caps a chat message (the engine's own limit is 64 KiB).
const maxChatRunes = 2000

// reactionFor is how long a reaction floats over a tile.
const reactionFor = 3500 * time.Millisecond

// reactionEmoji are the quick reactions, with their accessible names.
var reactionEmoji = []struct{ Emoji, Name string }{
	{"👍", "thumbs up"}, {"👏", "applause"}, {"😂", "laughter"}, {"❤️", "love"}, {"🎉", "celebration"},
}

// envelope is the JSON the PWA sends over SendCustomData. Unknown kinds are
// ignored, so other clients (and later versions) may send other things.
type envelope struct {
	Kind  string `json:"kind"`            // "chat" or "reaction"
	Text  string `json:"text,omitempty"`  // chat
	Emoji string `json:"emoji,omitempty"` // reaction
}

// chatMsg is one message of the side panel.
type chatMsg struct {
	From string // JID
	Name string
	Text string
	At   time.Time
	Mine bool
}

// reaction is one reaction floating over a tile.
type reaction struct {
	ID    int
	From  string // JID, or "" for yourself
	Emoji string
}

// togglePanel opens or closes the messages panel.
func (s *session) togglePanel(ctx app.Context) {
	s.chat.open = !s.chat.open
	if s.chat.open {
		s.chat.unread = 0
		s.deferFocus(ctx, "chat-input")
	} else {
		s.deferFocus(ctx, "toggle-chat")
	}
}

// sendChat sends the message field; it reports whether it sent it.
func (s *session) sendChat(ctx app.Context) bool {
	text := strings.TrimSpace(s.chat.draft)
	if text == "" {
		return false
	}
	if utf8.RuneCountInString(text) > maxChatRunes {
		s.chat.err = "A message has at most " + itoa(maxChatRunes) + " characters. Shorten it or send it in parts."
		return false
	}
	data, _ := json.Marshal(envelope{Kind: "chat", Text: text})
	s.chat.draft, s.chat.err = "", ""
	s.chat.msgs = append(s.chat.msgs, chatMsg{From: s.account.user.JID, Name: "You", Text: text, At: time.Now(), Mine: true})
	s.sendData(data, func(err error) {
		s.chat.err = "Your last message wasn't delivered. " + humanError(actData, err, true)
	})
	return true
}

// sendReaction shows a reaction on your tile and sends it to the others.
func (s *session) sendReaction(ctx app.Context, emoji string) {
	data, _ := json.Marshal(envelope{Kind: "reaction", Emoji: emoji})
	s.addReaction("", emoji)
	s.sendData(data, func(err error) {
		s.page.notice = "Your reaction wasn't delivered. " + humanError(actData, err, true)
	})
}

// sendData sends custom data to the others; failed says so if it fails.
func (s *session) sendData(data json.RawMessage, failed func(error)) {
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.SendCustomData(c, data)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil {
			failed(err)
		}
	})
}

// addReaction floats a reaction over the tile of from ("" = you) for a while.
func (s *session) addReaction(from, emoji string) {
	s.chat.reactSeq++
	id := s.chat.reactSeq
	s.chat.reactions = append(s.chat.reactions, reaction{ID: id, From: from, Emoji: emoji})
	if len(s.chat.reactions) > 20 {
		s.chat.reactions = s.chat.reactions[len(s.chat.reactions)-20:]
	}
	s.later(reactionFor, func(app.Context) {
		for i, r := range s.chat.reactions {
			if r.ID == id {
				s.chat.reactions = append(s.chat.reactions[:i:i], s.chat.reactions[i+1:]...)
				return
			}
		}
	})
}

// parseEnvelope decodes custom data; ok is false for anything the PWA does not
// show (unknown kind, empty or oversized message, unknown emoji).
func parseEnvelope(data json.RawMessage) (envelope, bool) {
	var e envelope
	if json.Unmarshal(data, &e) != nil {
		return e, false
	}
	switch e.Kind {
	case "chat":
		e.Text = strings.TrimSpace(e.Text)
		if e.Text == "" {
			return e, false
		}
		if utf8.RuneCountInString(e.Text) > maxChatRunes {
			e.Text = string([]rune(e.Text)[:maxChatRunes]) + "…"
		}
		return e, true
	case "reaction":
		for _, r := range reactionEmoji {
			if r.Emoji == e.Emoji {
				return e, true
			}
		}
	}
	return e, false
}

// onData handles customDataListener.
func (s *session) onData(ev event.CustomData) {
	from := ev.From.UserJID
	if s.phase != phaseInCall || from == s.account.user.JID {
		return
	}
	e, ok := parseEnvelope(ev.Data)
	if !ok {
		return
	}
	switch e.Kind {
	case "chat":
		s.chat.msgs = append(s.chat.msgs, chatMsg{From: from, Name: s.displayName(from), Text: e.Text, At: time.Now()})
		if len(s.chat.msgs) > 500 {
			s.chat.msgs = s.chat.msgs[len(s.chat.msgs)-500:]
		}
		if !s.chat.open {
			s.chat.unread++
		}
	case "reaction":
		s.addReaction(from, e.Emoji)
	}
}
