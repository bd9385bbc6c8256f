package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// tileLogJS records, from now on, every change of the remote tiles of the
// call screen in window.tileLog: each entry lists "<user>:<status>" of every
// tile, "none" when there is none. A participant who left and came back
// would show as their tile gone (or "disconnected") between two entries.
const tileLogJS = `(() => {
  window.tileLog = [];
  const snap = () => {
    const t = [...document.querySelectorAll('.tile[data-user]')].map(e => e.dataset.user + ':' + e.dataset.status).join(',') || 'none';
    if (window.tileLog[window.tileLog.length - 1] !== t) window.tileLog.push(t);
  };
  snap();
  new MutationObserver(snap).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-status']});
  return true;
})()`

// remoteTrackIDExpr is the id of the track the first remote video shows.
const remoteTrackIDExpr = `(() => { const v = document.querySelector('.remote-video'); return v && v.srcObject ? v.srcObject.getVideoTracks()[0].id : '' })()`

// savedRoomExpr is the room of the call the PWA keeps in sessionStorage.
const savedRoomExpr = `(JSON.parse(sessionStorage.getItem('parley.tab') || '{}').roomId || '')`

// reload reloads the user's page, as the browser's reload button does.
func (u *pwaUser) reload() {
	u.t.Helper()
	run(u.t, u.ctx, "reload", chromedp.Reload())
}

// TestPWAReloadDuringCall: in a 1:1 video call alice mutes her microphone and
// reloads the page. She comes back to the call screen in the same call
// without doing anything, still muted; bob saw her tile go reconnecting and
// come back connected without ever leaving, and video flows again both ways.
// Hanging up afterwards forgets the saved session.
func TestPWAReloadDuringCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "desktop")
	startPWAVideoCall(t, srv.URL, alice, bob)

	click(t, alice.ctx, "#toggle-mic")
	alice.wait(`document.querySelector('#toggle-mic').getAttribute('aria-pressed') === 'true'`, 10*time.Second)
	bob.wait(`document.querySelector('[id^="remote-mic-muted-"]')`, 10*time.Second)
	room := eval[string](t, alice.ctx, savedRoomExpr)
	if room == "" {
		t.Fatal("alice's page keeps no call in sessionStorage")
	}
	eval[bool](t, bob.ctx, tileLogJS)
	oldTrack := eval[string](t, bob.ctx, remoteTrackIDExpr)

	alice.reload()
	alice.wait(`document.querySelector('.incall')`, 60*time.Second)
	alice.shot("r01-back-in-call")
	if got := eval[string](t, alice.ctx, savedRoomExpr); got != room {
		t.Fatalf("after the reload alice's page is in room %q, want %q", got, room)
	}
	// Her mute state came back with her, on her button and on bob's screen.
	alice.wait(`document.querySelector('#toggle-mic').getAttribute('aria-pressed') === 'true'`, 10*time.Second)
	alice.remoteVideoPlays()
	// A new track restarts the element's frame count: compare frames only
	// once it is attached.
	bob.wait(remoteTrackIDExpr+` !== `+strconv.Quote(oldTrack), 20*time.Second)
	bob.framesGrow(framesExpr, "alice's video after her reload")
	bob.wait(`document.querySelector('[id^="remote-mic-muted-"]') && !document.querySelector('#reconnecting')`, 10*time.Second)
	bob.shot("r02-other-side")

	var log []string
	if err := json.Unmarshal([]byte(eval[string](t, bob.ctx, `JSON.stringify(window.tileLog)`)), &log); err != nil {
		t.Fatal(err)
	}
	t.Logf("bob's tile of alice: %v", log)
	sawReconnecting, backAfter := false, false
	for _, entry := range log {
		if entry == "none" || strings.Contains(entry, ":disconnected") || strings.Contains(entry, ":ended") {
			t.Fatalf("bob saw alice leave during her reload: %v", log)
		}
		if strings.HasSuffix(entry, ":reconnecting") {
			sawReconnecting = true
		}
		if sawReconnecting && strings.HasSuffix(entry, ":connected") {
			backAfter = true
		}
	}
	if !sawReconnecting || !backAfter {
		t.Fatalf("bob's tile of alice went %v, want reconnecting then connected", log)
	}

	// Unmuting after the reload works, and hanging up forgets the session.
	click(t, alice.ctx, "#toggle-mic")
	bob.wait(`!document.querySelector('[id^="remote-mic-muted-"]')`, 10*time.Second)
	click(t, alice.ctx, "#end-call")
	bob.wait(`document.querySelector('#call-ended') || document.querySelector('#call-log')`, 15*time.Second)
	alice.wait(`sessionStorage.getItem('parley.tab') === null`, 10*time.Second)
	alice.reload()
	alice.wait(`document.querySelector('#my-jid')`, 60*time.Second)
	if eval[bool](t, alice.ctx, `!!document.querySelector('.incall')`) {
		t.Fatal("a reload after the call ended went back into a call")
	}
}

