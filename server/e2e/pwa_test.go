package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pwaUser is one person using the PWA in their own browser context.
type pwaUser struct {
	t        *testing.T
	ctx      context.Context
	name     string // username
	display  string // display name
	shotSize string // "phone" or "desktop", part of screenshot names
}

// newPWAUser opens an isolated browser context for a person, sized as a phone
// (390x844) or a desktop (1280x800) window.
func newPWAUser(t *testing.T, b *browser, name, display, size string) *pwaUser {
	t.Helper()
	u := &pwaUser{t: t, ctx: newUser(t, b), name: name, display: display, shotSize: size}
	if size == "phone" {
		setViewport(t, u.ctx, 390, 844)
	} else {
		setViewport(t, u.ctx, 1280, 800)
	}
	addInitScript(t, u.ctx, noteRecorder)
	return u
}

// noteRecorder keeps every text the call screen's passing notices show
// (#call-note, and #audio-saved in its devices dialog) in window.notesSeen:
// they stay up for seconds only, which a loaded machine can spend before a
// test looks.
const noteRecorder = `window.notesSeen = [];
new MutationObserver(() => {
  for (const id of ["call-note", "audio-saved"]) {
    const n = document.getElementById(id);
    const text = n ? n.textContent : "";
    if (text && !window.notesSeen.includes(text)) window.notesSeen.push(text);
  }
}).observe(document, {subtree: true, childList: true, characterData: true});`

// waitNote waits until a passing notice of the call screen has shown a text
// containing text (it may be gone again).
func (u *pwaUser) waitNote(text string) {
	u.t.Helper()
	u.wait(`(window.notesSeen || []).some((s) => s.includes(`+strconv.Quote(text)+`))`, 20*time.Second)
}

// shot saves a screenshot named after the step, the user and the viewport.
func (u *pwaUser) shot(step string) {
	u.t.Helper()
	screenshot(u.t, u.ctx, fmt.Sprintf("%s-%s-%s", step, u.name, u.shotSize))
}

func (u *pwaUser) wait(expr string, timeout time.Duration) {
	u.t.Helper()
	waitJS(u.t, u.ctx, expr, timeout)
}

// signUp creates the user's account through the sign-up form.
func (u *pwaUser) signUp(origin string) {
	u.t.Helper()
	navigate(u.t, u.ctx, origin+"/")
	// The wasm (several MB) compiles on a slow machine: be patient once.
	u.wait(`document.querySelector('#auth-form')`, 60*time.Second)
	u.shot("01-signin")
	click(u.t, u.ctx, "#auth-switch")
	u.wait(`document.querySelector('#display-name')`, 5*time.Second)
	typeText(u.t, u.ctx, "#username", u.name)
	typeText(u.t, u.ctx, "#display-name", u.display)
	typeText(u.t, u.ctx, "#password", "correct horse battery")
	u.shot("02-signup")
	click(u.t, u.ctx, "#auth-submit")
	u.wait(`document.querySelector('#my-jid')`, 20*time.Second)
	jid := eval[string](u.t, u.ctx, `document.querySelector('#my-jid').textContent`)
	if !strings.HasPrefix(jid, u.name+"@") {
		u.t.Fatalf("%s's home shows JID %q", u.name, jid)
	}
	u.shot("03-home")
}

// framesExpr is the number of frames decoded by the first remote video.
const framesExpr = `(() => { const v = document.querySelector('.remote-video'); return v && v.srcObject ? v.getVideoPlaybackQuality().totalVideoFrames : -1 })()`

// framesGrow waits until the frame count expr is positive, then checks that
// it keeps growing: video that really decodes, not a frozen first frame.
func (u *pwaUser) framesGrow(expr, what string) {
	u.t.Helper()
	u.wait(expr+` > 0`, 30*time.Second)
	before := eval[int](u.t, u.ctx, expr)
	time.Sleep(1500 * time.Millisecond)
	after := eval[int](u.t, u.ctx, expr)
	if after <= before {
		u.t.Fatalf("%s: %s stalled at %d frames", u.name, what, after)
	}
	u.t.Logf("%s: %s decoded %d frames in 1.5 s", u.name, what, after-before)
}

// remoteVideoPlays waits until the remote video decodes frames, and keeps
// decoding.
func (u *pwaUser) remoteVideoPlays() {
	u.t.Helper()
	u.framesGrow(framesExpr, "remote video")
	// Remote audio is attached to a playing, unmuted element.
	u.wait(`(() => { const a = document.querySelector('.tile audio'); return a && a.srcObject && !a.muted && !a.paused && a.srcObject.getAudioTracks().length === 1 })()`, 10*time.Second)
}

// startPWAVideoCall signs alice and bob up and has alice call bob with video
// until both see the other's video play.
func startPWAVideoCall(t *testing.T, origin string, alice, bob *pwaUser) {
	t.Helper()
	alice.signUp(origin)
	bob.signUp(origin)
	typeText(t, alice.ctx, "#dial-to", bob.name)
	click(t, alice.ctx, "#call-video")
	bob.wait(`document.querySelector('#answer-call')`, 15*time.Second)
	click(t, bob.ctx, "#answer-call")
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	bob.wait(`document.querySelector('.incall')`, 20*time.Second)
	alice.remoteVideoPlays()
	bob.remoteVideoPlays()
}

