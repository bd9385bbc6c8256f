package e2e

import (
	"testing"
	"time"
)

// screenFramesExpr is the number of frames the shared screen's tile decoded.
const screenFramesExpr = `(() => { const v = document.querySelector('#screen-view'); return v && v.srcObject ? v.getVideoPlaybackQuality().totalVideoFrames : -1 })()`

// TestPWAScreenShare shares a screen in the PWA by clicks and keys: the
// sharer gets the presenting bar and a placeholder (not their own screen),
// the other side the screen as the large tile, decoding, with the sharer's
// camera small beside it and still decoding; the other person's share (the
// S key) replaces it; Stop in the bar ends it. Screenshots of both sides,
// and axe-core on both screens.
func TestPWAScreenShare(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	startPWAVideoCall(t, srv.URL, alice, bob)

	click(t, alice.ctx, "#toggle-screen")
	alice.wait(`document.querySelector('#presenting-bar') && document.querySelector('.screen-self')`, 20*time.Second)
	if got := eval[string](t, alice.ctx, textOf("#presenting-bar")); got != "You are presentingStop" {
		t.Errorf("alice's presenting bar says %q", got)
	}
	if eval[bool](t, alice.ctx, `!!document.querySelector('#screen-view')`) {
		t.Error("alice sees her own screen inside the share")
	}
	alice.wait(`document.querySelector('#toggle-screen').getAttribute('aria-pressed') === 'true'`, 5*time.Second)
	bob.wait(`document.querySelector('.stage-share #screen-view')`, 20*time.Second)
	bob.framesGrow(screenFramesExpr, "alice's shared screen")
	bob.framesGrow(`(() => { const v = document.querySelector('.share-strip .remote-video'); return v && v.srcObject ? v.getVideoPlaybackQuality().totalVideoFrames : -1 })()`, "alice's camera beside the share")
	alice.shot("40-presenting")
	bob.shot("40-screen-shared")
	alice.a11y("presenting")
	bob.a11y("watching a shared screen")

	// Bob shares with the S key: his share replaces alice's.
	bob.press("s")
	bob.wait(`document.querySelector('#presenting-bar')`, 20*time.Second)
	alice.wait(`!document.querySelector('#presenting-bar') && document.querySelector('#screen-view')`, 20*time.Second)
	alice.framesGrow(screenFramesExpr, "bob's shared screen")
	alice.waitNote("your screen share stopped")
	alice.shot("41-replaced")

	// Stop in the bar: everyone is back to the cameras.
	click(t, bob.ctx, "#stop-share")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`!document.querySelector('.stage-share') && !document.querySelector('#presenting-bar')`, 20*time.Second)
	}
	alice.remoteVideoPlays()
	bob.shot("42-share-stopped")
}
