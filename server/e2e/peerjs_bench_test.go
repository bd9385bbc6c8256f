package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"
)

// The PeerJS comparison of issue 10 (target 1: answering faster than PeerJS
// would on the same machine): PeerJS 1.5's browser library and its Node
// signalling server (npm peerjs and peer, pinned in testdata/package-lock.json,
// installed by `make e2e-deps`), measured the way TestBenchAnswerToFirstFrame
// measures Parley, in the same headless Chromium, interleaved with Parley
// calls so that both see the same load.

// peerjsPage is the PeerJS app of the benchmark, served with peerjs.min.js
// from a Go HTTP server on loopback. Each side keeps one Peer signed in to
// the signalling server; the caller opens its camera and calls, the callee
// answers with call.answer(stream). Remote video plays in a video element
// whose first presented frame is stamped with requestVideoFrameCallback, as
// sdkRig does for Parley. No STUN or TURN server: host candidates only, as
// Parley on loopback without -turn-addr (PeerJS's default configuration
// would reach out to Google's STUN and PeerJS's TURN servers).
const peerjsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PeerJS answer benchmark</title>
<script src="/peerjs.min.js"></script></head>
<body><div id="media"></div>
<script>
// The same camera request as Parley's engine (app/rtc/media_js.go).
const constraints = {audio: true, video: {width: {ideal: 640}, height: {ideal: 480}}};
window.firstFrame = null;
// With window.selfView set, the page shows what Parley's test pages show
// (sdkRig), laid out with web/sdk.html's style sheet (pageStyle): the local
// camera in a muted element as soon as it is open, and the remote video with
// its sound playing. Without it, only the remote video, muted, unstyled.
function element(id, stream, muted) {
  const v = document.createElement("video");
  v.id = id; v.autoplay = true; v.muted = muted; v.playsInline = true;
  document.getElementById("media").append(v);
  v.srcObject = stream;
  v.play().catch(() => {});
  return v;
}
// pageStyle replaces the page's style sheet (css, or none when empty).
window.pageStyle = (css) => {
  let el = document.getElementById("page-style");
  if (!el) { el = document.createElement("style"); el.id = "page-style"; document.head.append(el); }
  el.textContent = css;
};
function showLocal() {
  if (window.selfView) element("self", window.local, true);
}
function show(stream) {
  // PeerJS emits "stream" once per remote track, with the same stream.
  if (window.shown === stream) return;
  window.shown = stream;
  const v = element("remote", stream, !window.selfView);
  v.requestVideoFrameCallback(() => { window.firstFrame = Date.now(); });
}
window.join = (id, port) => new Promise((resolve, reject) => {
  window.peer = new Peer(id, {host: "127.0.0.1", port, path: "/", secure: false, debug: 0, config: {iceServers: []}});
  peer.on("open", () => resolve(true));
  peer.on("error", (e) => { window.peerError = String(e); reject(String(e)); });
  peer.on("call", (c) => { window.incoming = c; c.on("stream", show); });
});
// place opens the camera and calls; the offer and candidates leave at once.
window.place = async (to) => {
  window.local = await navigator.mediaDevices.getUserMedia(constraints);
  showLocal();
  window.outgoing = peer.call(to, window.local);
  window.outgoing.on("stream", show);
  return true;
};
// prepare opens the callee's camera while it rings (the second variant).
window.prepare = async () => { window.local = await navigator.mediaDevices.getUserMedia(constraints); showLocal(); return true; };
// answer answers the ringing call, opening the camera first unless prepare
// did, and returns when it was asked to.
window.answer = async () => {
  const t = Date.now();
  if (!window.local) {
    window.local = await navigator.mediaDevices.getUserMedia(constraints);
    window.incoming.answer(window.local);
    showLocal();
  } else {
    window.incoming.answer(window.local);
  }
  return t;
};
window.hangup = () => {
  for (const c of [window.outgoing, window.incoming]) if (c) c.close();
  if (window.local) window.local.getTracks().forEach((t) => t.stop());
  document.getElementById("media").replaceChildren();
  window.outgoing = window.incoming = window.local = window.shown = window.firstFrame = null;
  return true;
};
</script></body></html>`

// peerjsDeps returns the testdata directory once node and both npm packages
// are there, else skips loudly (fails when CI is set).
func peerjsDeps(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "server", "e2e", "testdata")
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "no node to run PeerJS's signalling server (install nodejs)")
	}
	for _, f := range []string{"node_modules/peerjs/dist/peerjs.min.js", "node_modules/peer/dist/index.cjs"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			missing(t, "%s is missing: run `make e2e-deps` (npm ci in server/e2e/testdata)", f)
		}
	}
	return dir
}

// peerServerStarted is the line the script below prints once PeerServer
// listens.
var peerServerStarted = regexp.MustCompile(`^peer server listening on port ([0-9]+)$`)

// startPeerServer runs PeerJS's signalling server (npm peer) with node on a
// free loopback port and returns the port; the process is killed when the
// test ends.
func startPeerServer(t *testing.T, dir string) int {
	t.Helper()
	const script = `const {PeerServer} = require("peer");
