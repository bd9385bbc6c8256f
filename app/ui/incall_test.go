package ui

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// inVoiceCall signs alice in and connects a voice call with bob.
func inVoiceCall(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	s := h.s
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "alice", "secret-password") })
	h.do(1, func(ctx app.Context) { s.dial(ctx, "bob", false) })
	h.f.setStatus("bob@localhost", wire.StatusConnected)
	h.settle(1)
	if s.phase != phaseInCall || s.callVideo() {
		t.Fatalf("phase %v video %v, want a voice call", s.phase, s.callVideo())
	}
	return h
}

func TestSwitchToVideo(t *testing.T) {
	h := inVoiceCall(t)
	s := h.s
	bob := "bob@localhost"

	// Alice asks; bob declines.
	h.do(1, func(ctx app.Context) { s.turnOnVideo(ctx) })
	if !h.f.called("RequestVideoCallSwitch") || s.sw.state != switchRequesting {
		t.Fatalf("after request: state %q", s.sw.state)
	}
	h.f.sink(event.CallSwitch{UserJID: bob, Status: wire.SwitchDecline})
	h.settle(1)
	if s.sw.state != switchNone || !strings.Contains(s.note.text, "Bob Marley declined video") {
		t.Errorf("after decline: state %q note %q", s.sw.state, s.note.text)
	}

	// A request that times out.
	h.do(1, func(ctx app.Context) { s.turnOnVideo(ctx) })
	h.f.sink(event.CallSwitch{UserJID: "alice@localhost", Status: wire.SwitchTimeout})
	h.settle(1)
	if s.sw.state != switchNone || !strings.Contains(s.note.text, "No answer") {
		t.Errorf("after timeout: state %q note %q", s.sw.state, s.note.text)
	}

	// Bob asks: a dialog; Escape declines it.
	h.f.sink(event.CallSwitch{UserJID: bob, Status: wire.SwitchRequest})
	h.settle(1)
	if s.sw.state != switchAsked || s.sw.from != bob || !s.dialogOpen() {
		t.Fatalf("after bob's request: state %q from %q", s.sw.state, s.sw.from)
	}
	h.render()
	h.do(1, func(ctx app.Context) { s.onKey(ctx, browser.Key{Key: "Escape"}) })
	if !h.f.called("DeclineVideoCallSwitchRequest") || s.sw.state != switchNone {
		t.Errorf("Escape: state %q, declined %v", s.sw.state, h.f.called("DeclineVideoCallSwitchRequest"))
	}

	// Bob asks and then cancels.
	h.f.sink(event.CallSwitch{UserJID: bob, Status: wire.SwitchRequest})
	h.f.sink(event.CallSwitch{UserJID: bob, Status: wire.SwitchCancel})
	h.settle(2)
	if s.sw.state != switchNone || !strings.Contains(s.note.text, "cancelled") {
		t.Errorf("after cancel: state %q note %q", s.sw.state, s.note.text)
	}

	// In a group call the control explains instead of asking.
	s.call.snap.Participants = append(s.call.snap.Participants, wire.Participant{JID: "carol@localhost", Status: wire.StatusConnected})
	h.do(0, func(ctx app.Context) { s.turnOnVideo(ctx) })
	if !s.sw.infoOpen || s.sw.state != switchNone {
		t.Errorf("group call: info %v state %q", s.sw.infoOpen, s.sw.state)
	}
	h.render()
}

