package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// sdkRig is evaluated in the SDK playground page. It records every listener
// call in window.ev, plays each track in an element (id "<jid>-<kind>", local
// ones prefixed "local-"), stamps the first decoded frame of each remote
// video, and keeps the page's RTCPeerConnections in window.pcs so the test can
// read inbound RTP statistics (pion's wasm build creates them through
// window.RTCPeerConnection).
const sdkRig = `(async (initOptions) => {
  window.ev = [];
  window.firstFrame = {};
  window.pcs = [];
  const Orig = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...a) {
    // A test may keep only the TURN URLs of one transport (window.onlyTURN =
    // "udp" or "tcp"), as a network that lets only that through would.
    if (window.onlyTURN && a[0] && a[0].iceServers) {
      a[0] = {...a[0], iceServers: a[0].iceServers.map((s) => ({...s, urls: [].concat(s.urls).filter((u) => u.endsWith("transport=" + window.onlyTURN))}))};
    }
    const pc = new Orig(...a); window.pcs.push(pc); return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
  const rec = (name) => (...args) => window.ev.push({name, at: Date.now(), args: JSON.parse(JSON.stringify(args.map((a) => a && a.track !== undefined ? {...a, track: a.track ? a.track.kind : null} : a)))});
  const names = ["incomingCallListener", "callStatusListener", "muteStatusListener", "missedCallListener",
    "mediaErrorListener", "connectionListener", "callJoinRequestListener", "callResumedListener"];
  const listeners = {};
  names.forEach((n) => listeners[n] = rec(n));
  listeners.userTrackListener = (t) => {
    rec("userTrackListener")(t);
    const id = (t.localUser ? "local-" : "") + t.userJid + "-" + t.trackType;
    let el = document.getElementById(id);
    if (!t.track) { if (el) el.remove(); return; }
    if (!el) {
      el = document.createElement(t.trackType === "video" ? "video" : "audio");
      el.id = id; el.autoplay = true; el.playsInline = true;
      el.muted = t.localUser || t.trackType === "video"; // video elements carry no sound; muted ones may autoplay
      document.getElementById("media").append(el);
    }
    el.srcObject = new MediaStream([t.track]);
    el.play().catch(() => {});
    if (!t.localUser && t.trackType === "video" && el.requestVideoFrameCallback) {
      el.requestVideoFrameCallback(() => { window.firstFrame[t.userJid] = Date.now(); });
    }
  };
  // A listener that throws must not break the SDK.
  listeners.connectionListener = (s) => { rec("connectionListener")(s); throw new Error("listener bug"); };
  window.parleyListeners = listeners;
  const up = await Parley.ready;
  if (up.statusCode !== 200) return up;
  return await Parley.initializeSDK({...initOptions, callbackListeners: listeners});
})`

// sdkRigWith runs sdkRig with these initializeSDK options (a JS object
// literal, or "{}").
func sdkRigWith(options string) string { return sdkRig + "(" + options + ")" }

// envelope is what every SDK method resolves to.
type envelope struct {
	StatusCode int             `json:"statusCode"`
	Message    string          `json:"message"`
	Data       json.RawMessage `json:"data"`
}

// sdkUser is one page using window.Parley in its own browser context.
type sdkUser struct {
	t   *testing.T
	ctx context.Context
	jid string
}

func newSDKUser(t *testing.T, b *browser, origin string) *sdkUser {
	t.Helper()
	return newSDKUserAt(t, b, origin+"/web/sdk.html", "{}")
}

// newSDKUserAt opens page (which loads parley.js and has a #media element)
// in a fresh browser context and initializes the SDK with options.
func newSDKUserAt(t *testing.T, b *browser, page, options string) *sdkUser {
	t.Helper()
	u := &sdkUser{t: t, ctx: newUser(t, b)}
	navigate(t, u.ctx, page)
	if env := u.call(sdkRigWith(options)); env.StatusCode != 200 {
		t.Fatalf("initializeSDK(%s) on %s: %+v", options, page, env)
	}
	return u
}

