package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests kill bin/parley (SIGKILL, as a crash or `kill -9` would) in
// the middle of a call and start it again a second later on the same
// address and data directory, while every browser counts the frames it
// decodes from every other: the media must not notice, the pages must come
// back into the same call by themselves, and every call method must work in
// it afterwards.

// gapMonitor reads every 20 ms how many frames each remote video element of
// an SDK page has decoded, and keeps, per user, the longest time the count
// did not grow since window.gaps was last reset (requestVideoFrameCallback
// would stop in a page that is not painted).
const gapMonitor = `(() => {
  window.gaps = {}; const seen = {};
  setInterval(() => document.querySelectorAll("#media video").forEach((v) => {
    if (v.id.startsWith("local-")) return;
    const jid = v.id.slice(0, -"-video".length);
    const n = v.getVideoPlaybackQuality().totalVideoFrames, t = performance.now();
    const s = seen[jid];
    if (!s || n !== s.n) {
      if (s) window.gaps[jid] = Math.max(window.gaps[jid] || 0, t - s.t);
      seen[jid] = {n, t};
    } else {
      window.gaps[jid] = Math.max(window.gaps[jid] || 0, t - s.t);
    }
  }), 20);
  return true;
})()`

// restartRig is n SDK pages in one video call on one server: users[0] rang
// the others, who answered; every page decodes every other's video.
type restartRig struct {
	srv   *server
	users []*sdkUser
	room  string
	voice bool // a voice call: no frames to follow
}

func newRestartRig(t *testing.T, n int, args ...string) *restartRig {
	t.Helper()
	return newRestartRigOf(t, n, false, args...)
}

// newRestartRigOf is newRestartRig for a voice call when voice is set.
func newRestartRigOf(t *testing.T, n int, voice bool, args ...string) *restartRig {
	t.Helper()
	srv := startServerWith(t, serverOptions{Args: args})
	b := newBrowser(t)
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}[:n]
	r := &restartRig{srv: srv, voice: voice}
	for _, name := range names {
		r.users = append(r.users, newGroupUser(t, b, srv.URL, name))
	}
	var to []string
	for _, name := range names[1:] {
		to = append(to, strconv.Quote(name))
	}
	group := ""
	if n > 2 {
		group = `, "team"`
	}
	method := "makeVideoCall"
	if voice {
		method = "makeVoiceCall"
	}
	r.users[0].ok(`Parley.` + method + `([` + strings.Join(to, ",") + `]` + group + `)`)
	for _, u := range r.users[1:] {
		in := u.waitEvent("incomingCallListener", `true`)
		r.room, _ = in["roomId"].(string)
		u.ok(`Parley.answerCall()`)
	}
	if voice {
		for _, u := range r.users {
			u.waitEvent("callStatusListener", `a.status === "connected" && a.localUser`)
		}
		return r
	}
	r.framesFlow(t)
	for _, u := range r.users {
		eval[bool](t, u.ctx, gapMonitor)
	}
	return r
}

// framesFlow waits until every page decodes new frames from every other.
func (r *restartRig) framesFlow(t *testing.T) {
	t.Helper()
	for _, u := range r.users {
		for _, o := range r.users {
			if u == o {
				continue
			}
			waitJS(t, u.ctx, framesOf(o.jid)+" > 0", 30*time.Second)
			before := eval[int](t, u.ctx, framesOf(o.jid))
			waitJS(t, u.ctx, framesOf(o.jid)+" > "+strconv.Itoa(before+5), 10*time.Second)
		}
	}
}

// quietGap is the longest gap between decoded frames any page sees over d
// with nothing happening: the baseline that outage's gap compares with.
func (r *restartRig) quietGap(t *testing.T, d time.Duration) time.Duration {
	t.Helper()
	for _, u := range r.users {
		eval[bool](t, u.ctx, `(window.gaps = {}, true)`)
	}
	time.Sleep(d)
	return r.longestGap(t)
}

