package e2e

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"parley/server/turn/turntest"
)

// relayedCall starts bin/parley with an external TURN server that runs in
// this test process (see turntest) and the relay policy, so the two
// browsers' media can only go through that relay, and puts alice and bob in
// a video call with media flowing both ways.
func relayedCall(t *testing.T) (relay *turntest.Relay, alice, bob *sdkUser) {
	t.Helper()
	b := newBrowser(t)
	relay = turntest.Start(t)
	srv := startServerWith(t, serverOptions{Args: []string{
		"-turn-secret", relay.Secret(), "-turn-url", relay.URL(), "-ice-transport-policy", "relay"}})
	alice, bob = newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	videoCall(alice, bob)
	for _, u := range []*sdkUser{alice, bob} {
		if path := eval[string](t, u.ctx, selectedPath); path != "relay/udp -> relay" {
			t.Fatalf("%s's media path is %q, want relay/udp -> relay", u.jid, path)
		}
		u.stampFrames()
		u.watchPCs()
	}
	return relay, alice, bob
}

// stampFrames keeps, in window.frameAt[jid], the times (Date.now()) at which
// the count of frames decoded from each remote video element that exists now
// was seen to grow, sampled every 20 ms (a timer keeps running where
// requestVideoFrameCallback stops: in a page that is not painted).
func (u *sdkUser) stampFrames() {
	u.t.Helper()
	eval[bool](u.t, u.ctx, `(() => {
  window.frameAt = window.frameAt || {};
  for (const el of document.querySelectorAll("#media video:not([id^=local-])")) {
    const jid = el.id.replace(/-video$/, "");
    if (window.frameAt[jid]) continue;
    const at = window.frameAt[jid] = [];
    let n = 0;
    setInterval(() => {
      const m = el.getVideoPlaybackQuality().totalVideoFrames;
      if (m > n) { at.push(Date.now()); if (at.length > 5000) at.splice(0, 1000); }
      n = m;
    }, 20);
  }
  return true;
})()`)
}

// resumedExpr is a JS expression for when (Unix ms) the page's video from
// peer came back after dying at since: the first frame after since that
// follows a gap of at least 500 ms (frames already in flight when the path
// died do not count); 0 while there is none.
func resumedExpr(peer string, since time.Time) string {
	return `((at, since) => {
  at = at || [];
  for (let i = 1; i < at.length; i++) if (at[i] > since && at[i] - at[i-1] >= 500) return at[i];
  return 0;
})(window.frameAt[` + strconv.Quote(peer) + `], ` + strconv.FormatInt(since.UnixMilli(), 10) + `)`
}

// evMark is how many listener calls u has recorded so far.
func (u *sdkUser) evMark() int {
	u.t.Helper()
	return eval[int](u.t, u.ctx, `window.ev.length`)
}

// statusSince waits for a callStatusListener call after the mark-th listener
// call saying jid (any participant when "") has status, and returns the
// index just past it.
func (u *sdkUser) statusSince(mark int, jid, status string, timeout time.Duration) int {
	u.t.Helper()
	who := `(` + strconv.Quote(jid) + ` === "" || e.args[0].userJid === ` + strconv.Quote(jid) + `)`
	find := `window.ev.findIndex((e, i) => i >= ` + strconv.Itoa(mark) + ` && e.name === "callStatusListener" && ` + who +
		` && e.args[0].status === ` + strconv.Quote(status) + `)`
	waitJS(u.t, u.ctx, find+` >= 0`, timeout)
	return eval[int](u.t, u.ctx, find) + 1
}

// videoStats sums up the page's video RTP statistics, for failures.
const videoStats = `(async () => {
  const out = [];
  for (const pc of window.pcs) (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") out.push({in: s.packetsReceived, frames: s.framesReceived, decoded: s.framesDecoded, keyFrames: s.keyFramesDecoded, pli: s.pliCount, fir: s.firCount, nack: s.nackCount});
    if (s.type === "outbound-rtp" && s.kind === "video") out.push({out: s.packetsSent, encoded: s.framesEncoded, keyFrames: s.keyFramesEncoded, pli: s.pliCount, fir: s.firCount, nack: s.nackCount, limit: s.qualityLimitationReason, width: s.frameWidth});
  });
  return JSON.stringify(out);
})()`

// watchPCs records, in window.pcLog, the time (Date.now()) and new state of
// every change of a peer connection's connection and signaling state.
func (u *sdkUser) watchPCs() {
	u.t.Helper()
	eval[bool](u.t, u.ctx, `(() => {
  window.pcLog = [];
  for (const pc of window.pcs) {
    pc.addEventListener("connectionstatechange", () => window.pcLog.push([Date.now(), pc.connectionState]));
    pc.addEventListener("signalingstatechange", () => window.pcLog.push([Date.now(), pc.signalingState]));
  }
  return true;
})()`)
}

// recovery is when, after the path died, one side's peer connection went
// disconnected, applied a restart offer (made or received), was connected
// again, and decoded the other's video again.
type recovery struct {
	Disconnected, Restart, Connected, Video time.Duration
}

func (r recovery) String() string {
	ms := func(d time.Duration) string {
		if d == 0 {
			return "never"
		}
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
	}
	return "disconnected " + ms(r.Disconnected) + ", restart offer " + ms(r.Restart) + ", connected " + ms(r.Connected) + ", video " + ms(r.Video)
}