// call evaluates a JS expression that yields an SDK envelope.
func (u *sdkUser) call(expr string) envelope {
	u.t.Helper()
	s := eval[string](u.t, u.ctx, `(async () => JSON.stringify(await (`+expr+`)))()`)
	var env envelope
	if err := json.Unmarshal([]byte(s), &env); err != nil {
		u.t.Fatalf("%s returned %s: %v", expr, s, err)
	}
	return env
}

func (u *sdkUser) ok(expr string) envelope {
	u.t.Helper()
	env := u.call(expr)
	if env.StatusCode != 200 || env.Message == "" {
		u.t.Fatalf("%s: %+v", expr, env)
	}
	return env
}

// expect checks that expr fails with code and a message.
func (u *sdkUser) expect(code int, expr string) {
	u.t.Helper()
	env := u.call(expr)
	if env.StatusCode != code || env.Message == "" {
		u.t.Fatalf("%s: got %+v, want statusCode %d with a message", expr, env, code)
	}
}

// waitEvent waits for a listener call whose first argument matches the JS
// predicate (over a variable a) and returns that argument.
func (u *sdkUser) waitEvent(name, pred string) map[string]any {
	u.t.Helper()
	find := `window.ev.find((e) => e.name === ` + strconv.Quote(name) + ` && ((a) => ` + pred + `)(e.args[0]))`
	waitJS(u.t, u.ctx, find, 30*time.Second)
	var v map[string]any
	if err := json.Unmarshal([]byte(eval[string](u.t, u.ctx, `JSON.stringify(`+find+`.args[0])`)), &v); err != nil {
		u.t.Fatal(err)
	}
	return v
}

func (u *sdkUser) register(name string) {
	u.t.Helper()
	env := u.ok(fmt.Sprintf(`Parley.register(%q, "correct horse battery", %q)`, name, "User "+name))
	var d struct {
		UserJID string `json:"userJid"`
	}
	_ = json.Unmarshal(env.Data, &d)
	if d.UserJID != name+"@localhost" {
		u.t.Fatalf("register data %s", env.Data)
	}
	u.jid = d.UserJID
}

// framesOf is the number of frames decoded from jid's remote video.
func framesOf(jid string) string {
	return `(() => { const v = document.getElementById(` + strconv.Quote(jid+"-video") + `); return v ? v.getVideoPlaybackQuality().totalVideoFrames : 0 })()`
}

// inboundAudioPackets sums the audio packets received on every peer connection.
const inboundAudioPackets = `(async () => { let n = 0; for (const pc of window.pcs) { (await pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") n += s.packetsReceived; }); } return n; })()`

// mediaFlows proves that u decodes video from peer and receives audio: both
// counts grow within 5 s. (A 1 s window failed on a loaded CI machine just
// after an ICE restart, with audio flowing and the decoder waiting for its
// key frame.)
func (u *sdkUser) mediaFlows(peer string) {
	u.t.Helper()
	waitJS(u.t, u.ctx, framesOf(peer)+" > 0", 30*time.Second)
	before := eval[int](u.t, u.ctx, framesOf(peer))
	audio := eval[int](u.t, u.ctx, inboundAudioPackets)
	start := time.Now()
	after, audio2 := before, audio
	for time.Since(start) < 5*time.Second && (after <= before || audio2 <= audio) {
		time.Sleep(250 * time.Millisecond)
		after = eval[int](u.t, u.ctx, framesOf(peer))
		audio2 = eval[int](u.t, u.ctx, inboundAudioPackets)
	}
	if after <= before || audio2 <= audio {
		u.t.Fatalf("%s: media from %s stalled for 5 s: video frames %d -> %d, audio packets %d -> %d", u.jid, peer, before, after, audio, audio2)
	}
	u.t.Logf("%s: %d video frames and %d audio packets from %s in %v", u.jid, after-before, audio2-audio, peer, time.Since(start).Round(10*time.Millisecond))
}

