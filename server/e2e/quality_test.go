package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/app/call/event"
	"parley/server/turn/turntest"
)

// recordQuality makes the SDK rig record callQualityListener in window.ev
// (the SDK looks listeners up at each event, so adding one after
// initializeSDK works).
func (u *sdkUser) recordQuality() {
	u.t.Helper()
	eval[bool](u.t, u.ctx, `(window.parleyListeners.callQualityListener = (q) => window.ev.push({name: "callQualityListener", at: Date.now(), args: [JSON.parse(JSON.stringify(q))]}), true)`)
}

// senderParams lists, for each open peer connection of the page, one
// encoding parameter of the kind's sender ("-" when it is not set).
func senderParams(kind, param string) string {
	return `(() => window.pcs.filter((pc) => pc.connectionState !== "closed").map((pc) => {
  const tr = pc.getTransceivers().find((t) => t.receiver.track.kind === ` + strconv.Quote(kind) + `);
  const e = tr && tr.sender.getParameters().encodings;
  return e && e[0] && e[0].` + param + ` !== undefined ? String(e[0].` + param + `) : "-";
}).join(","))()`
}

// sentVideoWidth is the frame width of the video the page sends on its
// open peer connection(s), the widest.
const sentVideoWidth = `(async () => { let w = 0; for (const pc of window.pcs) { if (pc.connectionState === "closed") continue; (await pc.getStats()).forEach((s) => { if (s.type === "outbound-rtp" && s.kind === "video" && s.frameWidth > w) w = s.frameWidth; }); } return w; })()`

// qualityReport is a callQualityListener payload, with the time (Unix ms)
// the page heard it.
type qualityReport struct {
	event.CallQuality
	At int64 `json:"at"`
}

// qualityReports are every callQualityListener call u's page had about jid,
// in order, with the time (Unix ms) of each.
func (u *sdkUser) qualityReports(jid string) []qualityReport {
	u.t.Helper()
	s := eval[string](u.t, u.ctx, `JSON.stringify(window.ev.filter((e) => e.name === "callQualityListener" && e.args[0].userJid === `+strconv.Quote(jid)+`).map((e) => ({...e.args[0], at: e.at})))`)
	var out []qualityReport
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		u.t.Fatalf("quality reports %s: %v", s, err)
	}
	return out
}

// waitQuality waits up to timeout for a callQualityListener call about jid,
// after the mark-th listener call, matching pred (JS over a), and returns it.
func (u *sdkUser) waitQuality(mark int, jid, pred string, timeout time.Duration) qualityReport {
	u.t.Helper()
	find := `window.ev.slice(` + strconv.Itoa(mark) + `).find((e) => e.name === "callQualityListener" && ((a) => a.userJid === ` +
		strconv.Quote(jid) + ` && (` + pred + `))(e.args[0]))`
	waitJS(u.t, u.ctx, find, timeout)
	var q qualityReport
	if err := json.Unmarshal([]byte(eval[string](u.t, u.ctx, `JSON.stringify(((e) => ({...e.args[0], at: e.at}))(`+find+`))`)), &q); err != nil {
		u.t.Fatal(err)
	}
	return q
}