// longestGap is the longest gap between decoded frames any page saw since
// window.gaps was reset, checking that every page follows every other.
func (r *restartRig) longestGap(t *testing.T) (gap time.Duration) {
	t.Helper()
	if r.voice {
		return 0
	}
	for _, u := range r.users {
		var gaps map[string]float64
		if err := json.Unmarshal([]byte(eval[string](t, u.ctx, `JSON.stringify(window.gaps)`)), &gaps); err != nil {
			t.Fatal(err)
		}
		if len(gaps) != len(r.users)-1 {
			t.Fatalf("%s: frames followed from %v, want %d others", u.jid, gaps, len(r.users)-1)
		}
		for _, g := range gaps {
			gap = max(gap, time.Duration(g*float64(time.Millisecond)))
		}
	}
	return gap
}

// outage restarts the server (killed, or shut down gracefully) and waits
// until every page has resumed. It returns the longest gap between decoded
// frames any page saw from the outage until then plus a second, and how long
// after the new process listened each page had resumed.
func (r *restartRig) outage(t *testing.T, kill bool) (gap time.Duration, resumed []time.Duration) {
	t.Helper()
	mark := time.Now().UnixMilli()
	for _, u := range r.users {
		eval[bool](t, u.ctx, `(window.gaps = {}, true)`)
	}
	r.srv.restart(t, kill, time.Second)
	listening := r.srv.Listening.UnixMilli()
	for _, u := range r.users {
		at := fmt.Sprintf(`window.ev.find((e) => e.name === "connectionListener" && e.args[0].status === "CONNECTED" && e.at > %d)`, mark)
		waitJS(t, u.ctx, at, 20*time.Second)
		resumed = append(resumed, time.Duration(eval[int](t, u.ctx, at+`.at`)-int(listening))*time.Millisecond)
		if lost := eval[bool](t, u.ctx, fmt.Sprintf(`!!window.ev.find((e) => e.name === "callStatusListener" && e.args[0].status === "ended" && e.at > %d)`, mark)); lost {
			t.Fatalf("%s: the call ended with the server restart", u.jid)
		}
	}
	time.Sleep(time.Second)
	return r.longestGap(t), resumed
}

// TestRestartMidCall: a 1:1 video call through a kill -9 and restart of the
// server: frames flow on both sides throughout, both pages resume by
// themselves, every call method works in the same call after it, and each
// side has one log entry for the whole call.
func TestRestartMidCall(t *testing.T) {
	r := newRestartRig(t, 2)
	alice, bob := r.users[0], r.users[1]
	quiet := r.quietGap(t, 3*time.Second)
	gap, resumed := r.outage(t, true)
	t.Logf("kill -9, 1 s down: longest gap between decoded frames %v (%v over 3 quiet seconds before); pages resumed %v after the server listened", gap, quiet, resumed)
	r.framesFlow(t)

	// Every call method works in the same call.
	bob.ok(`Parley.muteAudio(true)`)
	alice.waitEvent("muteStatusListener", `a.userJid === "bob@localhost" && a.trackType === "audio" && a.isMuted === true`)
	alice.ok(`Parley.sendCustomData({after: "restart"})`)
	bob.waitEvent("customDataListener", `a.data && a.data.after === "restart"`)
	bob.ok(`Parley.endCall()`)
	alice.waitEvent("callStatusListener", `a.status === "ended" && a.sessionStatus === "closed"`)
	checkOneLog(t, r, map[*sdkUser]string{alice: "outgoing", bob: "incoming"})
}