// videoCall has caller ring callee with video; callee answers, and media
// flows both ways (each side decodes the other's video and receives audio).
func videoCall(caller, callee *sdkUser) {
	caller.t.Helper()
	caller.ok(fmt.Sprintf(`Parley.makeVideoCall([%q])`, callee.jid))
	callee.waitEvent("incomingCallListener", `a.userJid === `+strconv.Quote(caller.jid))
	callee.ok(`Parley.answerCall()`)
	caller.mediaFlows(callee.jid)
	callee.mediaFlows(caller.jid)
}

// TestSDKVideoCall makes a 1:1 video call through window.Parley in two
// isolated browser contexts: each side decodes the other's video and receives
// audio, mute is seen by the other side, the call ends for both and lands in
// both call logs.
func TestSDKVideoCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	alice.waitEvent("connectionListener", `a.status === "CONNECTED"`)

	call := alice.ok(`Parley.makeVideoCall(["bob@localhost"])`)
	var ref struct{ RoomID, RoomLink string }
	_ = json.Unmarshal(call.Data, &ref)
	if ref.RoomID == "" || ref.RoomLink != "" { // a 1:1 call's link is hidden until shared
		t.Fatalf("makeVideoCall data %s", call.Data)
	}
	alice.waitEvent("callStatusListener", `a.status === "calling" && a.userJid === "bob@localhost"`)
	in := bob.waitEvent("incomingCallListener", `true`)
	if in["userJid"] != "alice@localhost" || in["callType"] != "video" || in["roomId"] != ref.RoomID ||
		in["status"] != "calling" || in["callMode"] != "onetoone" {
		t.Fatalf("incoming call payload %v", in)
	}
	if d, _ := in["userDetails"].(map[string]any); d["displayName"] != "User alice" {
		t.Fatalf("incoming userDetails %v", in["userDetails"])
	}
	alice.waitEvent("callStatusListener", `a.status === "ringing" && a.userJid === "bob@localhost"`)
	bob.ok(`Parley.answerCall()`)
	alice.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === "bob@localhost"`)
	bob.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === "alice@localhost"`)
	alice.waitEvent("userTrackListener", `a.localUser && a.trackType === "video" && a.track === "video"`)
	alice.mediaFlows("bob@localhost")
	bob.mediaFlows("alice@localhost")
	// One transport for all of a call's media from the first offer on: the
	// browser neither gathers nor checks a second one, and trickles each
	// candidate once rather than once per media section.
	for _, u := range []*sdkUser{alice, bob} {
		if got := eval[string](t, u.ctx, `window.pcs.at(-1).getConfiguration().bundlePolicy + " " + window.pcs.at(-1).getTransceivers().map((t) => t.sender.transport === window.pcs.at(-1).getTransceivers()[0].sender.transport).join()`); got != "max-bundle true,true,true" {
			t.Fatalf("%s: bundle policy and one shared transport: got %q, want %q", u.jid, got, "max-bundle true,true,true")
		}
	}

	// Mute is seen by the other side, and asked for.
	alice.ok(`Parley.muteAudio(true)`)
	bob.waitEvent("muteStatusListener", `a.userJid === "alice@localhost" && a.trackType === "audio" && a.isMuted === true && a.localUser === false`)
	if env := bob.ok(`Parley.isUserAudioMuted("alice@localhost")`); string(env.Data) != "true" {
		t.Fatalf("isUserAudioMuted(alice) on bob: %s", env.Data)
	}
	if env := alice.ok(`Parley.isUserVideoMuted()`); string(env.Data) != "false" {
		t.Fatalf("isUserVideoMuted() on alice: %s", env.Data)
	}
	alice.ok(`Parley.muteVideo(true)`)
	bob.waitEvent("muteStatusListener", `a.userJid === "alice@localhost" && a.trackType === "video" && a.isMuted === true`)

	link := alice.ok(`Parley.getCallLink()`)
	var url string
	_ = json.Unmarshal(link.Data, &url)
	if !strings.HasPrefix(url, srv.URL+"/join/") || len(url) != len(srv.URL+"/join/abc-defg-hij") {
		t.Fatalf("getCallLink = %q, want %s/join/<code>", url, srv.URL)
	}

	alice.ok(`Parley.endCall()`)
	alice.waitEvent("callStatusListener", `a.status === "ended" && a.localUser && a.sessionStatus === "closed"`)
	bob.waitEvent("callStatusListener", `a.status === "disconnected" && a.userJid === "alice@localhost"`)
	bob.waitEvent("callStatusListener", `a.status === "ended" && a.sessionStatus === "closed"`)
	bob.waitEvent("userTrackListener", `a.userJid === "alice@localhost" && a.track === null`)
	// The camera is released on both sides.
	waitJS(t, alice.ctx, `!document.getElementById("local-alice@localhost-video")`, 10*time.Second)

	for _, u := range []*sdkUser{alice, bob} {
		var page struct {
			Data []struct {
				RoomID    string   `json:"roomId"`
				CallState string   `json:"callState"`
				CallType  string   `json:"callType"`
				FromUser  string   `json:"fromUser"`
				UserList  []string `json:"userList"`
				StartTime *int64   `json:"startTime"`
				Duration  int64    `json:"duration"`
			} `json:"data"`
			TotalPages int `json:"totalPages"`
		}
		raw := eval[string](t, u.ctx, `Parley.getCallLogs(1).then(JSON.stringify)`)
		if err := json.Unmarshal([]byte(raw), &page); err != nil || len(page.Data) != 1 || page.TotalPages != 1 {
			t.Fatalf("%s's call logs: %s (%v)", u.jid, raw, err)
		}
		l := page.Data[0]
		want := map[*sdkUser]string{alice: "outgoing", bob: "incoming"}[u]
		if l.RoomID != ref.RoomID || l.CallState != want || l.CallType != "video" || l.FromUser != "alice@localhost" ||
			len(l.UserList) != 2 || l.StartTime == nil || l.Duration <= 0 {
			t.Fatalf("%s's call log entry: %+v", u.jid, l)
		}
	}
}