// TestCallQuality: in a video call on loopback, callQualityListener tells
// each side the line to the other is good, with plausible numbers (a round
// trip under 1 s, no loss, the other's camera at its size and a frame
// rate); audio is sent with high priority, video is not limited, and a
// steady line is reported at most every 10 s.
func TestCallQuality(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	alice.recordQuality()
	bob.recordQuality()
	videoCall(alice, bob)

	for _, c := range []struct{ u, peer *sdkUser }{{alice, bob}, {bob, alice}} {
		q := c.u.waitQuality(0, c.peer.jid, `a.fps > 0 && a.width > 0`, 40*time.Second)
		t.Logf("%s sees the line to %s: %+v", c.u.jid, c.peer.jid, q)
		if q.Quality != "good" || q.RTT < 0 || q.RTT >= 1000 || q.Loss > 0.02 || q.Jitter < 0 || q.FPS <= 0 {
			t.Errorf("%s about %s on loopback: %+v, want good, 0 <= rtt < 1000, loss ~0, fps > 0", c.u.jid, c.peer.jid, q)
		}
		// The size received is the size the other side sends (the fake
		// camera's, unless the sender's browser scaled it down itself).
		w := eval[int](t, c.peer.ctx, sentVideoWidth)
		if q.Width <= 0 || q.Height <= 0 || q.Width > 640 || q.Width*3 != q.Height*4 {
			t.Errorf("%s receives %dx%d from %s, who sends %d wide from a 640x480 camera", c.u.jid, q.Width, q.Height, c.peer.jid, w)
		}
		if q.SentScale != 1 {
			t.Errorf("%s scales its video down on a good line: %+v", c.u.jid, q)
		}
		c.u.wait(senderParams("audio", "priority")+` === "high"`, 10*time.Second)
		c.u.wait(senderParams("audio", "networkPriority")+` === "high"`, 10*time.Second)
		if s := eval[string](t, c.u.ctx, senderParams("video", "scaleResolutionDownBy")); s != "-" && s != "1" {
			t.Errorf("%s's video is scaled down by %s on a good line", c.u.jid, s)
		}
	}

	// A steady good line: no report sooner than 10 s after the previous one
	// of the same level (a little less for timer jitter).
	time.Sleep(12 * time.Second)
	for _, c := range []struct{ u, peer *sdkUser }{{alice, bob}, {bob, alice}} {
		rs := c.u.qualityReports(c.peer.jid)
		if len(rs) < 2 {
			t.Fatalf("%s had %d reports about %s in a call of more than 12 s", c.u.jid, len(rs), c.peer.jid)
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].Quality == rs[i-1].Quality && rs[i].At-rs[i-1].At < 9500 {
				t.Errorf("%s: reports %d and %d about %s (both %s) only %d ms apart", c.u.jid, i-1, i, c.peer.jid, rs[i].Quality, rs[i].At-rs[i-1].At)
			}
		}
	}
	alice.ok(`Parley.endCall()`)
	bob.waitEvent("callStatusListener", `a.status === "ended"`)
}

// wait waits for a JS condition on u's page.
func (u *sdkUser) wait(expr string, timeout time.Duration) {
	u.t.Helper()
	waitJS(u.t, u.ctx, expr, timeout)
}

// TestCallQualityPoorLine puts a proxy that loses packets between both
// browsers and the only path their media may take (a TURN relay, relay
// policy): with a fifth of the datagrams dropped at each crossing, the line
// is reported poor and the video sent on it is scaled down by the sender's
// encoding parameters while audio keeps flowing; without the loss it is
// reported good again and the video comes back to full size step by step.
func TestCallQualityPoorLine(t *testing.T) {
	b := newBrowser(t)
	relay := turntest.Start(t)
	proxy := turntest.NewLossyProxy(t, relay.Addr())
	srv := startServerWith(t, serverOptions{Args: []string{
		"-turn-secret", relay.Secret(), "-turn-url", "turn:" + proxy.Addr() + "?transport=udp", "-ice-transport-policy", "relay"}})
	alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	alice.recordQuality()
	bob.recordQuality()
	videoCall(alice, bob)
	for _, u := range []*sdkUser{alice, bob} {
		if path := eval[string](t, u.ctx, selectedPath); path != "relay/udp -> relay" {
			t.Fatalf("%s's media path is %q, want relay/udp -> relay", u.jid, path)
		}
	}
	alice.waitQuality(0, bob.jid, `a.quality === "good"`, 30*time.Second)
	fullWidth := eval[int](t, alice.ctx, sentVideoWidth)

	proxy.SetLoss(0.2)
	mark, lossAt := alice.evMark(), eval[int64](t, alice.ctx, `Date.now()`)
	poor := alice.waitQuality(mark, bob.jid, `a.quality === "poor"`, 30*time.Second)
	t.Logf("alice about bob with 20%% loss per crossing: %+v", poor)
	if poor.Loss <= 0.1 {
		t.Errorf("a poor line with loss %v", poor.Loss)
	}
	// Alice's video to bob steps down to a quarter of its size.
	alice.wait(senderParams("video", "scaleResolutionDownBy")+` === "4"`, 30*time.Second)
	if fr := eval[string](t, alice.ctx, senderParams("video", "maxFramerate")); fr != "10" {
		t.Errorf("alice's video on a poor line: maxFramerate %s, want 10", fr)
	}
	alice.wait(`(await `+sentVideoWidth+`) <= `+strconv.Itoa(fullWidth/4), 30*time.Second)
	alice.waitQuality(mark, bob.jid, `a.sentScale === 4 && a.sentScaleReason === "line"`, 30*time.Second)
	// Audio is not what gives: it keeps arriving.
	before := eval[int](t, bob.ctx, inboundAudioPackets)
	bob.wait(`(await `+inboundAudioPackets+`) > `+strconv.Itoa(before+20), 10*time.Second)
	dropped, passed := proxy.Counts()
	t.Logf("proxy: %d datagrams dropped, %d passed; alice sends %d wide (was %d), reported poor %d ms after the loss began",
		dropped, passed, eval[int](t, alice.ctx, sentVideoWidth), fullWidth, poor.At-lossAt)

	proxy.SetLoss(0)
	alice.waitQuality(alice.evMark(), bob.jid, `a.quality === "good"`, 30*time.Second)
	// Back step by step: half size first, then full size.
	alice.wait(senderParams("video", "scaleResolutionDownBy")+` === "2"`, 30*time.Second)
	alice.wait(senderParams("video", "scaleResolutionDownBy")+` === "1"`, 30*time.Second)
	if fr := eval[string](t, alice.ctx, senderParams("video", "maxFramerate")); fr != "-" {
		t.Errorf("alice's video after the line recovered: maxFramerate %s, want none", fr)
	}
	var steps []float64
	for _, r := range alice.qualityReports(bob.jid) {
		if len(steps) == 0 || steps[len(steps)-1] != r.SentScale {
			steps = append(steps, r.SentScale)
		}
	}
	t.Logf("alice's sent scale as reported: %v", steps)
}

