package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// remoteFramesExpr lists the frames decoded by every remote video element (-1
// for one without a stream).
const remoteFramesExpr = `[...document.querySelectorAll('.remote-video')].map(v => v.srcObject ? v.getVideoPlaybackQuality().totalVideoFrames : -1)`

// remoteVideosPlay waits until n remote videos decode frames, and keep decoding.
func (u *pwaUser) remoteVideosPlay(n int) {
	u.t.Helper()
	u.wait(`(() => { const f = `+remoteFramesExpr+`; return f.length === `+strconv.Itoa(n)+` && f.every(x => x > 0) })()`, 40*time.Second)
	before := eval[[]int](u.t, u.ctx, remoteFramesExpr)
	time.Sleep(1500 * time.Millisecond)
	after := eval[[]int](u.t, u.ctx, remoteFramesExpr)
	if len(after) != n {
		u.t.Fatalf("%s: %d remote videos, want %d", u.name, len(after), n)
	}
	for i := range after {
		if after[i] <= before[i] {
			u.t.Fatalf("%s: remote video %d stalled at %d frames", u.name, i, after[i])
		}
	}
	u.t.Logf("%s: remote videos decoded %v frames, then %v", u.name, before, after)
}

// joinErrorExpr is the sentence of the join page's error.
const joinErrorExpr = `((document.querySelector('#join-error') || {}).textContent || '')`

// TestPWAJoinByLink: alice and bob are in a video call; alice copies its link;
// a visitor without an account opens it, gives a name, sees who is in the
// call, joins and sees both; alice sees the guest. Also: an invalid link, a
// link nobody has joined yet, and an ended call's link.
func TestPWAJoinByLink(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	guest := newPWAUser(t, b, "guest", "Carol Guest", "phone")

	// An invalid link says so at once, without asking for a name.
	navigate(t, guest.ctx, srv.URL+"/join/not-a-call")
	guest.wait(`document.querySelector('#join-failed') && `+joinErrorExpr+`.includes("isn't valid")`, 60*time.Second)
	if h := eval[string](t, guest.ctx, `document.querySelector('#join-title').textContent`); h != "This link doesn't work" {
		t.Errorf("invalid link heading %q", h)
	}
	guest.shot("j01-invalid-link")

	alice.signUp(srv.URL)
	bob.signUp(srv.URL)

	// Alice and bob are in a video call.
	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-video")
	bob.wait(`document.querySelector('#answer-call')`, 15*time.Second)
	click(t, bob.ctx, "#answer-call")
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	bob.wait(`document.querySelector('.incall')`, 20*time.Second)
	alice.remoteVideoPlays()

	// Alice copies the call link: the page shows it too.
	click(t, alice.ctx, "#copy-call-link")
	alice.wait(`document.querySelector('#call-link-text') && document.querySelector('#call-link-text').textContent.includes('/join/')`, 10*time.Second)
	link := eval[string](t, alice.ctx, `document.querySelector('#call-link-text').textContent`)
	code := link[strings.Index(link, "/join/")+len("/join/"):]
	if !strings.HasPrefix(link, srv.URL+"/join/") || len(code) != 12 {
		t.Fatalf("call link %q", link)
	}
	alice.shot("j02-call-link")

	// The visitor opens the link, gives a name and previews the call.
	navigate(t, guest.ctx, link)
	guest.wait(`document.querySelector('#guest-name')`, 60*time.Second)
	guest.shot("j03-your-name")
	setViewport(t, guest.ctx, 1280, 800)
	screenshot(t, guest.ctx, "j03-your-name-guest-desktop")
	setViewport(t, guest.ctx, 390, 844)
	click(t, guest.ctx, "#guest-continue")
	guest.wait(`((document.querySelector('#guest-name-error') || {}).textContent || '').includes('Enter your name')`, 5*time.Second)
	typeText(t, guest.ctx, "#guest-name", guest.display)
	click(t, guest.ctx, "#guest-continue")
	guest.wait(`document.querySelectorAll('#call-users .call-user').length === 2`, 20*time.Second)
	names := eval[string](t, guest.ctx, `[...document.querySelectorAll('#call-users .call-user-name')].map(e => e.textContent).sort().join(', ')`)
	if names != "Alice Liddell, Bob Marley" {
		t.Errorf("preview lists %q, want Alice Liddell, Bob Marley", names)
	}
	// The self-preview shows the camera.
	guest.wait(`(() => { const v = document.querySelector('#preview-video'); return v && v.srcObject && v.srcObject.getVideoTracks().length === 1 })()`, 10*time.Second)
	guest.wait(`document.querySelector('#preview-video').getVideoPlaybackQuality().totalVideoFrames > 0`, 10*time.Second)
	guest.shot("j04-preview")
	setViewport(t, guest.ctx, 1280, 800)
	screenshot(t, guest.ctx, "j04-preview-guest-desktop")
	setViewport(t, guest.ctx, 390, 844)

	// Join now knocks: the guest waits until someone in the call lets them in.
	click(t, guest.ctx, "#join-now")
	guest.wait(textOf("#join-waiting")+`.includes('Waiting for someone to let you in')`, 20*time.Second)
	guest.shot("j05-waiting")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(textOf(".knock-text")+` === 'Carol Guest (guest) wants to join'`, 20*time.Second)
	}
	alice.shot("j05-knock-card")
	click(t, alice.ctx, `.knock-card button[id^="knock-admit-"]`)
	bob.wait(`!document.querySelector('.knock-card')`, 10*time.Second)
	guest.wait(`document.querySelector('.incall')`, 20*time.Second)
	guest.remoteVideosPlay(2)
	guest.shot("j05-incall")

	// Alice and bob see the guest's tile, with the guest's name marked as a guest's.
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`[...document.querySelectorAll('.tile-name')].some(e => e.textContent === 'Carol Guest (guest)')`, 20*time.Second)
		u.remoteVideosPlay(2)
		u.shot("j06-incall-with-guest")
	}

	// Everyone hangs up.
	for _, u := range []*pwaUser{alice, bob, guest} {
		// The last one may find the call already over, even between looking
		// for the button and clicking it: click it only if it is there.
		eval[bool](t, u.ctx, `(() => { const b = document.querySelector('#end-call'); if (b) b.click(); return true; })()`)
		u.wait(`document.querySelector('#call-ended') || document.querySelector('#call-log')`, 15*time.Second)
	}
	guest.wait(`document.querySelector('#rejoin-call')`, 5*time.Second)
	guest.shot("j07-guest-ended")

	// The link of the ended call says so, to a guest rejoining and to alice.
	click(t, guest.ctx, "#rejoin-call")
	guest.wait(`document.querySelector('#join-title') && document.querySelector('#join-title').textContent === 'This call has ended'`, 20*time.Second)
	guest.shot("j08-call-ended")
	alice.wait(`document.querySelector('#my-jid')`, 15*time.Second)
	navigate(t, alice.ctx, link)
	alice.wait(`document.querySelector('#join-title') && document.querySelector('#join-title').textContent === 'This call has ended' && document.querySelector('#join-home')`, 60*time.Second)
	alice.shot("j08-call-ended")
	click(t, alice.ctx, "#join-home")
	alice.wait(`document.querySelector('#my-jid') && location.pathname === '/'`, 15*time.Second)

	// Home: a new call link, copied and joined; nobody is in it yet. Back
	// leaves the preview and releases the camera.
	click(t, alice.ctx, "#new-link")
	alice.wait(`document.querySelector('#meet-link') && document.querySelector('#meet-link').value.includes('/join/')`, 15*time.Second)
	alice.shot("j09-new-link")
	click(t, alice.ctx, "#join-meet-link")
	alice.wait(`document.querySelector('#join-now') && document.body.innerText.includes('Nobody else is in the call yet')`, 20*time.Second)
	alice.wait(`(() => { const v = document.querySelector('#preview-video'); return v && v.srcObject && v.srcObject.getVideoTracks()[0].readyState === 'live' })()`, 10*time.Second)
	eval[bool](t, alice.ctx, `(window.__previewTrack = document.querySelector('#preview-video').srcObject.getVideoTracks()[0], true)`)
	alice.shot("j10-empty-preview")
	click(t, alice.ctx, "#join-back")
	alice.wait(`document.querySelector('#my-jid') && location.pathname === '/'`, 15*time.Second)
	alice.wait(`window.__previewTrack.readyState === 'ended'`, 10*time.Second)
}