// TestSDKBadArguments checks that bad input gets a clear 4xx envelope and
// changes nothing.
func TestSDKBadArguments(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	u := &sdkUser{t: t, ctx: newUser(t, b)}
	navigate(t, u.ctx, srv.URL+"/web/sdk.html")
	u.expect(400, `Parley.register("alice", "correct horse battery")`) // before initializeSDK
	if env := u.call(sdkRigWith("{}")); env.StatusCode != 200 {
		t.Fatalf("initializeSDK: %+v", env)
	}
	u.expect(400, `Parley.initializeSDK("nope")`)
	u.expect(400, `Parley.initializeSDK({iceTransportPolicy: "nohost"})`)
	u.expect(401, `Parley.makeVoiceCall(["bob"])`)
	u.expect(400, `Parley.register("No Spaces!", "correct horse battery")`)
	u.expect(400, `Parley.register("alice", "short")`)
	u.expect(400, `Parley.register(42, "correct horse battery")`)
	u.register("alice")
	u.expect(400, `Parley.connect("alice")`)
	other := newSDKUser(t, b, srv.URL)
	other.expect(401, `Parley.connect("alice", "wrong password!")`)
	other.waitEvent("connectionListener", `a.status === "AUTHFAIL"`)
	other.expect(409, `Parley.register("alice", "correct horse battery")`)

	for _, tc := range []struct {
		code int
		expr string
	}{
		{400, `Parley.makeVoiceCall("bob")`},
		{400, `Parley.makeVoiceCall([])`},
		{400, `Parley.makeVideoCall([42])`},
		{400, `Parley.makeVoiceCall(["alice@localhost"])`},
		{400, `Parley.makeVoiceCall(["bob"], 7)`},
		{404, `Parley.makeVoiceCall(["nobody"])`},
		{100603, `Parley.makeVideoCall(["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"])`},
		{404, `Parley.answerCall()`},
		{404, `Parley.declineCall()`},
		{100609, `Parley.endCall()`},
		{400, `Parley.muteAudio("yes")`},
		{400, `Parley.muteVideo()`},
		{100609, `Parley.muteAudio(true)`},
		{100609, `Parley.isUserAudioMuted()`},
		{100609, `Parley.getCallLink()`},
		{400, `Parley.getCallLogs("first")`},
		{400, `Parley.getCallLogs(0)`},
		{400, `Parley.getCallLogs(1.5)`},
		{400, `Parley.showCallNotification({})`},
		{400, `Parley.showCallNotification("hi")`},
		{100609, `Parley.sendCustomData("hello")`},
		{400, `Parley.sendCustomData()`},
		{400, `Parley.inviteUsers("bob")`},
		{100609, `Parley.inviteUsers(["bob"])`},
		{100609, `Parley.requestVideoCallSwitch()`},
		{100609, `Parley.acceptVideoCallSwitchRequest()`},
		{100601, `Parley.subscribeCall("not a link", "Al")`},
		{100601, `Parley.subscribeCall(42, "Al")`},
		{100602, `Parley.joinCall()`},
		{404, `Parley.unsubscribeCall()`},
		{100609, `Parley.getCallUsername("bob@localhost")`},
	} {
		u.expect(tc.code, tc.expr)
	}
	// Nothing was half-made: no call, an empty log, still signed in.
	if got := eval[string](t, u.ctx, `Parley.getCallLogs(1).then((r) => JSON.stringify([r.statusCode, r.data, r.totalPages]))`); got != `[200,[],0]` {
		t.Fatalf("call log after bad calls: [statusCode, data, totalPages] = %s", got)
	}
	u.ok(`Parley.logout()`)
	u.waitEvent("connectionListener", `a.status === "DISCONNECTED"`)
	u.expect(401, `Parley.getCallLogs(1)`)
}