// TestPWAQualityBars: in the PWA's video call the other person's tile shows
// three lit bars labelled "Connection: good" with the numbers in its
// tooltip; when the only path (a relay behind a lossy proxy) loses packets
// they drop to one bar, "Connection: poor". Screenshots of both go to
// test-artifacts.
func TestPWAQualityBars(t *testing.T) {
	b := newBrowser(t)
	relay := turntest.Start(t)
	proxy := turntest.NewLossyProxy(t, relay.Addr())
	srv := startServerWith(t, serverOptions{Args: []string{
		"-turn-secret", relay.Secret(), "-turn-url", "turn:" + proxy.Addr() + "?transport=udp", "-ice-transport-policy", "relay"}})
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "desktop")
	startPWAVideoCall(t, srv.URL, alice, bob)

	const bars = `document.querySelector('#quality-bob_localhost')`
	// The first samples may lack the round trip (the path's first STUN
	// responses): the tooltip gets it from a later one.
	alice.wait(bars+` && `+bars+`.getAttribute('aria-label') === 'Connection: good' && `+bars+`.title.includes('round trip')`, 30*time.Second)
	if n := eval[int](t, alice.ctx, bars+`.querySelectorAll('.qbar-on').length`); n != 3 {
		t.Errorf("a good line lights %d bars, want 3", n)
	}
	if title := eval[string](t, alice.ctx, bars+`.title`); !strings.Contains(title, "round trip") || !strings.Contains(title, "loss") {
		t.Errorf("the bars' tooltip %q lacks the numbers", title)
	}
	if role := eval[string](t, alice.ctx, bars+`.getAttribute('role')`); role != "img" {
		t.Errorf("the bars' role is %q, want img", role)
	}
	alice.shot("quality-good")
	alice.a11y("in-call screen with quality bars")

	proxy.SetLoss(0.2)
	alice.wait(bars+`.getAttribute('aria-label') === 'Connection: poor'`, 30*time.Second)
	if n := eval[int](t, alice.ctx, bars+`.querySelectorAll('.qbar-on').length`); n != 1 {
		t.Errorf("a poor line lights %d bars, want 1", n)
	}
	t.Logf("poor line tooltip: %s", eval[string](t, alice.ctx, bars+`.title`))
	alice.shot("quality-poor")
	proxy.SetLoss(0)
}