// recoveryOf reads u's recovery from its page after the path died at died.
func (u *sdkUser) recoveryOf(peer string, died time.Time) recovery {
	u.t.Helper()
	since := strconv.FormatInt(died.UnixMilli(), 10)
	at := eval[[]int64](u.t, u.ctx, `(() => {
  const log = window.pcLog.filter((e) => e[0] >= `+since+`);
  const first = (pred, from) => { const e = log.find((e) => e[0] >= from && pred(e[1])); return e ? e[0] : 0; };
  const off = first((s) => s === "disconnected" || s === "failed", 0);
  const restart = first((s) => s === "have-local-offer" || s === "have-remote-offer", off);
  return [off, restart, first((s) => s === "connected", restart), `+resumedExpr(peer, died)+`];
})()`)
	d := func(ms int64) time.Duration {
		if ms == 0 {
			return 0
		}
		return time.UnixMilli(ms).Sub(died)
	}
	return recovery{d(at[0]), d(at[1]), d(at[2]), d(at[3])}
}

// dieAndRecover kills the relay and starts a new one on the same port at
// once: every allocation, and so every media path, is gone. It waits until
// both pages' callStatusListener have reported a participant reconnecting
// and then connected, and both decode the other's video again, and returns
// how each side recovered. The participant reported is the one whose
// browser noticed the dead path: usually both, but a browser that notices
// late may find its path healed by the other side's restart first.
func dieAndRecover(t *testing.T, relay *turntest.Relay, alice, bob *sdkUser) (a, b recovery) {
	t.Helper()
	markA, markB := alice.evMark(), bob.evMark()
	died := time.Now()
	relay.Kill()
	relay.Restart()
	diag := func() {
		for _, u := range []*sdkUser{alice, bob} {
			s, _ := evalErr[string](u.ctx, videoStats)
			l, _ := evalErr[string](u.ctx, `JSON.stringify(window.pcLog.map((e) => [e[0] - `+strconv.FormatInt(died.UnixMilli(), 10)+`, e[1]]))`)
			t.Logf("%s, video statistics and peer connection states (ms after the relay died): %s\n%s", u.jid, s, l)
		}
	}
	defer func() {
		if t.Failed() {
			diag()
		}
	}()
	first := alice.statusSince(markA, "", "reconnecting", 30*time.Second)
	who := eval[string](t, alice.ctx, `window.ev[`+strconv.Itoa(first-1)+`].args[0].userJid`)
	markA = alice.statusSince(markA, who, "reconnecting", 30*time.Second)
	markB = bob.statusSince(markB, who, "reconnecting", 30*time.Second)
	alice.statusSince(markA, who, "connected", 60*time.Second)
	bob.statusSince(markB, who, "connected", 60*time.Second)
	waitJS(t, alice.ctx, resumedExpr(bob.jid, died)+` > 0`, 30*time.Second)
	waitJS(t, bob.ctx, resumedExpr(alice.jid, died)+` > 0`, 30*time.Second)
	return alice.recoveryOf(bob.jid, died), bob.recoveryOf(alice.jid, died)
}

// TestICERestartAfterRelayDies: two headless Chromiums in a video call whose
// only path is a TURN relay. The relay dies (a new one takes its port, with
// none of the old allocations), as when a phone moves from Wi-Fi to mobile
// data: both see a participant reconnecting, the engines restart ICE, new
// candidates are gathered on the new relay, both see it connected again and
// decode the other's video and receive its audio, still relayed.
func TestICERestartAfterRelayDies(t *testing.T) {
	relay, alice, bob := relayedCall(t)
	ra, rb := dieAndRecover(t, relay, alice, bob)
	t.Logf("after the relay died: alice %v; bob %v", ra, rb)
	for _, u := range []*sdkUser{alice, bob} {
		peer := map[string]string{alice.jid: bob.jid, bob.jid: alice.jid}[u.jid]
		u.mediaFlows(peer)
		if path := eval[string](t, u.ctx, selectedPath); path != "relay/udp -> relay" {
			t.Fatalf("%s's media path after the restart is %q, want relay/udp -> relay", u.jid, path)
		}
	}
}

// TestBenchICERestart measures how long a call's video is gone when its only
// network path dies: from killing the relay (a new one takes its port at
// once) to the first frame decoded again on each side, over
// PARLEY_BENCH_RUNS (default 7) deaths in one call. Run with PARLEY_BENCH=1.
func TestBenchICERestart(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	runs := 7
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	relay, alice, bob := relayedCall(t)
	var both []time.Duration
	for i := range runs {
		ra, rb := dieAndRecover(t, relay, alice, bob)
		both = append(both, max(ra.Video, rb.Video))
		t.Logf("run %d: alice %v; bob %v", i+1, ra, rb)
		time.Sleep(2 * time.Second) // let the new path settle before killing it again
	}
	slices.Sort(both)
	t.Logf("path dead → video on both sides, %d runs: median %v, min %v, max %v",
		runs, both[len(both)/2].Round(time.Millisecond), both[0].Round(time.Millisecond), both[len(both)-1].Round(time.Millisecond))
}