// answerToFirstFrame makes call i of a benchmark: caller rings callee with
// video, callee answers as soon as it rings, and it returns the milliseconds
// from answerCall to the first decoded remote video frame on the callee's
// and on the caller's side (requestVideoFrameCallback stamps, see sdkRig).
// The call is ended for both before it returns. PARLEY_BENCH_DETAIL=1 logs
// when each side reported the call connected.
func answerToFirstFrame(t *testing.T, caller, callee *sdkUser, i int) (calleeMS, callerMS int) {
	t.Helper()
	for _, u := range []*sdkUser{caller, callee} {
		eval[bool](t, u.ctx, `(window.ev = [], window.firstFrame = {}, true)`)
	}
	caller.ok(fmt.Sprintf(`Parley.makeVideoCall([%q])`, callee.jid))
	callee.waitEvent("incomingCallListener", `true`)
	answeredAt, calleeFrame, callerFrame := answerToFrames(t, caller, callee)
	if os.Getenv("PARLEY_BENCH_DETAIL") != "" {
		connected := `window.ev.find((e) => e.name === "callStatusListener" && e.args[0].status === "connected").at`
		t.Logf("call %d: callee connected +%d ms, caller connected +%d ms, callee first frame +%d, caller first frame +%d", i,
			eval[int](t, callee.ctx, connected)-answeredAt, eval[int](t, caller.ctx, connected)-answeredAt,
			eval[int](t, callee.ctx, calleeFrame)-answeredAt, eval[int](t, caller.ctx, callerFrame)-answeredAt)
	}
	calleeMS = eval[int](t, callee.ctx, calleeFrame) - answeredAt
	callerMS = eval[int](t, caller.ctx, callerFrame) - answeredAt
	caller.ok(`Parley.endCall()`)
	callee.waitEvent("callStatusListener", `a.status === "ended"`)
	caller.waitEvent("callStatusListener", `a.status === "ended"`)
	return calleeMS, callerMS
}