PeerServer({host: "127.0.0.1", port: 0, path: "/"}, (srv) => console.log("peer server listening on port " + srv.address().port));`
	cmd := exec.Command("node", "-e", script)
	cmd.Dir = dir // require finds node_modules here
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("peer server stdout: %v", err)
	}
	log := &lockedBuffer{}
	var stderr bytes.Buffer // read only after the process exited
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the PeerJS server: %v", err)
	}
	exited := make(chan struct{})
	port := make(chan int, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := peerServerStarted.FindStringSubmatch(sc.Text()); m != nil {
				p, _ := strconv.Atoi(m[1])
				port <- p
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("PeerJS server output:\n%s%s", log.String(), stderr.String())
		}
	})
	select {
	case p := <-port:
		return p
	case <-exited:
		t.Fatalf("the PeerJS server exited before listening:\n%s%s", log.String(), stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the PeerJS server did not listen within 30 s:\n%s", log.String())
	}
	return 0
}

// servePeerJSPage serves peerjsPage and peerjs.min.js on a free loopback port
// until the test ends, and returns the page's URL. A real HTTP server: pages
// fulfilled through CDP would be blocked by Chromium's Local Network Access
// checks when they open loopback connections.
func servePeerJSPage(t *testing.T, dir string) string {
	t.Helper()
	lib, err := os.ReadFile(filepath.Join(dir, "node_modules", "peerjs", "dist", "peerjs.min.js"))
	if err != nil {
		t.Fatalf("read peerjs.min.js: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, peerjsPage)
	})
	mux.HandleFunc("GET /peerjs.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(lib)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the PeerJS page: %v", err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
		}
		<-done
	})
	return "http://" + ln.Addr().String() + "/"
}

// peerjsUser is one page of the PeerJS app in its own browser context.
type peerjsUser struct {
	ctx context.Context
	id  string
}

func newPeerJSUser(t *testing.T, b *browser, page string, port int, id string) *peerjsUser {
	t.Helper()
	u := &peerjsUser{ctx: newUser(t, b), id: id}
	navigate(t, u.ctx, page)
	eval[bool](t, u.ctx, fmt.Sprintf(`window.join(%q, %d)`, id, port))
	return u
}

// peerjsCall makes one PeerJS video call from caller to callee, answered
// after it rang benchRing (with the camera opened while ringing when preopen is
// set; with each side's camera shown and the remote sound played when
// selfView is), and returns the milliseconds from the answer to the first
// decoded remote video frame on the callee's and the caller's side. Both hang
// up before it returns.
func peerjsCall(t *testing.T, caller, callee *peerjsUser, preopen, selfView bool) (calleeMS, callerMS int) {
	t.Helper()
	style := ""
	if selfView {
		style = sdkPageStyle(t)
	}
	for _, u := range []*peerjsUser{caller, callee} {
		eval[bool](t, u.ctx, fmt.Sprintf(`(window.selfView = %t, window.pageStyle(%s), true)`, selfView, jsonString(style)))
	}
	eval[bool](t, caller.ctx, fmt.Sprintf(`window.place(%q)`, callee.id))
	waitJS(t, callee.ctx, `window.incoming`, 30*time.Second)
	if preopen {
		eval[bool](t, callee.ctx, `window.prepare()`)
	}
	time.Sleep(benchRing(t)) // rung as long as Parley's callee (answerToFirstFrame)
	answeredAt := eval[int](t, callee.ctx, `window.answer()`)
	waitJS(t, callee.ctx, `window.firstFrame`, 30*time.Second)
	waitJS(t, caller.ctx, `window.firstFrame`, 30*time.Second)
	calleeMS = eval[int](t, callee.ctx, `window.firstFrame`) - answeredAt
	callerMS = eval[int](t, caller.ctx, `window.firstFrame`) - answeredAt
	for _, u := range []*peerjsUser{caller, callee} {
		eval[bool](t, u.ctx, `window.hangup()`)
	}
	// Let the closes reach the other side (PeerJS closes through the peer
	// connection) before the next call.
	waitJS(t, caller.ctx, `Object.values(peer.connections).flat().every((c) => !c.open)`, 10*time.Second)
	waitJS(t, callee.ctx, `Object.values(peer.connections).flat().every((c) => !c.open)`, 10*time.Second)
	return calleeMS, callerMS
}

// styleElement matches a page's <style> element and its text.
var styleElement = regexp.MustCompile(`(?s)<style>(.*?)</style>`)

// sdkPageStyle is the style sheet of web/sdk.html, the page Parley's answer
// benchmark runs in: the PeerJS variant that shows what Parley's page shows
// lays it out the same way. Its rounded, scaled-down video elements cost the
// compositor and the GPU process about 35 ms of CPU per call more than
// unstyled ones at their natural size.
func sdkPageStyle(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "web", "sdk.html"))
	if err != nil {
		t.Fatalf("read the SDK page: %v", err)
	}
	m := styleElement.FindSubmatch(b)
	if m == nil {
		t.Fatal("web/sdk.html has no <style> element")
	}
	return string(m[1])
}

// leanRig replaces an SDK page's listeners with what PeerJS's benchmark page
// does with its streams: the own camera in one muted element, each other
// participant's audio and video in one element (set once the video track is
// there, as PeerJS hands over one stream with both), and no event log. The
// first decoded frame of each remote video is stamped in window.firstFrame,
// a ring sets window.ringing and the call's end window.ended.
const leanRig = `(async () => {
  const media = document.getElementById("media");
  let remote = {};
  const element = (id, muted) => {
    const v = document.createElement("video");
    v.id = id; v.autoplay = true; v.muted = muted; v.playsInline = true;
    media.append(v);
    return v;
  };
  const l = {
    incomingCallListener: () => { window.ringing = true; },
    callStatusListener: (s) => {
      if (s.status === "ended" && s.localUser) { window.ended = true; media.replaceChildren(); remote = {}; }
    },
    userTrackListener: (t) => {
      if (!t.track) return;
      if (t.localUser) {
        if (t.trackType === "video") { const v = element("self", true); v.srcObject = new MediaStream([t.track]); v.play().catch(() => {}); }
        return;
      }
      const r = remote[t.userJid] || (remote[t.userJid] = {stream: new MediaStream()});
      r.stream.addTrack(t.track);
      if (t.trackType === "video" && !r.v) {
        r.v = element("remote-" + t.userJid, false);
        r.v.srcObject = r.stream;
        r.v.play().catch(() => {});
        r.v.requestVideoFrameCallback(() => { window.firstFrame[t.userJid] = Date.now(); });
      }
    },
  };
  return await Parley.initializeSDK({callbackListeners: l});
})()`

// leanAnswerToFirstFrame is answerToFirstFrame on pages set up by leanRig.
func leanAnswerToFirstFrame(t *testing.T, caller, callee *sdkUser) (calleeMS, callerMS int) {
	t.Helper()
	for _, u := range []*sdkUser{caller, callee} {
		eval[bool](t, u.ctx, `(window.firstFrame = {}, window.ringing = window.ended = false, true)`)
	}
	caller.ok(fmt.Sprintf(`Parley.makeVideoCall([%q])`, callee.jid))
	waitJS(t, callee.ctx, `window.ringing`, 30*time.Second)
	answeredAt, calleeFrame, callerFrame := answerToFrames(t, caller, callee)
	calleeMS = eval[int](t, callee.ctx, calleeFrame) - answeredAt
	callerMS = eval[int](t, caller.ctx, callerFrame) - answeredAt
	caller.ok(`Parley.endCall()`)
	waitJS(t, callee.ctx, `window.ended`, 30*time.Second)
	waitJS(t, caller.ctx, `window.ended`, 30*time.Second)
	return calleeMS, callerMS
}

// spread formats the median, min and max of xs (sorted in place).
func spread(xs []int) string {
	sort.Ints(xs)
	n := len(xs)
	med := xs[n/2]
	if n%2 == 0 {
		med = (xs[n/2-1] + xs[n/2]) / 2
	}
	return fmt.Sprintf("median %d ms (min %d, max %d)", med, xs[0], xs[n-1])
}

// TestBenchPeerJSAnswer measures, over 10 rounds (PARLEY_BENCH_ROUNDS), the
// time from the callee answering to the first decoded remote video frame on
// both sides for PeerJS 1.5 calls and a Parley call (the body of
// TestBenchAnswerToFirstFrame), one of each per round in rotating order, all
// in the same headless Chromium (or pair of them), so that all see the same
// load. The PeerJS
// variants: the callee opens its camera on answer (as Parley's does) or
// while it rings, the page showing only the remote video; and the callee
// opening it on answer with the page showing what Parley's test page shows
// (both cameras, the remote sound). Parley runs on the test rig's page and on
// a page doing what that last PeerJS page does (leanRig). With
// PARLEY_BENCH_PINNED=1 the callers' and the callees' pages are in two
// browsers, each on a processor of its own. Run with PARLEY_BENCH=1.
func TestBenchPeerJSAnswer(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	dir := peerjsDeps(t)
	port := startPeerServer(t, dir)
	page := servePeerJSPage(t, dir)
	rounds := benchRounds(t)
	// One call of the pair per round: over the default per-pair ring limit.
	srv := startServerWith(t, serverOptions{Args: []string{"-pair-ring-burst", strconv.Itoa(rounds)}})
	callers, callees, browsersCPU := benchBrowsers(t)
	alice, bob := newSDKUser(t, callers, srv.URL), newSDKUser(t, callees, srv.URL)
	alice.register("alice")
	bob.register("bob")
	pjCaller, pjCallee := newPeerJSUser(t, callers, page, port, "caller"), newPeerJSUser(t, callees, page, port, "callee")
	carol, dave := newSDKUser(t, callers, srv.URL), newSDKUser(t, callees, srv.URL)
	carol.register("carol")
	dave.register("dave")
	for _, u := range []*sdkUser{carol, dave} {
		if env := u.call(leanRig); env.StatusCode != 200 {
			t.Fatalf("initializeSDK with the lean listeners: %+v", env)
		}
	}

	names := []string{"PeerJS, callee opens its camera on answer", "PeerJS, callee's camera opened while ringing",
		"PeerJS, camera on answer, both cameras shown and the remote sound played, laid out with the same style sheet (as on Parley's page)", "Parley",
		"Parley, its page doing what PeerJS's does (own camera and one element per remote participant, no event log)"}
	// The whole browser's CPU per call (both pages, the browser, GPU and
	// capture processes): the ring, the answer until both first frames, and
	// the hang-up.
	callee, caller, cpu := make([][]int, len(names)), make([][]int, len(names)), make([][]int, len(names))
	for i := 0; i < rounds; i++ {
		for k := range names {
			v := (i + k) % len(names) // rotate which goes first
			var ce, cr int
			before := browsersCPU()
			switch v {
			case 0, 1, 2:
				ce, cr = peerjsCall(t, pjCaller, pjCallee, v == 1, v == 2)
			case 3:
				ce, cr = answerToFirstFrame(t, alice, bob, i)
			case 4:
				ce, cr = leanAnswerToFirstFrame(t, carol, dave)
			}
			used := int(cpuBetween(before, browsersCPU()).Milliseconds())
			callee[v] = append(callee[v], ce)
			caller[v] = append(caller[v], cr)
			cpu[v] = append(cpu[v], used)
			if os.Getenv("PARLEY_BENCH_DETAIL") != "" {
				t.Logf("round %d, %s: callee +%d ms, caller +%d ms, browser CPU %d ms", i, names[v], ce, cr, used)
			}
		}
	}
	for v, name := range names {
		t.Logf("answer -> first decoded remote frame, %d interleaved rounds, %s: callee %s, caller %s; browser CPU per call %s",
			rounds, name, spread(callee[v]), spread(caller[v]), spread(cpu[v]))
	}
}
