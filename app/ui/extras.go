package ui

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/wire"
)

// The in-call extras: switching a voice call to video, inviting people, the
// side panel of messages and reactions, and keyboard shortcuts. Their state is
// callExtras, forgotten at every call end.

// maxChatRunes caps a chat message (the engine's own limit is 64 KiB).
const maxChatRunes = 2000

// reactionFor is how long a reaction floats over a tile.
const reactionFor = 3500 * time.Millisecond

// noteFor is how long a short in-call note ("Bob invited Carol") stays.
const noteFor = 6 * time.Second

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

// Switch states of the current call.
const (
	switchNone       = ""
	switchRequesting = "requesting" // we asked; waiting for the answer
	switchAsked      = "asked"      // the other side asked us
)

// dialogOpen reports whether a modal dialog of the call screen is open.
func (s *session) dialogOpen() bool {
	return s.sw.state == switchAsked || s.sw.infoOpen || s.inviteForm.open || s.call.helpOpen || s.call.audioOpen
}

// openAudio opens the speaker dialog of the call.
func (s *session) openAudio(ctx app.Context) {
	st := &s.settings
	st.mic, _ = browser.StorageGet(browser.MicKey)
	st.camera, _ = browser.StorageGet(browser.CameraKey)
	st.speaker, _ = browser.StorageGet(browser.SpeakerKey)
	st.saved = ""
	s.call.audioOpen = true
	s.loadDevices(false)
	s.deferFocus(ctx, "mic-select")
}

// later runs f on the UI goroutine after d.
func (s *session) later(d time.Duration, f func(app.Context)) {
	go func() {
		time.Sleep(d)
		s.dispatch(f)
	}()
}

// setNote shows a short sentence in the call for a few seconds.
func (s *session) setNote(text string) {
	s.note.text = text
	s.note.gen++
	gen := s.note.gen
	s.later(noteFor, func(app.Context) {
		if s.note.gen == gen {
			s.note.text = ""
		}
	})
}

// deferFocus moves focus to id after the next render.
func (s *session) deferFocus(ctx app.Context, id string) {
	ctx.Defer(func(app.Context) { focus(id) })
}

// groupCall reports whether the current call is a group call (no video switch).
func (s *session) groupCall() bool {
	return s.call.snap.Mode == wire.ModeOneToMany || len(s.remotes()) > 1
}

// --- Switch to video ---

// turnOnVideo is the "Turn on video" control of a voice call.
func (s *session) turnOnVideo(ctx app.Context) {
	if s.groupCall() {
		s.sw.infoOpen = true
		s.deferFocus(ctx, "video-info")
		return
	}
	if s.sw.state != switchNone || s.sw.busy {
		return
	}
	s.sw.busy = true
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.RequestVideoCallSwitch(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.sw.busy = false
		if err != nil {
			s.page.notice = "Video couldn't be requested. " + humanError(actSwitch, err, browser.SecureContext())
			return
		}
		if s.callVideo() {
			return // accepted already
		}
		s.sw.state = switchRequesting
		s.deferFocus(ctx, "switch-cancel")
	})
}