// answerToFrames lets the call ringing on callee's page ring benchRing,
// answers it and waits for the first decoded remote frame on both pages
// (window.firstFrame). It returns when the answer was given (the callee's
// Date.now()) and the expressions of the callee's and the caller's first
// frame times.
func answerToFrames(t *testing.T, caller, callee *sdkUser) (answeredAt int, calleeFrame, callerFrame string) {
	t.Helper()
	time.Sleep(benchRing(t))
	answeredAt = eval[int](t, callee.ctx, `(async () => { const t = Date.now(); await Parley.answerCall(); return t; })()`)
	calleeFrame = fmt.Sprintf(`window.firstFrame[%q]`, caller.jid)
	callerFrame = fmt.Sprintf(`window.firstFrame[%q]`, callee.jid)
	waitJS(t, callee.ctx, calleeFrame, 30*time.Second)
	waitJS(t, caller.ctx, callerFrame, 30*time.Second)
	return answeredAt, calleeFrame, callerFrame
}

// benchRing is how long the answer benchmarks let the phone ring before the
// callee answers: PARLEY_BENCH_RING, by default 1 s (a person takes longer
// to pick up; answering the instant the ring event fires measures a race no
// user can run).
func benchRing(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("PARLEY_BENCH_RING")
	if v == "" {
		return time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("PARLEY_BENCH_RING=%q: %v", v, err)
	}
	return d
}

// benchBrowsers returns the browsers of an answer benchmark's callers and
// callees, and a reading of their processes' CPU ticks (treeCPU). By default
// both are the suite's one browser, the two sides of a call sharing both
// processors; with PARLEY_BENCH_PINNED=1 the callers' pages are in a browser
// on processor 0 and the callees' in one on processor 1, each side with a
// processor of its own, as on two machines (the servers and the test still
// share both).
func benchBrowsers(t *testing.T) (callers, callees *browser, cpu func() map[string]int64) {
	t.Helper()
	callers = newBrowser(t)
	callees = callers
	if os.Getenv("PARLEY_BENCH_PINNED") != "" {
		callers, callees = newPinnedBrowser(t, 0), newPinnedBrowser(t, 1)
	}
	pids := []int{browserPid(t, callers)}
	if callees != callers {
		pids = append(pids, browserPid(t, callees))
	}
	return callers, callees, func() map[string]int64 {
		all := map[string]int64{}
		for _, pid := range pids {
			maps.Copy(all, treeCPU(t, pid))
		}
		return all
	}
}