// TestRestartGroupCall: a 3-party video call through a kill -9 and restart:
// every page keeps decoding both others, all resume, and the call goes on
// (someone invited after it joins, the call ends cleanly).
func TestRestartGroupCall(t *testing.T) {
	r := newRestartRig(t, 3)
	gap, resumed := r.outage(t, true)
	t.Logf("kill -9, 1 s down, 3 people: longest gap between decoded frames %v; pages resumed %v after the server listened", gap, resumed)
	r.framesFlow(t)
	alice, bob, carol := r.users[0], r.users[1], r.users[2]
	carol.ok(`Parley.muteVideo(true)`)
	alice.waitEvent("muteStatusListener", `a.userJid === "carol@localhost" && a.trackType === "video" && a.isMuted === true`)
	bob.waitEvent("muteStatusListener", `a.userJid === "carol@localhost" && a.trackType === "video" && a.isMuted === true`)
	// A graceful restart (an upgrade) keeps the call too.
	if _, resumed := r.outage(t, false); len(resumed) != 3 {
		t.Fatalf("resumed %v", resumed)
	}
	r.framesFlow(t)
	alice.ok(`Parley.endCall()`)
	bob.ok(`Parley.endCall()`)
	carol.waitEvent("callStatusListener", `a.status === "ended" && a.sessionStatus === "closed"`)
	checkOneLog(t, r, map[*sdkUser]string{alice: "outgoing", bob: "incoming", carol: "incoming"})
}

// checkOneLog checks that each page's call log has exactly one entry, for the
// rig's call, in the given state, answered before the restart.
func checkOneLog(t *testing.T, r *restartRig, want map[*sdkUser]string) {
	t.Helper()
	for u, state := range want {
		var page struct {
			Data []struct {
				RoomID    string `json:"roomId"`
				CallState string `json:"callState"`
				StartTime *int64 `json:"startTime"`
				EndTime   int64  `json:"endTime"`
				Duration  int64  `json:"duration"`
			} `json:"data"`
		}
		var raw string
		deadline := time.Now().Add(10 * time.Second)
		for {
			raw = eval[string](t, u.ctx, `Parley.getCallLogs(1).then(JSON.stringify)`)
			if err := json.Unmarshal([]byte(raw), &page); err == nil && len(page.Data) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(page.Data) != 1 {
			t.Fatalf("%s's call logs: %s, want one entry", u.jid, raw)
		}
		l := page.Data[0]
		if l.RoomID != r.room || l.CallState != state || l.StartTime == nil || l.Duration != l.EndTime-*l.StartTime ||
			l.Duration < 2000 {
			t.Fatalf("%s's call log: %s, want %s for room %s across the restart", u.jid, raw, state, r.room)
		}
	}
}

// TestBenchRestart measures what a kill -9 of the server, restarted 1 s
// later, does to calls: the longest gap between decoded video frames on any
// page, and the time from the new process listening to every page resumed,
// over 10 restarts each of a 1:1 and a 4-party video call.
func TestBenchRestart(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	sizes := []int{2, 4}
	if s := os.Getenv("PARLEY_BENCH_PARTIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 || n > 8 {
			t.Fatalf("PARLEY_BENCH_PARTIES=%q: want 2 to 8", s)
		}
		sizes = []int{n}
	}
	for _, n := range sizes {
		voice := os.Getenv("PARLEY_BENCH_VOICE") != ""
		r := newRestartRigOf(t, n, voice)
		quiet := r.quietGap(t, 5*time.Second)
		var gaps, all, worst []time.Duration
		for range 10 {
			gap, resumed := r.outage(t, true)
			gaps = append(gaps, gap)
			all = append(all, resumed...)
			worst = append(worst, slices.Max(resumed))
		}
		slices.Sort(gaps)
		slices.Sort(all)
		slices.Sort(worst)
		kind := map[bool]string{false: "video", true: "voice (no frame gaps: resume times only)"}[voice]
		t.Logf("%d-party %s call, kill -9 and restart 1 s later, 10 times: longest frame gap median %v (min %v, max %v; %v over 5 quiet seconds before); page resumed after the server listened: median %v, worst %v; last page of a restart: median %v, worst %v",
			n, kind, gaps[5].Round(time.Millisecond), gaps[0].Round(time.Millisecond), gaps[9].Round(time.Millisecond), quiet.Round(time.Millisecond),
			all[len(all)/2], all[len(all)-1], worst[5], worst[9])
	}
}