// switchAnswer sends accept, decline or cancel.
func (s *session) switchAnswer(ctx app.Context, action string) {
	if s.sw.busy {
		return
	}
	s.sw.busy = true
	prev := s.sw.state
	run(s, 20*time.Second, func(c context.Context) (struct{}, error) {
		switch action {
		case wire.SwitchAccept:
			return struct{}{}, s.eng.AcceptVideoCallSwitchRequest(c)
		case wire.SwitchDecline:
			return struct{}{}, s.eng.DeclineVideoCallSwitchRequest(c)
		}
		return struct{}{}, s.eng.CancelVideoCallSwitchRequest(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.sw.busy = false
		if s.sw.state == prev {
			s.sw.state = switchNone
		}
		if err != nil && code(err) != wire.CodeNotInCall {
			s.page.notice = humanError(actSwitch, err, browser.SecureContext())
		}
		s.refresh(ctx)
		s.deferFocus(ctx, "toggle-mic")
	})
}

// onSwitch handles callSwitchListener.
func (s *session) onSwitch(ctx app.Context, ev Event) {
	mine := ev.LocalUser || ev.UserJID == s.account.user.JID
	name := s.displayName(ev.UserJID)
	switch ev.Status {
	case wire.SwitchRequest:
		if mine {
			if !s.callVideo() {
				s.sw.state = switchRequesting
			}
			return
		}
		s.sw.state, s.sw.from = switchAsked, ev.UserJID
		s.deferFocus(ctx, "switch-dialog")
	case wire.SwitchAccept:
		s.sw.state = switchNone
		if !mine {
			s.setNote(name + " turned on video.")
		}
	case wire.SwitchDecline:
		if s.sw.state == switchRequesting && !mine {
			s.setNote(name + " declined video. The call stays a voice call.")
		}
		s.sw.state = switchNone
	case wire.SwitchCancel:
		if s.sw.state == switchAsked && !mine {
			s.setNote(name + " cancelled the video request.")
		}
		s.sw.state = switchNone
	case wire.SwitchTimeout:
		if s.sw.state == switchRequesting {
			s.setNote("No answer to your video request. The call stays a voice call.")
		} else if s.sw.state == switchAsked {
			s.setNote("The video request timed out.")
		}
		s.sw.state = switchNone
	}
	s.refresh(ctx)
}

// --- Invite ---

func (s *session) openInvite(ctx app.Context) {
	s.inviteForm.open, s.inviteForm.err = true, ""
	s.deferFocus(ctx, "invite-to")
}

func (s *session) closeInvite(ctx app.Context) {
	s.inviteForm.open, s.inviteForm.err, s.inviteForm.to = false, "", ""
	s.deferFocus(ctx, "open-invite")
}

// inviteNames checks the invite field and returns the usernames, or a sentence.
func (s *session) inviteNames(to string) ([]string, string) {
	var names []string
	seen := map[string]bool{}
	for _, n := range strings.Split(to, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if n == s.account.user.Username || n == s.account.user.JID {
			return nil, "You are already in this call. Enter someone else's username."
		}
		for _, p := range s.call.snap.Participants {
			u, _, _ := strings.Cut(p.JID, "@")
			if (p.JID == n || u == n) && (wire.Joined(p.Status) || wire.Pending(p.Status)) {
				return nil, s.displayName(p.JID) + " is already in this call."
			}
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, "Enter the username of the person to invite."
	}
	present := 0
	for _, p := range s.call.snap.Participants {
		if wire.Joined(p.Status) || wire.Pending(p.Status) {
			present++
		}
	}
	if present+len(names) > 8 {
		return nil, "A call has at most 8 people, so there is room for " + itoa(max(0, 8-present)) + " more."
	}
	return names, ""
}

func (s *session) invite(ctx app.Context) {
	names, msg := s.inviteNames(s.inviteForm.to)
	if msg != "" {
		s.inviteForm.err = msg
		return
	}
	s.inviteForm.busy, s.inviteForm.err = true, ""
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.InviteUsers(c, names)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.inviteForm.busy = false
		if err != nil {
			s.inviteForm.err = inviteError(err, names)
			s.deferFocus(ctx, "invite-to")
			return
		}
		s.inviteForm.open, s.inviteForm.to = false, ""
		s.setNote("You invited " + strings.Join(names, ", ") + ". They are being rung.")
		s.refresh(ctx)
		s.deferFocus(ctx, "open-invite")
	})
}

// inviteError says why an invitation failed.
func inviteError(err error, names []string) string {
	switch code(err) {
	case wire.CodeCallFull:
		return "The call is full: a call has at most 8 people."
	case wire.CodeNotFound:
		if len(names) == 1 {
			return "There is no user named " + names[0] + " on this server. Check the username."
		}
		return "One of those users doesn't exist on this server. Check the usernames."
	case wire.CodeConflict:
		return "That person is already in this call or in another call."
	}
	return humanError(actInvite, err, true)
}