func TestInviteChecks(t *testing.T) {
	h := inVoiceCall(t)
	s := h.s
	for _, tc := range []struct{ to, want string }{
		{" , ", "Enter the username"},
		{"alice", "already in this call"},
		{"bob", "Bob Marley is already in this call"},
		{"a,b,c,d,e,f,g", "room for 6 more"},
	} {
		if _, msg := s.inviteNames(tc.to); !strings.Contains(msg, tc.want) {
			t.Errorf("inviteNames(%q) = %q, want %q", tc.to, msg, tc.want)
		}
	}
	if names, msg := s.inviteNames("Carol, dave, carol"); msg != "" || strings.Join(names, ",") != "carol,dave" {
		t.Errorf("inviteNames = %v %q", names, msg)
	}

	h.do(0, func(ctx app.Context) { s.openInvite(ctx) })
	s.inviteForm.to = "nobody"
	h.f.errs["InviteUsers"] = &wire.Error{Code: wire.CodeNotFound, Message: "not a user"}
	h.do(1, func(ctx app.Context) { s.invite(ctx) })
	if !s.inviteForm.open || !strings.Contains(s.inviteForm.err, "no user named nobody") {
		t.Errorf("unknown invitee: open %v err %q", s.inviteForm.open, s.inviteForm.err)
	}
	h.f.errs["InviteUsers"] = &wire.Error{Code: wire.CodeCallFull, Message: "full"}
	h.do(1, func(ctx app.Context) { s.invite(ctx) })
	if !strings.Contains(s.inviteForm.err, "call is full") {
		t.Errorf("full call: %q", s.inviteForm.err)
	}
	s.inviteForm.to = "carol"
	h.do(1, func(ctx app.Context) { s.invite(ctx) })
	if s.inviteForm.open || !strings.Contains(s.note.text, "You invited carol") {
		t.Errorf("after invite: open %v note %q", s.inviteForm.open, s.note.text)
	}

	// Others see who invited whom.
	h.f.sink(event.InviteUsers{UserJID: "bob@localhost", InviteUsers: []string{"dave@localhost"}})
	h.settle(1)
	if s.note.text != "Bob Marley invited dave." {
		t.Errorf("invite note %q", s.note.text)
	}
}

func TestMessagesAndReactions(t *testing.T) {
	h := inVoiceCall(t)
	s := h.s
	bob := "bob@localhost"
	send := func(v any) {
		data, _ := json.Marshal(v)
		h.f.sink(event.CustomData{Data: data, From: event.CustomDataFrom{UserJID: bob}})
	}
	send(map[string]any{"kind": "chat", "text": "  hi there "})
	send(map[string]any{"kind": "weather", "text": "sunny"})
	send(map[string]any{"kind": "chat", "text": "   "})
	send("just a string")
	send(map[string]any{"kind": "chat", "text": strings.Repeat("é", maxChatRunes+10)})
	send(map[string]any{"kind": "reaction", "emoji": "🎉"})
	send(map[string]any{"kind": "reaction", "emoji": "<script>"})
	h.settle(7)
	if len(s.chat.msgs) != 2 || s.chat.msgs[0].Text != "hi there" || s.chat.msgs[0].Name != "Bob Marley" || s.chat.unread != 2 {
		t.Fatalf("chat %+v unread %d", s.chat.msgs, s.chat.unread)
	}
	if n := len([]rune(s.chat.msgs[1].Text)); n != maxChatRunes+1 {
		t.Errorf("long message kept %d runes", n)
	}
	if len(s.chat.reactions) != 1 || s.chat.reactions[0].From != bob || s.chat.reactions[0].Emoji != "🎉" {
		t.Errorf("reactions %+v", s.chat.reactions)
	}
	h.render()

	// Opening the panel clears the badge; sending shows the message at once.
	h.do(0, func(ctx app.Context) { s.togglePanel(ctx) })
	if s.chat.unread != 0 || !s.chat.open {
		t.Errorf("panel open %v unread %d", s.chat.open, s.chat.unread)
	}
	s.chat.draft = "hello"
	h.do(1, func(ctx app.Context) { s.sendChat(ctx) })
	h.f.mu.Lock()
	sent := strings.Join(h.f.sent, "")
	h.f.mu.Unlock()
	if sent != `{"kind":"chat","text":"hello"}` || s.chat.draft != "" || !s.chat.msgs[2].Mine {
		t.Errorf("sent %s draft %q", sent, s.chat.draft)
	}
	s.chat.draft = strings.Repeat("x", maxChatRunes+1)
	h.do(0, func(ctx app.Context) { s.sendChat(ctx) })
	if !strings.Contains(s.chat.err, "at most 2000") {
		t.Errorf("long message error %q", s.chat.err)
	}
	h.render()
}