// videoGrows proves that u decodes more and more video from peer.
func (u *sdkUser) videoGrows(peer string) {
	u.t.Helper()
	waitJS(u.t, u.ctx, framesOf(peer)+" > 0", 30*time.Second)
	before := eval[int](u.t, u.ctx, framesOf(peer))
	time.Sleep(time.Second)
	if after := eval[int](u.t, u.ctx, framesOf(peer)); after <= before {
		u.t.Fatalf("%s: video from %s stalled at %d frames", u.jid, peer, after)
	}
}

// waitNewVideo waits until u got a video track of jid after its first mark
// listener calls: the element's frame count starts again with it.
func (u *sdkUser) waitNewVideo(mark int, jid string) {
	u.t.Helper()
	waitJS(u.t, u.ctx, `window.ev.slice(`+strconv.Itoa(mark)+`).some((e) => e.name === "userTrackListener" && e.args[0].userJid === `+
		strconv.Quote(jid)+` && e.args[0].trackType === "video" && e.args[0].track === "video")`, 30*time.Second)
}

// eventsSince lists the listener calls u recorded after the first n, as
// "<listener> <first argument as JSON>".
func (u *sdkUser) eventsSince(n int) []string {
	u.t.Helper()
	var out []string
	raw := eval[string](u.t, u.ctx, `JSON.stringify(window.ev.slice(`+strconv.Itoa(n)+`).map((e) => e.name + " " + JSON.stringify(e.args[0])))`)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		u.t.Fatal(err)
	}
	return out
}