// onInvite handles inviteUsersListener.
func (s *session) onInvite(ctx app.Context, ev Event) {
	s.refresh(ctx)
	if ev.UserJID == s.account.user.JID {
		return // our own invitation: invite() said it
	}
	var names []string
	for _, j := range ev.Invited {
		names = append(names, s.displayName(j))
	}
	if len(names) > 0 {
		s.setNote(s.displayName(ev.UserJID) + " invited " + strings.Join(names, ", ") + ".")
	}
}

// --- Messages and reactions ---

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

func (s *session) sendReaction(ctx app.Context, emoji string) {
	data, _ := json.Marshal(envelope{Kind: "reaction", Emoji: emoji})
	s.addReaction("", emoji)
	s.sendData(data, func(err error) {
		s.page.notice = "Your reaction wasn't delivered. " + humanError(actData, err, true)
	})
}

func (s *session) sendData(data json.RawMessage, failed func(error)) {
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.SendCustomData(c, data)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil {
			failed(err)
		}
	})
}

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
func (s *session) onData(ev Event) {
	if s.phase != phaseInCall || ev.UserJID == s.account.user.JID {
		return
	}
	e, ok := parseEnvelope(ev.Data)
	if !ok {
		return
	}
	switch e.Kind {
	case "chat":
		s.chat.msgs = append(s.chat.msgs, chatMsg{From: ev.UserJID, Name: s.displayName(ev.UserJID), Text: e.Text, At: time.Now()})
		if len(s.chat.msgs) > 500 {
			s.chat.msgs = s.chat.msgs[len(s.chat.msgs)-500:]
		}
		if !s.chat.open {
			s.chat.unread++
		}
	case "reaction":
		s.addReaction(ev.UserJID, e.Emoji)
	}
}

// --- Keyboard shortcuts ---

// onKey handles a keydown anywhere on the page during a call.
func (s *session) onKey(ctx app.Context, k browser.Key) {
	if s.phase != phaseInCall || k.Modified || s.ring.has {
		return
	}
	if k.Key == "Escape" {
		s.escape(ctx)
		return
	}
	if k.Typing || s.dialogOpen() {
		return
	}
	switch k.Key {
	case "m", "M":
		s.toggleMic(ctx)
	case "v", "V":
		if s.callVideo() {
			s.toggleCam(ctx)
		} else {
			s.setNote("This is a voice call: use Turn on video to ask for video.")
		}
	case "c", "C":
		s.togglePanel(ctx)
	case "?":
		s.call.helpOpen = true
		s.deferFocus(ctx, "help-dialog")
	}
}

// escape closes the topmost dialog or panel.
func (s *session) escape(ctx app.Context) {
	switch {
	case s.call.helpOpen:
		s.call.helpOpen = false
		s.deferFocus(ctx, "toggle-mic")
	case s.call.audioOpen:
		s.call.audioOpen = false
		s.deferFocus(ctx, "open-audio")
	case s.sw.state == switchAsked:
		s.switchAnswer(ctx, wire.SwitchDecline)
	case s.sw.infoOpen:
		s.sw.infoOpen = false
		s.deferFocus(ctx, "switch-video")
	case s.inviteForm.open:
		s.closeInvite(ctx)
	case s.chat.open:
		s.togglePanel(ctx)
	}
}

// applyDevices hands the microphone and camera chosen on the settings screen
// to the engine before a call (on the request's goroutine: it may open
// devices). Failures show up as media errors when the call opens them.
func (s *session) applyDevices(c context.Context) {
	mic, _ := browser.StorageGet(browser.MicKey)
	cam, _ := browser.StorageGet(browser.CameraKey)
	_ = s.eng.SetDevices(c, mic, cam)
}