// TestBenchAnswerToFirstFrame measures, over 10 calls, the time from
// answerCall to the first decoded remote video frame on both sides. It runs
// only with PARLEY_BENCH=1 (make bench); the numbers go in the README.
// PARLEY_BENCH_ROUNDS sets the number of calls; PARLEY_BENCH_VS names another
// server binary (an older build, say) whose calls alternate with this
// build's in the same browser, so that both see the same load.
func TestBenchAnswerToFirstFrame(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	// PARLEY_BENCH_RELAY=udp or tcp: media only through the embedded TURN
	// server, over that transport.
	relay := os.Getenv("PARLEY_BENCH_RELAY")
	rounds := benchRounds(t)
	// One call of the pair per round: over the default per-pair ring limit.
	opts := serverOptions{Args: []string{"-pair-ring-burst", strconv.Itoa(rounds)}}
	if relay != "" {
		opts.Args = append(opts.Args, "-turn-addr", "127.0.0.1:0", "-ice-transport-policy", "relay")
	}
	callers, callees, browsersCPU := benchBrowsers(t)
	type build struct {
		name           string
		caller, callee *sdkUser
		calleeMS       []int
		callerMS       []int
		cpuMS          []int
	}
	builds := []*build{{name: "this build"}}
	if vs := os.Getenv("PARLEY_BENCH_VS"); vs != "" {
		builds = append(builds, &build{name: vs})
	}
	for i, bd := range builds {
		o := opts
		if i > 0 {
			o.Bin = bd.name
		}
		srv := startServerWith(t, o)
		alice, bob := newSDKUser(t, callers, srv.URL), newSDKUser(t, callees, srv.URL)
		for _, u := range []*sdkUser{alice, bob} {
			eval[bool](t, u.ctx, `(window.onlyTURN = `+strconv.Quote(relay)+`, true)`)
		}
		// PARLEY_BENCH_CAMERA_DELAY=300ms: the callee's camera takes that
		// long to open, as a real one warming up does (the fake one opens at
		// once).
		if d := os.Getenv("PARLEY_BENCH_CAMERA_DELAY"); d != "" {
			delay, err := time.ParseDuration(d)
			if err != nil {
				t.Fatalf("PARLEY_BENCH_CAMERA_DELAY=%q: %v", d, err)
			}
			eval[bool](t, bob.ctx, fmt.Sprintf(`(() => {
			  const open = MediaDevices.prototype.getUserMedia;
			  MediaDevices.prototype.getUserMedia = function (c) {
			    return open.call(this, c).then((s) => new Promise((ok) => setTimeout(() => ok(s), %d)));
			  };
			  return true;
			})()`, delay.Milliseconds()))
		}
		alice.register("alice")
		bob.register("bob")
		bd.caller, bd.callee = alice, bob
	}
	// The whole browser's CPU per call (both pages, the browser, GPU and
	// capture processes), which varies far less from run to run than the
	// times do.
	for i := 0; i < rounds; i++ {
		for k := range builds {
			bd := builds[(i+k)%len(builds)] // rotate which goes first
			before := browsersCPU()
			ce, cr := answerToFirstFrame(t, bd.caller, bd.callee, i)
			bd.cpuMS = append(bd.cpuMS, int(cpuBetween(before, browsersCPU()).Milliseconds()))
			bd.calleeMS = append(bd.calleeMS, ce)
			bd.callerMS = append(bd.callerMS, cr)
		}
	}
	path := "direct"
	if relay != "" {
		path = "relay-only over TURN/" + relay
	}
	for _, bd := range builds {
		t.Logf("answerCall -> first decoded remote frame over %d calls, %s, %s: callee %s, caller %s; browser CPU per call %s", rounds, path, bd.name,
			spread(bd.calleeMS), spread(bd.callerMS), spread(bd.cpuMS))
	}
}

// benchRounds is the number of calls of an answer benchmark:
// PARLEY_BENCH_ROUNDS, by default 10.
func benchRounds(t *testing.T) int {
	t.Helper()
	v := os.Getenv("PARLEY_BENCH_ROUNDS")
	if v == "" {
		return 10
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("PARLEY_BENCH_ROUNDS=%q: want a positive number", v)
	}
	return n
}

// setPermission sets a permission of origin in the user's browser context, as
// the user answering the browser's prompt would.
func setPermission(t *testing.T, ctx context.Context, origin, name string, setting cdpbrowser.PermissionSetting) {
	t.Helper()
	c := chromedp.FromContext(ctx)
	if _, err := cdp.Call(ctx, c.Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: setting, Origin: origin, BrowserContextID: c.BrowserContextID,
	}); err != nil {
		t.Fatalf("set %s permission: %v", name, err)
	}
}

// TestSDKNotification shows a browser notification when allowed and answers
// 403 when the user blocked notifications.
func TestSDKNotification(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	u := newSDKUser(t, b, srv.URL)
	setPermission(t, u.ctx, srv.URL, "notifications", cdpbrowser.PermissionSettingDenied)
	u.expect(403, `Parley.showCallNotification({title: "Incoming call", forceShow: true})`)
	setPermission(t, u.ctx, srv.URL, "notifications", cdpbrowser.PermissionSettingGranted)
	if p := eval[string](t, u.ctx, `Notification.permission`); p != "granted" {
		t.Fatalf("permission %q after granting", p)
	}
	env := u.ok(`Parley.showCallNotification({title: "Incoming call", body: "Alice is calling", tag: "call", forceShow: true})`)
	if env.Message != "Notification shown." {
		t.Fatalf("forced notification: %+v", env)
	}
}