// TestPWAOneToOneVideoCall walks through a whole 1:1 video call in the PWA by
// clicks, as two people in two isolated browser contexts: sign up, dial,
// incoming card, answer, video both ways, remote mute shown, hang up, call log.
func TestPWAOneToOneVideoCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")

	alice.signUp(srv.URL)
	bob.signUp(srv.URL)

	// Alice dials bob with video.
	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-video")
	alice.wait(`document.querySelector('.outgoing')`, 10*time.Second)
	alice.wait(`/Calling|Ringing/.test(document.querySelector('.target-status').textContent)`, 10*time.Second)
	alice.shot("04-outgoing")

	// Bob gets the incoming card, with Alice's name, and it has focus.
	bob.wait(`document.querySelector('#incoming-card')`, 15*time.Second)
	name := eval[string](t, bob.ctx, `document.querySelector('#incoming-title').textContent`)
	if name != "Alice Liddell" {
		t.Errorf("incoming card shows %q, want Alice Liddell", name)
	}
	if kind := eval[string](t, bob.ctx, `document.querySelector('#incoming-kind').textContent`); kind != "Incoming video call" {
		t.Errorf("incoming card says %q", kind)
	}
	bob.wait(`document.activeElement && document.activeElement.id === 'incoming-card'`, 5*time.Second)
	alice.wait(`document.querySelector('.target-status').textContent === 'Ringing…'`, 10*time.Second)
	bob.shot("05-incoming")
	alice.shot("05-ringing")

	click(t, bob.ctx, "#answer-call")
	bob.wait(`document.querySelector('.incall')`, 20*time.Second)
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	bob.wait(`!document.querySelector('#incoming-card')`, 5*time.Second)

	bob.remoteVideoPlays()
	bob.shot("06-incall")
	alice.remoteVideoPlays()
	// The self-view shows the local camera, muted.
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`(() => { const v = document.querySelector('#self-view'); return v && v.srcObject && v.muted && v.srcObject.getVideoTracks().length === 1 })()`, 10*time.Second)
	}
	alice.wait(`/^\d+:\d\d$/.test(document.querySelector('#call-timer').textContent)`, 5*time.Second)
	alice.shot("06-incall")

	// Alice mutes her microphone: her button shows it and bob sees the icon.
	click(t, alice.ctx, "#toggle-mic")
	alice.wait(`document.querySelector('#toggle-mic').getAttribute('aria-pressed') === 'true'`, 10*time.Second)
	bob.wait(`document.querySelector('[id^="remote-mic-muted-"]')`, 10*time.Second)
	alice.shot("07-muted")
	bob.shot("07-remote-muted")

	// Bob turns his camera off: alice sees his avatar and the camera-off icon.
	click(t, bob.ctx, "#toggle-cam")
	bob.wait(`document.querySelector('#toggle-cam').getAttribute('aria-pressed') === 'true' && document.querySelector('.self.self-off')`, 10*time.Second)
	alice.wait(`document.querySelector('.tile.tile-novideo .avatar') && document.querySelector('[id^="remote-cam-muted-"]')`, 10*time.Second)
	alice.shot("07b-remote-camera-off")
	bob.shot("07b-camera-off")

	// Alice hangs up; both see the end, then their call log.
	click(t, alice.ctx, "#end-call")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`document.querySelector('#call-ended') || document.querySelector('#call-log')`, 10*time.Second)
		u.shot("08-ended")
	}
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`document.querySelector('#call-log .log-item')`, 15*time.Second)
		u.shot("09-call-log")
	}
	if st := eval[string](t, alice.ctx, `document.querySelector('#call-log .log-item').dataset.state`); st != "outgoing" {
		t.Errorf("alice's newest log entry is %q, want outgoing", st)
	}
	if st := eval[string](t, bob.ctx, `document.querySelector('#call-log .log-item').dataset.state`); st != "incoming" {
		t.Errorf("bob's newest log entry is %q, want incoming", st)
	}
	if who := eval[string](t, bob.ctx, `document.querySelector('#call-log .log-who').textContent`); who != "alice" {
		t.Errorf("bob's log entry names %q, want alice", who)
	}

	// A reload signs back in with the saved token; signing out forgets it.
	navigate(t, alice.ctx, srv.URL+"/")
	alice.wait(`document.querySelector('#my-jid')`, 60*time.Second)
	click(t, alice.ctx, "#sign-out")
	alice.wait(`document.querySelector('#auth-form') && localStorage.getItem('parley.token') === null`, 10*time.Second)
	navigate(t, alice.ctx, srv.URL+"/")
	alice.wait(`document.querySelector('#auth-form')`, 60*time.Second)
}

// noticeExpr is the text of the error notice on the current screen ("" when
// there is none), in parentheses so that a method called on it applies to
// the text.
const noticeExpr = `((document.querySelector('.notice-error') || {}).textContent || '')`