// reloadSDK reloads u's page and does what a page does after loading:
// initializeSDK, then connect as name; connect must say it is back in room.
func (u *sdkUser) reloadSDK(name, room string) {
	u.t.Helper()
	run(u.t, u.ctx, "reload", chromedp.Reload())
	if env := u.call(sdkRigWith("{}")); env.StatusCode != 200 {
		u.t.Fatalf("initializeSDK after the reload: %+v", env)
	}
	env := u.ok(`Parley.connect(` + strconv.Quote(name) + `, "correct horse battery")`)
	var d struct {
		UserJID       string `json:"userJid"`
		ResumedRoomID string `json:"resumedRoomId"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil || d.UserJID != u.jid || d.ResumedRoomID != room {
		u.t.Fatalf("connect after the reload: %s (%v), want %s back in room %q", env.Data, err, u.jid, room)
	}
}

// sawRejoin checks u's listener calls after the first mark: jid went
// reconnecting, then connected, and got a new video track, and never left,
// joined or ended the call.
func (u *sdkUser) sawRejoin(mark int, jid string) {
	u.t.Helper()
	evs := u.eventsSince(mark)
	who := `"userJid":` + strconv.Quote(jid)
	reconnecting, connected, newTrack := -1, -1, -1
	for i, e := range evs {
		status := strings.HasPrefix(e, "callStatusListener ") && strings.Contains(e, who)
		switch {
		case status && (strings.Contains(e, `"status":"disconnected"`) || strings.Contains(e, `"status":"ended"`)):
			u.t.Fatalf("%s saw %s leave or the call end: %v", u.jid, jid, evs)
		case (strings.HasPrefix(e, "callUserLeftListener") || strings.HasPrefix(e, "callUserJoinedListener")) && strings.Contains(e, who):
			u.t.Fatalf("%s saw %s leave or join: %v", u.jid, jid, evs)
		case status && strings.Contains(e, `"status":"reconnecting"`) && reconnecting < 0:
			reconnecting = i
		case status && strings.Contains(e, `"status":"connected"`) && reconnecting >= 0 && connected < 0:
			connected = i
		case strings.HasPrefix(e, "userTrackListener ") && strings.Contains(e, who) &&
			strings.Contains(e, `"trackType":"video"`) && strings.Contains(e, `"track":"video"`):
			newTrack = i
		}
	}
	if reconnecting < 0 || connected < 0 || newTrack < 0 {
		u.t.Fatalf("%s's listeners after %s's reload (reconnecting %d, connected %d, new track %d): %v", u.jid, jid, reconnecting, connected, newTrack, evs)
	}
}

// TestSDKReloadDuringCall: a page using the SDK reloads during a 1:1 video
// call, then does what it does after every load (initializeSDK, connect). It
// is back in the same call: connect says so, callResumedListener reports the
// call with the mute state kept, video flows again both ways, and the other
// side saw reconnecting then connected and a new track, never a leave.
func TestSDKReloadDuringCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	videoCall(alice, bob)
	alice.ok(`Parley.muteAudio(true)`)
	bob.waitEvent("muteStatusListener", `a.userJid === "alice@localhost" && a.trackType === "audio" && a.isMuted`)
	room := eval[string](t, alice.ctx, `(JSON.parse(sessionStorage.getItem('parley.sdk.session') || '{}').roomId || '')`)
	if room == "" {
		t.Fatal("the SDK keeps no session in sessionStorage during the call")
	}
	mark := eval[int](t, bob.ctx, `window.ev.length`)

	alice.reloadSDK("alice", room)
	res := alice.waitEvent("callResumedListener", `a.roomId === `+strconv.Quote(room))
	if res["callType"] != "video" || res["audioMuted"] != true || res["videoMuted"] != false {
		t.Fatalf("callResumedListener %v", res)
	}
	alice.videoGrows("bob@localhost")
	bob.waitNewVideo(mark, "alice@localhost")
	bob.videoGrows("alice@localhost")
	if env := alice.ok(`Parley.isUserAudioMuted()`); string(env.Data) != "true" {
		t.Fatalf("isUserAudioMuted() after the reload: %s", env.Data)
	}
	if env := bob.ok(`Parley.isUserAudioMuted("alice@localhost")`); string(env.Data) != "true" {
		t.Fatalf("bob's isUserAudioMuted(alice) after her reload: %s", env.Data)
	}

	bob.sawRejoin(mark, "alice@localhost")

	// endCall on the reloaded page leaves the call, for both, and the SDK
	// forgets the session.
	alice.ok(`Parley.endCall()`)
	bob.waitEvent("callStatusListener", `a.status === "ended" && a.sessionStatus === "closed"`)
	waitJS(t, alice.ctx, `sessionStorage.getItem('parley.sdk.session') === null`, 10*time.Second)
}

// stampFirstFrameJS runs in every new document of the page: it stamps when
// the call screen shows (window.inCallAt) and when the first remote video
// decodes a frame (window.firstFrameAt), in epoch ms.
const stampFirstFrameJS = `(() => {
  const tick = () => {
    if (!window.inCallAt && document.querySelector('.incall')) window.inCallAt = Date.now();
    const v = document.querySelector('.remote-video');
    if (v && v.srcObject && v.getVideoPlaybackQuality().totalVideoFrames > 0) { window.firstFrameAt = Date.now(); return; }
    setTimeout(tick, 5);
  };
  tick();
})()`

// armNewTrackJS makes the other side stamp (window.newFrameAt) when its remote
// video, once showing a track other than the current one, decodes a frame.
const armNewTrackJS = `(() => {
  const track = () => { const v = document.querySelector('.remote-video'); return v && v.srcObject && v.srcObject.getVideoTracks()[0]; };
  const old = track().id;
  window.newFrameAt = 0;
  let el = null, base = 0;
  const tick = () => {
    const v = document.querySelector('.remote-video'), t = track();
    if (!el && t && t.id !== old) { el = v; base = v.getVideoPlaybackQuality().totalVideoFrames; }
    if (el && el.getVideoPlaybackQuality().totalVideoFrames > base) { window.newFrameAt = Date.now(); return; }
    setTimeout(tick, 5);
  };
  tick();
  return true;
})()`

// TestBenchReloadToFirstFrame reloads one side of a 1:1 PWA video call six
// times and measures, from the reload, when the reloaded page shows the call
// again and decodes the first remote frame, and when the other side decodes
// the first frame of the reloaded page's new track. Run with PARLEY_BENCH=1;
// the numbers go in the README.
func TestBenchReloadToFirstFrame(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "desktop")
	startPWAVideoCall(t, srv.URL, alice, bob)
	addInitScript(t, alice.ctx, stampFirstFrameJS)
	const runs = 6
	var inCall, self, other []time.Duration
	for i := 0; i < runs; i++ {
		eval[bool](t, bob.ctx, armNewTrackJS)
		start := time.Now()
		alice.reload()
		alice.wait(`window.firstFrameAt > 0 && window.inCallAt > 0`, 30*time.Second)
		bob.wait(`window.newFrameAt > 0`, 30*time.Second)
		since := func(ms int64) time.Duration { return time.UnixMilli(ms).Sub(start).Round(time.Millisecond) }
		inCall = append(inCall, since(eval[int64](t, alice.ctx, `window.inCallAt`)))
		self = append(self, since(eval[int64](t, alice.ctx, `window.firstFrameAt`)))
		other = append(other, since(eval[int64](t, bob.ctx, `window.newFrameAt`)))
		t.Logf("reload %d: call screen %v, first remote frame %v on the reloaded page, %v on the other side", i, inCall[i], self[i], other[i])
		bob.framesGrow(framesExpr, "video after the reload") // settled before the next one
	}
	t.Logf("reload -> over %d reloads: call screen median %v (%v-%v); first remote frame on the reloaded page median %v (%v-%v); on the other side median %v (%v-%v)",
		runs, median(inCall), slicesMin(inCall), slicesMax(inCall), median(self), slicesMin(self), slicesMax(self),
		median(other), slicesMin(other), slicesMax(other))
}

// TestSDKReloadInGroupCall: in a 3-party video call through the SDK, bob (the
// answerer of alice's pair and the offerer of carol's) reloads and comes back:
// video flows again on every pair, and neither other saw him leave.
func TestSDKReloadInGroupCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	users := map[string]*sdkUser{}
	for _, name := range []string{"alice", "bob", "carol"} {
		users[name] = newSDKUser(t, b, srv.URL)
		users[name].register(name)
	}
	alice, bob, carol := users["alice"], users["bob"], users["carol"]
	created := alice.ok(`Parley.makeVideoCall(["bob", "carol"])`)
	var ref struct{ RoomID string }
	_ = json.Unmarshal(created.Data, &ref)
	for _, u := range []*sdkUser{bob, carol} {
		u.waitEvent("incomingCallListener", `true`)
		u.ok(`Parley.answerCall()`)
	}
	all := []*sdkUser{alice, bob, carol}
	for _, u := range all {
		for _, o := range all {
			if u != o {
				u.videoGrows(o.jid)
			}
		}
	}
	marks := map[*sdkUser]int{}
	for _, u := range []*sdkUser{alice, carol} {
		marks[u] = eval[int](t, u.ctx, `window.ev.length`)
	}

	bob.reloadSDK("bob", ref.RoomID)
	bob.waitEvent("callResumedListener", `a.roomId === `+strconv.Quote(ref.RoomID)+` && a.usersStatus.length === 3`)
	for _, u := range []*sdkUser{alice, carol} {
		u.waitNewVideo(marks[u], "bob@localhost")
	}
	for _, u := range all {
		for _, o := range all {
			if u != o {
				u.videoGrows(o.jid)
			}
		}
	}
	for _, u := range []*sdkUser{alice, carol} {
		u.waitEvent("callStatusListener", `a.userJid === "bob@localhost" && a.status === "connected"`)
		u.sawRejoin(marks[u], "bob@localhost")
	}
}

// remoteTrackIDsExpr lists the track of every remote video, as one string.
const remoteTrackIDsExpr = `[...document.querySelectorAll('.remote-video')].map(v => v.srcObject ? v.srcObject.getVideoTracks()[0].id : '').sort().join(',')`

// guestTileExpr names the guest's tiles on the call screen.
const guestTileExpr = `[...document.querySelectorAll('.tile[data-user^="guest-"]')].map(e => e.dataset.user).join(',')`

// TestPWAGuestReloadDuringCall: a guest let into a call by its link reloads
// the page: they come back into the same call as the same guest (not to the
// join page, not as a new guest), and the others saw their tile go
// reconnecting and come back, never leave.
func TestPWAGuestReloadDuringCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "desktop")
	guest := newPWAUser(t, b, "guest", "Carol Guest", "desktop")
	startPWAVideoCall(t, srv.URL, alice, bob)
	click(t, alice.ctx, "#copy-call-link")
	alice.wait(`document.querySelector('#call-link-text') && document.querySelector('#call-link-text').textContent.includes('/join/')`, 10*time.Second)
	link := eval[string](t, alice.ctx, `document.querySelector('#call-link-text').textContent`)
	navigate(t, guest.ctx, link)
	guest.wait(`document.querySelector('#guest-name')`, 60*time.Second)
	typeText(t, guest.ctx, "#guest-name", guest.display)
	click(t, guest.ctx, "#guest-continue")
	guest.wait(`document.querySelector('#join-now')`, 20*time.Second)
	click(t, guest.ctx, "#join-now")
	alice.wait(`document.querySelector('.knock-card button[id^="knock-admit-"]')`, 20*time.Second)
	click(t, alice.ctx, `.knock-card button[id^="knock-admit-"]`)
	guest.wait(`document.querySelector('.incall')`, 20*time.Second)
	guest.remoteVideosPlay(2)
	alice.remoteVideosPlay(2)
	guestTile := eval[string](t, alice.ctx, guestTileExpr)
	room := eval[string](t, guest.ctx, savedRoomExpr)
	if room == "" {
		t.Fatal("the guest's page keeps no call in sessionStorage")
	}
	eval[bool](t, alice.ctx, tileLogJS)
	before := eval[string](t, alice.ctx, remoteTrackIDsExpr)

	guest.reload()
	guest.wait(`document.querySelector('.incall')`, 60*time.Second)
	guest.shot("r03-guest-back")
	if got := eval[string](t, guest.ctx, savedRoomExpr); got != room {
		t.Fatalf("after the reload the guest is in room %q, want %q", got, room)
	}
	if eval[string](t, guest.ctx, `localStorage.getItem('parley.token') || ''`) != "" {
		t.Fatal("the guest's token was saved for the account")
	}
	guest.remoteVideosPlay(2)
	alice.wait(remoteTrackIDsExpr+` !== `+strconv.Quote(before), 20*time.Second)
	alice.remoteVideosPlay(2)
	if got := eval[string](t, alice.ctx, guestTileExpr); guestTile == "" || got != guestTile {
		t.Fatalf("alice's guest tile was %q, is %q: not the same guest", guestTile, got)
	}

	var log []string
	if err := json.Unmarshal([]byte(eval[string](t, alice.ctx, `JSON.stringify(window.tileLog)`)), &log); err != nil {
		t.Fatal(err)
	}
	t.Logf("alice's tiles: %v", log)
	sawReconnecting := false
	for _, entry := range log {
		if strings.Count(entry, ":") != 2 || strings.Contains(entry, ":disconnected") || !strings.Contains(entry, "guest-") {
			t.Fatalf("alice saw someone leave during the guest's reload: %v", log)
		}
		sawReconnecting = sawReconnecting || strings.Contains(entry, ":reconnecting")
	}
	if !sawReconnecting || strings.Contains(log[len(log)-1], "reconnecting") {
		t.Fatalf("alice's tiles went %v, want the guest reconnecting, then connected", log)
	}
}
