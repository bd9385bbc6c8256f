package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// press sends one key to the focused element of the user's tab, as a person
// typing it would.
func (u *pwaUser) press(key string) {
	u.t.Helper()
	run(u.t, u.ctx, "press "+key, chromedp.KeyEvent(key))
}

// a11y runs axe-core on the user's screen when it is installed (see
// axeSource in platform_test.go); without it the step is skipped with a log
// line rather than skipping the whole test.
func (u *pwaUser) a11y(screen string) {
	u.t.Helper()
	file := filepath.Join(repoRoot(u.t), "server", "e2e", "testdata", "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(file); err != nil {
		u.t.Logf("axe-core not installed: no accessibility check of %s", screen)
		return
	}
	axeCheck(u.t, u.ctx, screen+" ("+u.shotSize+")")
}

// textOf is the text content of the first element matching sel ("" if none).
func textOf(sel string) string {
	return `((document.querySelector(` + strconv.Quote(sel) + `) || {}).textContent || '')`
}

// TestPWAInCallFeatures drives the in-call extras by clicks and keys, as three
// people in isolated browser contexts: the M shortcut, a voice call switched
// to video by request and accept (after one declined request), inviting a
// third person, messages, reactions, the shortcut help, hanging up.
func TestPWAInCallFeatures(t *testing.T) {
	// A video request stays up while both screens are photographed and
	// checked for accessibility, which takes long on a loaded machine.
	srv := startServerWith(t, serverOptions{Args: []string{"-switch-timeout", "2m"}})
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	carol := newPWAUser(t, b, "carol", "Carol Danvers", "desktop")
	for _, u := range []*pwaUser{alice, bob, carol} {
		u.signUp(srv.URL)
	}

	// A voice call from alice to bob.
	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-voice")
	bob.wait(`document.querySelector('#answer-call')`, 15*time.Second)
	click(t, bob.ctx, "#answer-call")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`document.querySelector('.incall.voice') && document.querySelector('#switch-video')`, 20*time.Second)
		u.wait(`(() => { const a = document.querySelector('.tile audio'); return a && a.srcObject && !a.paused })()`, 20*time.Second)
	}
	alice.shot("20-voice")
	bob.shot("20-voice")
	alice.a11y("voice call")

	// M mutes alice's microphone; bob sees it.
	alice.wait(`document.activeElement && document.activeElement.id === 'toggle-mic'`, 5*time.Second)
	alice.press("m")
	alice.wait(`document.querySelector('#toggle-mic').getAttribute('aria-pressed') === 'true'`, 10*time.Second)
	bob.wait(`document.querySelector('[id^="remote-mic-muted-"]')`, 10*time.Second)
	bob.shot("21-remote-muted")

	// Alice asks for video; bob declines with Escape; alice is told.
	click(t, alice.ctx, "#switch-video")
	alice.wait(textOf("#switch-waiting")+`.includes('Waiting for Bob Marley')`, 10*time.Second)
	bob.wait(`document.querySelector('#switch-dialog') && document.activeElement && document.activeElement.id === 'switch-dialog'`, 10*time.Second)
	if got := eval[string](t, bob.ctx, textOf("#switch-dialog-title")); got != "Alice Liddell wants to turn on video" {
		t.Errorf("bob's switch dialog says %q", got)
	}
	alice.shot("22-switch-waiting")
	bob.shot("22-switch-dialog")
	alice.a11y("video request waiting")
	bob.a11y("video request dialog")
	bob.press(kb.Escape)
	alice.waitNote("Bob Marley declined video")
	alice.wait(`!document.querySelector('#switch-waiting') && document.querySelector('.incall.voice')`, 5*time.Second)
	bob.wait(`!document.querySelector('#switch-dialog')`, 5*time.Second)
	alice.shot("23-switch-declined")

	// Alice asks and changes her mind: bob's dialog goes away and says so.
	click(t, alice.ctx, "#switch-video")
	bob.wait(`document.querySelector('#switch-dialog')`, 10*time.Second)
	alice.wait(`document.activeElement && document.activeElement.id === 'switch-cancel'`, 5*time.Second)
	click(t, alice.ctx, "#switch-cancel")
	bob.waitNote("Alice Liddell cancelled the video request")
	bob.wait(`!document.querySelector('#switch-dialog')`, 10*time.Second)
	alice.wait(`!document.querySelector('#switch-waiting') && document.querySelector('.incall.voice')`, 10*time.Second)
	bob.shot("23b-switch-cancelled")

	// Asked again, bob accepts: video both ways.
	click(t, alice.ctx, "#switch-video")
	bob.wait(`document.querySelector('#switch-accept')`, 10*time.Second)
	click(t, bob.ctx, "#switch-accept")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`document.querySelector('.incall') && !document.querySelector('.incall.voice') && document.querySelector('#toggle-cam')`, 20*time.Second)
		u.remoteVideoPlays()
	}
	alice.shot("24-switched-video")
	bob.shot("24-switched-video")

	// Inviting: an unknown user is explained; carol is rung and answers.
	click(t, alice.ctx, "#open-invite")
	alice.wait(`document.querySelector('#invite-dialog') && document.activeElement && document.activeElement.id === 'invite-to'`, 5*time.Second)
	typeText(t, alice.ctx, "#invite-to", "nobody")
	click(t, alice.ctx, "#invite-send")
	alice.wait(textOf("#invite-error")+`.includes('no user named nobody')`, 10*time.Second)
	alice.shot("25-invite-error")
	alice.a11y("invite dialog with an error")
	clearText(t, alice.ctx, "#invite-to")
	typeText(t, alice.ctx, "#invite-to", "carol")
	alice.shot("25-invite-dialog")
	click(t, alice.ctx, "#invite-send")
	alice.wait(`!document.querySelector('#invite-dialog')`, 10*time.Second)
	bob.waitNote("Alice Liddell invited")
	carol.wait(`document.querySelector('#incoming-card')`, 15*time.Second)
	bob.shot("26-invited-note")
	carol.shot("26-incoming")
	click(t, carol.ctx, "#answer-call")
	for _, u := range []*pwaUser{alice, bob, carol} {
		u.wait(`document.querySelectorAll('.tile[data-status="connected"]').length === 2`, 30*time.Second)
	}
	carol.remoteVideoPlays()
	for _, u := range []*pwaUser{alice, bob, carol} {
		u.shot("27-three")
	}

	// Alice picks another speaker during the call: every remote audio
	// element plays on it at once.
	click(t, alice.ctx, "#open-audio")
	alice.wait(`document.querySelector('#audio-dialog') && document.activeElement && document.activeElement.id === 'mic-select'`, 5*time.Second)
	alice.wait(`document.querySelectorAll('#speaker-select option').length > 1`, 10*time.Second)
	spk := choose(t, alice, "#speaker-select", 1)
	// The note shows for 5 s from the choice: read it before the sinks,
	// which a loaded machine may take longer than that to switch.
	alice.waitNote("Calls play on this speaker")
	alice.wait(`(() => { const as = [...document.querySelectorAll('.tile audio')]; return as.length === 2 && as.every(a => a.sinkId === `+jsString(spk)+`) })()`, 10*time.Second)
	alice.shot("27b-speaker")
	// And another microphone: the engine switches to it in the call, and
	// bob keeps hearing her (the remote audio track stays live).
	choose(t, alice, "#mic-select", 2)
	alice.waitNote("This call now uses this microphone")
	bob.wait(`(() => { const a = document.querySelector('.tile[data-user^="alice"] audio'); return a && a.srcObject && a.srcObject.getAudioTracks()[0].readyState === 'live' })()`, 5*time.Second)
	alice.a11y("speaker dialog")
	alice.press(kb.Escape)
	alice.wait(`!document.querySelector('#audio-dialog') && document.activeElement && document.activeElement.id === 'open-audio'`, 5*time.Second)

	// Bob sends a message; alice and carol see the unread badge, then it.
	click(t, bob.ctx, "#toggle-chat")
	bob.wait(`document.activeElement && document.activeElement.id === 'chat-input'`, 5*time.Second)
	// Typed into the focused field, then sent with the Enter key.
	run(t, bob.ctx, "type a message", insertText("Hello from Bob!"), chromedp.KeyEvent(kb.Enter))
	bob.wait(`[...document.querySelectorAll('#chat-log .chat-msg.mine .chat-text')].some(e => e.textContent === 'Hello from Bob!') && document.querySelector('#chat-input').value === ''`, 5*time.Second)
	bob.shot("28-chat-sent")
	// Escape closes the panel even from the message field.
	bob.press(kb.Escape)
	bob.wait(`!document.querySelector('#side-panel') && document.activeElement && document.activeElement.id === 'toggle-chat'`, 5*time.Second)
	for _, u := range []*pwaUser{alice, carol} {
		u.wait(textOf("#unread-badge")+` === '1'`, 10*time.Second)
		click(t, u.ctx, "#toggle-chat")
		u.wait(`(() => { const m = document.querySelector('#chat-log .chat-msg'); return m && m.querySelector('.chat-text').textContent === 'Hello from Bob!' && m.querySelector('.chat-from').textContent === 'Bob Marley' && /^\d\d:\d\d$/.test(m.querySelector('.chat-time').textContent) })()`, 10*time.Second)
		u.wait(`!document.querySelector('#unread-badge')`, 5*time.Second)
		u.shot("28-chat-received")
	}
	alice.a11y("messages panel")

	// Typing M in the message field does not mute.
	alice.wait(`document.activeElement && document.activeElement.id === 'chat-input'`, 5*time.Second)
	wasMuted := eval[string](t, alice.ctx, `document.querySelector('#toggle-mic').getAttribute('aria-pressed')`)
	alice.press("m")
	time.Sleep(300 * time.Millisecond)
	if now := eval[string](t, alice.ctx, `document.querySelector('#toggle-mic').getAttribute('aria-pressed')`); now != wasMuted {
		t.Errorf("typing m in the message field toggled the microphone")
	}

	// Carol reacts: the thumbs up floats over her tile for alice and bob.
	// It floats for 3.5 s only, and one page is looked at after the other
	// (with a screenshot between): each page notes it the moment it shows.
	const sawThumbsUp = `(() => { const r = document.querySelector('.tile[data-user^="carol"] .reaction'); return !!r && r.dataset.emoji === '👍' })()`
	for _, u := range []*pwaUser{alice, bob} {
		eval[bool](t, u.ctx, `(window.sawReaction = false, new MutationObserver(() => { if (`+sawThumbsUp+`) window.sawReaction = true; }).observe(document.body, {subtree: true, childList: true, attributes: true}), true)`)
	}
	click(t, carol.ctx, "#react-0")
	carol.wait(`document.querySelector('.my-reactions .reaction')`, 5*time.Second)
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`window.sawReaction`, 10*time.Second)
		u.shot("29-reaction")
	}
	carol.shot("29-reaction")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`!document.querySelector('.tile .reaction')`, 10*time.Second)
	}

	// Escape closes the panel, ? opens the help, Escape closes it.
	alice.press(kb.Escape)
	alice.wait(`!document.querySelector('#side-panel') && document.activeElement && document.activeElement.id === 'toggle-chat'`, 5*time.Second)
	alice.press("?")
	alice.wait(`document.querySelector('#help-dialog') && document.activeElement && document.activeElement.id === 'help-dialog'`, 5*time.Second)
	alice.wait(textOf("#help-dialog")+`.includes('Mute or unmute your microphone')`, 5*time.Second)
	alice.shot("30-help")
	alice.a11y("shortcuts dialog")
	alice.press(kb.Escape)
	alice.wait(`!document.querySelector('#help-dialog')`, 5*time.Second)
	bob.press("?")
	bob.wait(`document.querySelector('#help-dialog')`, 5*time.Second)
	bob.shot("30-help")
	bob.a11y("shortcuts dialog")
	click(t, bob.ctx, "#help-close")
	bob.wait(`!document.querySelector('#help-dialog')`, 5*time.Second)

	// Everyone hangs up; the call is in every log.
	for _, u := range []*pwaUser{alice, bob, carol} {
		// The last one's call may end (the others left) at any moment:
		// look and click in one step in the page, not look then wait to click.
		eval[bool](t, u.ctx, `(() => { const b = document.querySelector('#end-call'); if (b) b.click(); return true })()`)
		u.wait(`document.querySelector('#call-ended') || document.querySelector('#call-log')`, 15*time.Second)
	}
	for _, u := range []*pwaUser{alice, bob, carol} {
		u.wait(`document.querySelector('#call-log .log-item')`, 15*time.Second)
		u.shot("31-call-log")
	}
}
