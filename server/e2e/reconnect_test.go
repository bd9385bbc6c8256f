package e2e

import (
	"strconv"
	"testing"
	"time"
)

// serverNoticeExpr is true when the call screen shows the quiet notice of
// signalling reconnecting in a status region, and no banner besides (the
// shell's is covered, the media one is not news then).
const serverNoticeExpr = `(() => {
	const n = document.querySelector('#server-reconnecting');
	const banners = [...document.querySelectorAll('.banner')].filter(b => b.checkVisibility());
	return !!document.querySelector('.incall') && !!n && n.checkVisibility() &&
		n.closest('[role="status"]') && n.textContent === 'Reconnecting to the server…' && banners.length === 0;
})()`

// framesKeepGrowing waits until the first remote video has decoded more
// frames than it had when called.
func (u *pwaUser) framesKeepGrowing(what string) {
	u.t.Helper()
	before := eval[int](u.t, u.ctx, framesExpr)
	u.wait(framesExpr+` > `+strconv.Itoa(before+10), 30*time.Second)
	u.t.Logf("%s: the remote video keeps decoding %s (past %d frames)", u.name, what, before+10)
}

// TestCallSurvivesServerRestart kills the server (SIGKILL) during a video
// call: both call screens stay, with the quiet "Reconnecting to the server…"
// notice, while the peer-to-peer video keeps playing. The server then starts
// again on the same address and data directory; the notice goes away.
func TestCallSurvivesServerRestart(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	startPWAVideoCall(t, srv.URL, alice, bob)

	// The remote video element is marked: the notice must not make the page
	// rebuild it (a blink, and its decoder starting over).
	for _, u := range []*pwaUser{alice, bob} {
		eval[bool](t, u.ctx, `document.querySelector('.remote-video').dataset.mark = 'before'; true`)
	}
	srv.stop(t)
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(serverNoticeExpr, 20*time.Second)
		u.shot("r1-server-away")
		if !eval[bool](t, u.ctx, `document.querySelector('.remote-video').dataset.mark === 'before'`) {
			t.Errorf("%s: the remote video element was rebuilt when the notice appeared", u.name)
		}
		u.framesKeepGrowing("with the server gone")
		if !eval[bool](t, u.ctx, serverNoticeExpr) {
			t.Fatalf("%s: the call screen or its notice went away while the server was down", u.name)
		}
	}

	srv.start(t)
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`!document.querySelector('#server-reconnecting') && !document.querySelector('#shell-connection .banner')`, 30*time.Second)
		u.shot("r2-server-back")
	}
	for _, u := range []*pwaUser{alice, bob} {
		if !eval[bool](t, u.ctx, `!!document.querySelector('.incall')`) {
			t.Fatalf("%s left the call screen over a server restart", u.name)
		}
		u.framesKeepGrowing("after the restart")
	}
	click(t, alice.ctx, "#toggle-mic")
	bob.wait(`document.querySelector('[id^="remote-mic-muted-"]')`, 10*time.Second)
	click(t, bob.ctx, "#end-call")
	alice.wait(`document.querySelector('#call-ended')`, 10*time.Second)
}

// TestSignallingLinkGoesSilent: the page's signalling connection stops
// carrying anything in either direction without closing (a NAT that forgot
// it, a Wi-Fi gone dead). The engine's keepalive ping gets no answer, so the
// page drops that connection, says it is reconnecting, connects again and
// resumes its session, and a call then rings it. It takes the engine's ping
// interval and request timeout, 30 s.
func TestSignallingLinkGoesSilent(t *testing.T) {
	srv := startServer(t)
	px := newFront(t, srv)
	b := newBrowser(t)
	alice, bob := newSDKUser(t, b, px.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	alice.waitEvent("connectionListener", `a.status === "CONNECTED"`)

	px.silence() // what is open now carries nothing from here on; new connections do
	back := `(() => {
  const ev = window.ev.filter((e) => e.name === "connectionListener").map((e) => e.args[0].status);
  const i = ev.indexOf("RECONNECTING");
  return i >= 0 && ev.indexOf("CONNECTED", i) > i;
})()`
	waitJS(t, alice.ctx, back, 90*time.Second) // a guard against a hang: about 30 s
	if n := px.carried.Load(); n < 2 {
		t.Fatalf("the page reconnected over %d connections", n)
	}
	bob.ok(`Parley.makeVoiceCall(["alice@localhost"])`)
	alice.waitEvent("incomingCallListener", `a.userJid === "bob@localhost"`)
}
