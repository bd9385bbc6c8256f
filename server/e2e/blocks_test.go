package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// watchIncoming makes the page remember whether an incoming call card ever
// appears (window.sawIncoming), so that a test can tell "it never rang"
// without waiting for a while.
const watchIncoming = `(() => {
  window.sawIncoming = !!document.querySelector('#incoming-card');
  new MutationObserver(() => { if (document.querySelector('#incoming-card')) window.sawIncoming = true; })
    .observe(document.body, {childList: true, subtree: true});
  return true;
})()`

// TestPWABlocking: alice blocks bob from the call history, bob's next call
// finds her "in another call" while her page never shows an incoming call
// nor logs it, and she unblocks him in Settings (by keyboard), after which
// his call rings again.
func TestPWABlocking(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	alice.signUp(srv.URL)
	bob.signUp(srv.URL)

	// Bob calls; alice declines: the call lands in her history.
	typeText(t, bob.ctx, "#dial-to", "alice")
	click(t, bob.ctx, "#call-voice")
	alice.wait(`document.querySelector('#decline-call')`, 15*time.Second)
	click(t, alice.ctx, "#decline-call")
	alice.wait(`document.querySelector('#call-log .log-item[data-state="declined"] .log-block')`, 10*time.Second)
	if eval[int](t, alice.ctx, `document.querySelectorAll('#call-log .log-block').length`) != 1 {
		t.Fatal("want one Block button (bob's call), none on calls alice made")
	}
	bob.wait(`document.querySelector('#dial-to')`, 15*time.Second)

	// Block, with a confirmation that takes the focus.
	click(t, alice.ctx, "#call-log .log-block")
	alice.wait(`document.activeElement && document.activeElement.id === 'confirm-block'`, 5*time.Second)
	if got := eval[string](t, alice.ctx, textOf("#confirm-block")); got != "Block Bob Marley" {
		t.Fatalf("confirm button says %q", got)
	}
	alice.shot("50-block-confirm")
	setViewport(t, alice.ctx, 390, 844)
	alice.shotSize = "phone"
	eval[bool](t, alice.ctx, `(document.querySelector('#call-log').scrollIntoView(), true)`)
	alice.shot("50-block-confirm")
	setViewport(t, alice.ctx, 1280, 800)
	alice.shotSize = "desktop"
	alice.a11y("block confirmation")
	click(t, alice.ctx, "#confirm-block")
	alice.wait(textOf(".notice-info")+`.includes('You blocked Bob Marley')`, 10*time.Second)
	alice.wait(`document.querySelector('#call-log .log-blocked')`, 5*time.Second)
	alice.shot("51-blocked")
	logsBefore := eval[int](t, alice.ctx, `document.querySelectorAll('#call-log .log-item').length`)

	// Bob calls again: he sees her busy; she never rings.
	eval[bool](t, alice.ctx, watchIncoming)
	click(t, bob.ctx, "#call-voice")
	bob.wait(`document.querySelector('#call-ended') && document.querySelector('#call-ended h1').textContent === 'Alice Liddell is in another call'`, 15*time.Second)
	bob.shot("52-blocked-caller-sees-busy")
	// A reload of alice's history (a round trip after bob's call) shows no new entry.
	navigate(t, alice.ctx, srv.URL+"/")
	alice.wait(`document.querySelector('#call-log .log-blocked')`, 60*time.Second)
	if n := eval[int](t, alice.ctx, `document.querySelectorAll('#call-log .log-item').length`); n != logsBefore {
		t.Fatalf("alice's history has %d entries after bob's blocked call, want %d", n, logsBefore)
	}
	eval[bool](t, alice.ctx, watchIncoming)

	// Settings lists bob; Unblock by keyboard.
	click(t, alice.ctx, "#open-settings")
	alice.wait(`document.querySelector('#blocked-list .blocked-item[data-jid="bob@localhost"]')`, 10*time.Second)
	if got := eval[string](t, alice.ctx, `document.querySelector('.blocked-unblock').getAttribute('aria-label')`); got != "Unblock Bob Marley" {
		t.Fatalf("unblock button label %q", got)
	}
	eval[bool](t, alice.ctx, `(document.querySelector('#blocked').scrollIntoView(), true)`)
	alice.shot("53-settings-blocked")
	alice.a11y("settings with blocked people")
	eval[bool](t, alice.ctx, `(document.querySelector('.blocked-unblock').focus(), document.activeElement.classList.contains('blocked-unblock'))`)
	alice.press("\r")
	alice.wait(`document.querySelector('#blocked-empty') && `+textOf("#blocked-result")+`.includes('You unblocked Bob Marley')`, 10*time.Second)
	alice.shot("54-unblocked")
	setViewport(t, alice.ctx, 390, 844)
	alice.shotSize = "phone"
	eval[bool](t, alice.ctx, `(document.querySelector('#blocked').scrollIntoView(), true)`)
	alice.shot("55-unblocked")
	if eval[bool](t, alice.ctx, `window.sawIncoming`) {
		t.Fatal("alice's page showed an incoming call while bob was blocked")
	}

	// Unblocked: bob's call rings her again.
	click(t, alice.ctx, "#settings-back")
	alice.wait(`document.querySelector('#dial-to')`, 10*time.Second)
	bob.wait(`document.querySelector('#call-voice')`, 15*time.Second)
	click(t, bob.ctx, "#call-voice")
	alice.wait(`document.querySelector('#incoming-card')`, 15*time.Second)
	click(t, alice.ctx, "#decline-call")
}