// TestPWAOpenMeetLink: "Let people in without asking" makes an open call
// link: a guest who opens it goes straight into the call, never waiting,
// and nobody in the call is asked.
func TestPWAOpenMeetLink(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	guest := newPWAUser(t, b, "guest", "Carol Guest", "phone")
	alice.signUp(srv.URL)

	click(t, alice.ctx, "#meet-open")
	alice.wait(`document.querySelector('#meet-open').checked && `+textOf("#meet-open-hint")+`.includes('joins at once')`, 10*time.Second)
	alice.shot("o01-open-link-ticked")
	click(t, alice.ctx, "#new-link")
	alice.wait(`document.querySelector('#meet-link') && document.querySelector('#meet-link').value.includes('/join/')`, 15*time.Second)
	link := eval[string](t, alice.ctx, `document.querySelector('#meet-link').value`)
	click(t, alice.ctx, "#join-meet-link")
	alice.wait(`document.querySelector('#join-now')`, 20*time.Second)
	click(t, alice.ctx, "#join-now")
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	// Record any knock card alice is ever shown from here on.
	eval[bool](t, alice.ctx, `(window.__knocked = false, new MutationObserver(() => { if (document.querySelector('.knock-card')) window.__knocked = true }).observe(document.body, {childList: true, subtree: true}), true)`)

	navigate(t, guest.ctx, link)
	guest.wait(`document.querySelector('#guest-name')`, 60*time.Second)
	typeText(t, guest.ctx, "#guest-name", guest.display)
	click(t, guest.ctx, "#guest-continue")
	guest.wait(`document.querySelector('#join-now') && !document.querySelector('#join-now').disabled`, 20*time.Second)
	eval[bool](t, guest.ctx, `(window.__waited = false, new MutationObserver(() => { if (document.querySelector('#join-waiting')) window.__waited = true }).observe(document.body, {childList: true, subtree: true}), true)`)
	click(t, guest.ctx, "#join-now")
	guest.wait(`document.querySelector('.incall')`, 20*time.Second)
	alice.wait(`document.body.innerText.includes('Carol Guest (guest)')`, 20*time.Second)
	if eval[bool](t, guest.ctx, `window.__waited`) {
		t.Error("the guest waited to be let in through an open link")
	}
	if eval[bool](t, alice.ctx, `window.__knocked`) {
		t.Error("alice was asked to admit someone on an open link")
	}
	guest.shot("o02-joined-open-link")
}