// TestPWAErrorsDeclineAndMissed checks the sentences people see when things go
// wrong, a declined call and a missed call, by clicks.
func TestPWAErrorsDeclineAndMissed(t *testing.T) {
	srv := startServerWith(t, serverOptions{RingTimeout: 4 * time.Second})
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	mallory := &pwaUser{t: t, ctx: newUser(t, b), name: "mallory", shotSize: "phone"}
	setViewport(t, mallory.ctx, 390, 844)
	alice.signUp(srv.URL)
	bob.signUp(srv.URL)

	// Taken username, bad username, wrong password.
	// A call link opens the app (not a 404) and says what to do.
	navigate(t, mallory.ctx, srv.URL+"/join/abc-defg-hij")
	mallory.wait(`document.querySelector('#auth-form') && document.body.innerText.includes('Joining a call by link')`, 60*time.Second)
	click(t, mallory.ctx, "#auth-switch")
	// The form changes shape: type only into the one a user sees.
	mallory.wait(`document.querySelector('#display-name')`, 5*time.Second)
	typeText(t, mallory.ctx, "#username", "alice")
	typeText(t, mallory.ctx, "#password", "another long password")
	click(t, mallory.ctx, "#auth-submit")
	mallory.wait(noticeExpr+`.includes('already taken')`, 10*time.Second)
	mallory.shot("10-username-taken")
	clearText(t, mallory.ctx, "#username")
	typeText(t, mallory.ctx, "#username", "Bad Name!")
	click(t, mallory.ctx, "#auth-submit")
	mallory.wait(noticeExpr+`.includes('3 to 32 characters')`, 5*time.Second)
	click(t, mallory.ctx, "#auth-switch")
	// Back to sign-in: the submit button moves up once the display name goes,
	// and a click aimed at its old place hits nothing.
	mallory.wait(`!document.querySelector('#display-name') && document.querySelector('#auth-submit').textContent === 'Sign in'`, 5*time.Second)
	clearText(t, mallory.ctx, "#username")
	typeText(t, mallory.ctx, "#username", "alice")
	click(t, mallory.ctx, "#auth-submit")
	mallory.wait(noticeExpr+`.includes("don't match")`, 10*time.Second)
	mallory.shot("11-bad-password")

	// Calling nobody.
	typeText(t, alice.ctx, "#dial-to", "nobody")
	click(t, alice.ctx, "#call-voice")
	alice.wait(noticeExpr+`.includes('no user with that name')`, 10*time.Second)
	alice.shot("12-unknown-user")

	// Bob declines a voice call.
	clearText(t, alice.ctx, "#dial-to")
	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-voice")
	bob.wait(`document.querySelector('#incoming-kind') && document.querySelector('#incoming-kind').textContent === 'Incoming voice call'`, 10*time.Second)
	click(t, bob.ctx, "#decline-call")
	alice.wait(`document.querySelector('#call-ended') && document.querySelector('#call-ended h1').textContent === 'Bob Marley declined the call'`, 10*time.Second)
	alice.shot("13-declined")
	bob.wait(`!document.querySelector('#incoming-card')`, 5*time.Second)
	bob.wait(`document.querySelector('#call-log .log-item[data-state="declined"]')`, 10*time.Second)

	// Nobody answers: alice is told, bob's log marks the missed call.
	alice.wait(`document.querySelector('#dial-to')`, 10*time.Second)
	click(t, alice.ctx, "#call-voice")
	bob.wait(`document.querySelector('#incoming-card')`, 10*time.Second)
	alice.wait(`document.querySelector('#call-ended') && document.querySelector('#call-ended h1').textContent === "Bob Marley didn't answer"`, 15*time.Second)
	alice.shot("14-no-answer")
	bob.wait(`!document.querySelector('#incoming-card')`, 5*time.Second)
	bob.wait(`document.querySelector('#call-log .log-item.log-missed')`, 10*time.Second)
	bob.wait(`((document.querySelector('.notice-info') || {}).textContent || '').includes('Missed voice call from Alice Liddell')`, 5*time.Second)
	bob.shot("15-missed")

	// A voice call: avatars, no camera, remote audio playing.
	click(t, alice.ctx, "#call-voice")
	bob.wait(`document.querySelector('#answer-call')`, 10*time.Second)
	click(t, bob.ctx, "#answer-call")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`document.querySelector('.incall.voice') && !document.querySelector('#toggle-cam') && !document.querySelector('#self-view')`, 20*time.Second)
		u.wait(`(() => { const a = document.querySelector('.tile audio'); return a && a.srcObject && !a.paused && a.srcObject.getAudioTracks().length === 1 })()`, 20*time.Second)
		u.shot("16-voice-call")
	}
	click(t, bob.ctx, "#end-call")
	alice.wait(`document.querySelector('#call-ended') || document.querySelector('#call-log')`, 10*time.Second)

	// Long after it, the wrong password has not turned into a lost session:
	// mallory is still on the call link's page, told what went wrong.
	mallory.wait(`document.body.innerText.includes('Joining a call by link') && `+noticeExpr+`.includes("don't match")`, 5*time.Second)
	mallory.shot("17-bad-password-later")
}