// TestSDKBlocking: blockUser, getBlockedUsers and unblockUser through
// window.Parley, their error envelopes, and the effect on a call.
func TestSDKBlocking(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")

	for _, tc := range []struct {
		code int
		expr string
	}{
		{400, `Parley.blockUser()`},
		{400, `Parley.blockUser(42)`},
		{400, `Parley.blockUser("alice@localhost")`},
		{400, `Parley.blockUser("Not A Name!")`},
		{404, `Parley.blockUser("nobody@localhost")`},
		{400, `Parley.unblockUser()`},
		{404, `Parley.unblockUser("nobody")`},
	} {
		alice.expect(tc.code, tc.expr)
	}
	if env := alice.ok(`Parley.getBlockedUsers()`); string(env.Data) != "[]" {
		t.Fatalf("list after refused blocks: %s", env.Data)
	}
	env := alice.ok(`Parley.blockUser("bob@localhost")`)
	var got struct {
		UserJID     string `json:"userJid"`
		DisplayName string `json:"displayName"`
		BlockedAt   int64  `json:"blockedAt"`
	}
	if err := json.Unmarshal(env.Data, &got); err != nil || got.UserJID != "bob@localhost" || got.DisplayName != "User bob" || got.BlockedAt == 0 {
		t.Fatalf("blockUser data %s (%v)", env.Data, err)
	}
	if env := alice.ok(`Parley.getBlockedUsers()`); !strings.Contains(string(env.Data), `"userJid":"bob@localhost"`) {
		t.Fatalf("getBlockedUsers data %s", env.Data)
	}

	bob.ok(fmt.Sprintf(`Parley.makeVoiceCall([%q])`, alice.jid))
	bob.waitEvent("callStatusListener", `a.userJid === "alice@localhost" && a.status === "engaged"`)
	// A round trip on alice's connection after bob's call: a ring would be here by now.
	alice.ok(`Parley.getCallLogs(1)`)
	if n := eval[int](t, alice.ctx, `window.ev.filter((e) => e.name === "incomingCallListener" || e.name === "missedCallListener").length`); n != 0 {
		t.Fatalf("alice got %d incoming/missed call events from a blocked caller", n)
	}
	if env := alice.ok(`Parley.getCallLogs(1)`); string(env.Data) != "[]" {
		t.Fatalf("alice's call log %s, want empty", env.Data)
	}
	alice.ok(`Parley.unblockUser("bob")`)
	if env := alice.ok(`Parley.getBlockedUsers()`); string(env.Data) != "[]" {
		t.Fatalf("list after unblock: %s", env.Data)
	}
}