func TestShortcuts(t *testing.T) {
	h := inVoiceCall(t)
	s := h.s
	// Keys that are not shortcuts report so, for the screen not to
	// re-render on every key typed in a call.
	for _, k := range []browser.Key{{Key: "m", Typing: true}, {Key: "m", Modified: true}, {Key: "x"}, {Key: "Tab"}} {
		var acted bool
		h.do(0, func(ctx app.Context) { acted = s.onKey(ctx, k) })
		if acted {
			t.Errorf("%+v counted as a shortcut", k)
		}
	}
	if h.f.called("MuteAudio") {
		t.Error("m muted while typing or with a modifier")
	}
	if (browser.Key{Key: "a", Typing: true}).MayBeShortcut() || !(browser.Key{Key: "Escape", Typing: true}).MayBeShortcut() {
		t.Error("MayBeShortcut: a typed letter may be a shortcut, or Escape in a field may not")
	}
	var acted bool
	h.do(1, func(ctx app.Context) { acted = s.onKey(ctx, browser.Key{Key: "M"}) })
	if !s.media.localAudio || !acted {
		t.Errorf("M did not mute (acted %v)", acted)
	}
	h.do(0, func(ctx app.Context) { s.onKey(ctx, browser.Key{Key: "?"}) })
	if !s.call.helpOpen {
		t.Fatal("? did not open the help")
	}
	h.render()
	h.do(0, func(ctx app.Context) { s.onKey(ctx, browser.Key{Key: "m"}) })
	if h.f.called("MuteAudio") && !s.media.localAudio {
		t.Error("m acted behind the help dialog")
	}
	h.do(0, func(ctx app.Context) { s.onKey(ctx, browser.Key{Key: "Escape"}) })
	if s.call.helpOpen {
		t.Error("Escape did not close the help")
	}
	h.do(0, func(ctx app.Context) { s.onKey(ctx, browser.Key{Key: "c"}) })
	h.do(0, func(ctx app.Context) { s.onKey(ctx, browser.Key{Key: "Escape", Typing: true}) })
	if s.chat.open {
		t.Error("Escape in the message field did not close the panel")
	}
}

func TestGroupNameAndSettings(t *testing.T) {
	h := newHarness(t)
	s := h.s
	h.do(2, func(ctx app.Context) { s.signIn(ctx, "alice", "secret-password") })
	if manyNames("bob") || !manyNames("bob, carol") || manyNames("bob, ") {
		t.Error("manyNames")
	}
	s.dialForm.group = "  Book club "
	h.do(1, func(ctx app.Context) { s.dial(ctx, "bob, carol", false) })
	if h.f.groupID != "Book club" {
		t.Errorf("group ID %q", h.f.groupID)
	}
	if !h.f.called("SetDevices") {
		t.Error("the chosen devices were not handed to the engine before the call")
	}
	s.page.onSettings = true
	s.phase = phaseHome
	h.render()
}

// TestServerAwayKeepsCallScreen: while this tab's signalling reconnects, the
// call screen stays, with the quiet "Reconnecting to the server…" notice and
// not the media banner (the statuses it has are stale then); once back, the
// notice goes. A participant's own media reconnecting shows the banner.
func TestServerAwayKeepsCallScreen(t *testing.T) {
	h := inVoiceCall(t)
	s := h.s
	shell := &Shell{s: s}

	h.f.sink(event.ConnectionStatus{Status: event.Reconnecting})
	h.settle(1)
	// What the server last said (bob reconnecting too) is stale now.
	h.f.setStatus("bob@localhost", wire.StatusReconnecting)
	h.settle(1)
	if s.phase != phaseInCall {
		t.Fatalf("phase %v with the server away, want in call", s.phase)
	}
	c, ok := shell.screen().(*InCall)
	if !ok || !c.ServerAway || c.Reconnecting {
		t.Fatalf("with the server away: %T ServerAway=%v Reconnecting=%v, want the server notice alone", shell.screen(), ok && c.ServerAway, ok && c.Reconnecting)
	}

	h.f.sink(event.ConnectionStatus{Status: event.Connected})
	h.settle(1)
	c, ok = shell.screen().(*InCall)
	if !ok || c.ServerAway || !c.Reconnecting {
		t.Fatalf("server back, bob's media reconnecting: ServerAway=%v Reconnecting=%v", ok && c.ServerAway, ok && c.Reconnecting)
	}
	h.f.setStatus("bob@localhost", wire.StatusConnected)
	h.settle(1)
	if c, ok = shell.screen().(*InCall); !ok || c.ServerAway || c.Reconnecting {
		t.Fatalf("all back: ServerAway=%v Reconnecting=%v", ok && c.ServerAway, ok && c.Reconnecting)
	}
}
