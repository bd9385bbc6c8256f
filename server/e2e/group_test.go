package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"parley/app/call/event"
)

// rigGroup adds the listeners of group features to the page's rig, recording
// them like the others (custom data as {data, from}).
const rigGroup = `(async () => {
  const rec = (name) => (...args) => window.ev.push({name, at: Date.now(), args: JSON.parse(JSON.stringify(args))});
  const l = {};
  ["callSwitchListener", "inviteUsersListener", "callUsersUpdateListener", "callUserJoinedListener",
   "callUserLeftListener", "callSpeakingListener"].forEach((n) => l[n] = rec(n));
  l.customDataListener = (data, from) => window.ev.push({name: "customDataListener", args: [{data, from}]});
  const base = window.parleyListeners;
  return await Parley.initializeSDK({callbackListeners: Object.assign(base, l)});
})()`

func newGroupUser(t *testing.T, b *browser, origin, name string) *sdkUser {
	t.Helper()
	u := newSDKUser(t, b, origin)
	if env := u.call(rigGroup); env.StatusCode != 200 {
		t.Fatalf("initializeSDK with group listeners: %+v", env)
	}
	if name != "" {
		u.register(name)
	}
	return u
}

// TestSDKGroupVideoCall: three people in a video call through window.Parley,
// each decoding both others' video.
func TestSDKGroupVideoCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob, carol := newGroupUser(t, b, srv.URL, "alice"), newGroupUser(t, b, srv.URL, "bob"), newGroupUser(t, b, srv.URL, "carol")
	alice.ok(`Parley.makeVideoCall(["bob", "carol"], "team")`)
	for _, u := range []*sdkUser{bob, carol} {
		in := u.waitEvent("incomingCallListener", `true`)
		if in["callMode"] != "onetomany" || in["groupId"] != "team" {
			t.Fatalf("group incoming call %v", in)
		}
		u.ok(`Parley.answerCall()`)
	}
	for _, u := range []*sdkUser{alice, bob, carol} {
		for _, o := range []*sdkUser{alice, bob, carol} {
			if u != o {
				waitJS(t, u.ctx, framesOf(o.jid)+" > 0", 30*time.Second)
			}
		}
	}
	alice.waitEvent("callUserJoinedListener", `a.userJid === "carol@localhost"`)
	for _, u := range []*sdkUser{alice, bob, carol} {
		before := [2]int{}
		others := []*sdkUser{}
		for _, o := range []*sdkUser{alice, bob, carol} {
			if o != u {
				others = append(others, o)
			}
		}
		for i, o := range others {
			before[i] = eval[int](t, u.ctx, framesOf(o.jid))
		}
		time.Sleep(time.Second)
		for i, o := range others {
			if after := eval[int](t, u.ctx, framesOf(o.jid)); after <= before[i] {
				t.Fatalf("%s: video from %s stalled at %d frames", u.jid, o.jid, after)
			}
		}
	}
	// Speaking is reported from the fake microphone's beeps.
	bob.waitEvent("callSpeakingListener", `a.userJid === "alice@localhost" && a.isSpeaking === true && a.volumeLevel >= 0 && a.volumeLevel <= 10`)
	// And to the speaker herself, from her own microphone's statistics.
	alice.waitEvent("callSpeakingListener", `a.userJid === "alice@localhost" && a.isSpeaking === true`)
	carol.ok(`Parley.endCall()`)
	alice.waitEvent("callUserLeftListener", `a.userJid === "carol@localhost"`)
	if name := eval[string](t, alice.ctx, `Parley.getCallUsername("bob@localhost")`); name != "User bob" {
		t.Fatalf("getCallUsername(bob) = %q", name)
	}
}

// TestSDKSwitchDataAndGuest: a voice call switched to video by request and
// accept, custom data both ways, and a guest joining through getCallLink,
// subscribeCall and joinCall while the two talk.
func TestSDKSwitchDataAndGuest(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob := newGroupUser(t, b, srv.URL, "alice"), newGroupUser(t, b, srv.URL, "bob")
	alice.ok(`Parley.makeVoiceCall(["bob"])`)
	bob.waitEvent("incomingCallListener", `true`)
	bob.ok(`Parley.answerCall()`)
	alice.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === "bob@localhost"`)

	alice.ok(`Parley.requestVideoCallSwitch()`)
	bob.waitEvent("callSwitchListener", `a.status === "request" && a.userJid === "alice@localhost"`)
	bob.ok(`Parley.acceptVideoCallSwitchRequest()`)
	alice.waitEvent("callSwitchListener", `a.status === "accept"`)
	alice.mediaFlows("bob@localhost")
	bob.mediaFlows("alice@localhost")

	for i := 0; i < 5; i++ {
		alice.ok(fmt.Sprintf(`Parley.sendCustomData({n: %d, text: "hello"})`, i))
	}
	bob.ok(`Parley.sendCustomData("pong")`)
	waitJS(t, bob.ctx, `window.ev.filter((e) => e.name === "customDataListener").length === 5`, 10*time.Second)
	order := eval[string](t, bob.ctx, `JSON.stringify(window.ev.filter((e) => e.name === "customDataListener").map((e) => [e.args[0].data.n, e.args[0].from.userJid]))`)
	if order != `[[0,"alice@localhost"],[1,"alice@localhost"],[2,"alice@localhost"],[3,"alice@localhost"],[4,"alice@localhost"]]` {
		t.Fatalf("custom data at bob: %s", order)
	}
	alice.waitEvent("customDataListener", `a.data === "pong" && a.from.userJid === "bob@localhost"`)
	alice.expect(400, `Parley.sendCustomData("x".repeat(70000))`)

	var link string
	_ = json.Unmarshal(alice.ok(`Parley.getCallLink()`).Data, &link)
	guest := newGroupUser(t, b, srv.URL, "")
	eval[bool](t, guest.ctx, `(window.cb = [], true)`)
	env := guest.call(fmt.Sprintf(`Parley.subscribeCall(%q, "Gina", (ok, err) => window.cb.push({ok, err}))`, link))
	if env.StatusCode != 200 || eval[int](t, guest.ctx, `window.cb.length`) != 1 || !eval[bool](t, guest.ctx, `window.cb[0].ok.statusCode === 200 && window.cb[0].err === null`) {
		t.Fatalf("subscribeCall: %+v, callback %s", env, eval[string](t, guest.ctx, `JSON.stringify(window.cb)`))
	}
	guest.waitEvent("callUsersUpdateListener", `a.usersList.length === 2`)
	if name := eval[string](t, guest.ctx, `Parley.getCallUsername("alice@localhost")`); name != "User alice" {
		t.Fatalf("guest getCallUsername(alice) = %q", name)
	}
	eval[bool](t, guest.ctx, `(window.joinP = Parley.joinCall((ok, err) => window.cb.push({ok, err})), true)`)
	guest.waitEvent("callJoinRequestListener", `a.localUser && a.status === "waiting" && a.guest === true`)
	if req := bob.admitKnock(`a.displayName === "Gina"`); req["guest"] != true {
		t.Fatalf("the guest's join request %v", req)
	}
	if env := guest.awaitJoin(); env.StatusCode != 200 || !eval[bool](t, guest.ctx, `window.cb[1].ok.statusCode === 200`) {
		t.Fatalf("joinCall: %+v, callback %s", env, eval[string](t, guest.ctx, `JSON.stringify(window.cb)`))
	}
	alice.waitEvent("callJoinRequestListener", `a.displayName === "Gina" && a.status === "admitted" && a.by === "bob@localhost"`)
	guest.jid = eval[string](t, guest.ctx, `window.ev.find((e) => e.name === "userTrackListener" && e.args[0].localUser).args[0].userJid`)
	alice.waitEvent("callUserJoinedListener", `a.displayName === "Gina" && a.guest === true`)
	alice.waitEvent("callStatusListener", `a.usersStatus.some((u) => u.displayName === "Gina" && u.guest === true) && a.usersStatus.every((u) => u.guest === (u.displayName === "Gina"))`)
	guest.mediaFlows("alice@localhost")
	guest.mediaFlows("bob@localhost")
	alice.mediaFlows(guest.jid)
}

// TestBenchGroupJoin measures how long someone who joins a running call by
// link waits for the others: from joinCall resolving to every other
// participant's first decoded video frame (or, with PARLEY_BENCH_VOICE=1, to
// every other participant's audio track and connected status), over several
// joins of one guest page; the settings are groupBench's (the members are
// the others, the guest's page the one measured). Run with PARLEY_BENCH=1
// (make bench).
func TestBenchGroupJoin(t *testing.T) {
	g := newGroupBench(t, 2)
	srv := startServer(t)
	var m joinMembers
	if g.native {
		m = nativeMembers(t, srv, g.names)
	} else {
		m = browserMembers(t, g.others, srv, g.names, g.voice)
	}
	guest := newGroupUser(t, g.measured, srv.URL, "")
	const runs = 6
	var all []int
	for i := 0; i < runs; i++ {
		eval[bool](t, guest.ctx, `(window.ev = [], window.firstFrame = {}, true)`)
		guest.ok(fmt.Sprintf(`Parley.subscribeCall(%q, "Gina", () => {})`, m.link))
		guest.waitEvent("callUsersUpdateListener", fmt.Sprintf(`a.usersList.length === %d`, len(g.names)))
		eval[bool](t, guest.ctx, `(window.joinP = Parley.joinCall(() => {}).then((env) => (window.joinedAt = Date.now(), env)), true)`)
		m.admit()
		guest.awaitJoin()
		ready := othersReady(t, guest, m.jids, g.voice, eval[int](t, guest.ctx, `window.joinedAt`)) // from the admission on
		t.Logf("join %d: the others ready at +%v ms", i, ready)
		all = append(all, ready[len(ready)-1])
		guest.ok(`Parley.endCall()`)
		m.left()
	}
	sort.Ints(all)
	what, members := g.describe()
	t.Logf("joinCall -> every other participant's %s, one guest joining a %d-person call (members: %s) %d times: median %d ms (min %d, max %d)",
		what, g.parties, members, runs, (all[runs/2-1]+all[runs/2])/2, all[0], all[runs-1])
}

// groupBench is what the group benchmarks read from the environment: a
// voice call or a video one (PARLEY_BENCH_VOICE), the others as pages or as
// native engines (PARLEY_BENCH_NATIVE, voice only), the call's size
// (PARLEY_BENCH_PARTIES, 4 unless set, at most 8), and the browsers of the
// others' pages and of the page measured: one browser, or with
// PARLEY_BENCH_PINNED=1 the measured page's on processor 1 and the others'
// on processor 0, so that the measured page has a processor of its own, as
// on its own machine.
type groupBench struct {
	voice, native    bool
	parties          int
	names            []string // the others'
	others, measured *browser
}

// newGroupBench skips t unless PARLEY_BENCH is set and reads the settings;
// a call has at least minParties people.
func newGroupBench(t *testing.T, minParties int) groupBench {
	t.Helper()
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	g := groupBench{voice: os.Getenv("PARLEY_BENCH_VOICE") != "", native: os.Getenv("PARLEY_BENCH_NATIVE") != ""}
	if g.native && !g.voice {
		t.Fatal("PARLEY_BENCH_NATIVE=1 needs PARLEY_BENCH_VOICE=1: native members send synthetic audio, and video a browser cannot decode")
	}
	g.parties = benchEnvInt(t, "PARLEY_BENCH_PARTIES", 4, minParties, 8)
	g.names = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}[:g.parties-1]
	g.others = newBrowser(t)
	g.measured = g.others
	if os.Getenv("PARLEY_BENCH_PINNED") != "" {
		g.others, g.measured = newPinnedBrowser(t, 0), newPinnedBrowser(t, 1)
	}
	return g
}

// benchEnvInt reads the benchmark setting name, def unless set, lo to hi.
func benchEnvInt(t *testing.T, name string, def, lo, hi int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		t.Fatalf("%s=%q: want %d to %d", name, v, lo, hi)
	}
	return n
}

// describe names what the benchmark waits for and who the others are.
func (g groupBench) describe() (what, others string) {
	what, others = "first decoded video frame", "browser pages"
	if g.voice {
		what = "audio track, and every peer connection connected (voice call)"
	}
	if g.native {
		others = "native engines"
	}
	return what, others
}

// othersReady waits on u's page until each participant in jids is there
// and returns when, in ms after since (the page's Date.now()), sorted: their
// first decoded video frame, or for voice their audio track and then every
// peer connection connected (u's own status: the last one's time).
func othersReady(t *testing.T, u *sdkUser, jids []string, voice bool, since int) []int {
	t.Helper()
	var ready []int
	for _, jid := range jids {
		at := fmt.Sprintf(`window.firstFrame[%q]`, jid)
		if voice {
			at = fmt.Sprintf(`window.ev.find((e) => e.name === "userTrackListener" && e.args[0].userJid === %q && e.args[0].trackType === "audio")?.at`, jid)
		}
		waitJS(t, u.ctx, at, 30*time.Second)
		ready = append(ready, eval[int](t, u.ctx, at)-since)
	}
	if voice {
		conn := `window.ev.find((e) => e.name === "callStatusListener" && e.args[0].localUser && e.args[0].status === "connected")?.at`
		waitJS(t, u.ctx, conn, 30*time.Second)
		ready = append(ready, eval[int](t, u.ctx, conn)-since)
	}
	sort.Ints(ready)
	return ready
}

// joinMembers are the people in the call TestBenchGroupJoin's guest joins.
type joinMembers struct {
	jids []string
	link string
	// admit lets the knocking guest in once the knock has been shown for
	// benchRing, as a person reads the request before admitting; left waits
	// until every member saw the guest leave.
	admit, left func()
}

// browserMembers puts names, each on a page of b, in a call of their own.
func browserMembers(t *testing.T, b *browser, srv *server, names []string, voice bool) joinMembers {
	t.Helper()
	members := make([]*sdkUser, len(names))
	var m joinMembers
	for i, n := range names {
		members[i] = newGroupUser(t, b, srv.URL, n)
		m.jids = append(m.jids, members[i].jid)
	}
	callees, _ := json.Marshal(names[1:])
	if voice {
		members[0].ok(`Parley.makeVoiceCall(` + string(callees) + `, "bench")`)
	} else {
		members[0].ok(`Parley.makeVideoCall(` + string(callees) + `, "bench")`)
	}
	for _, u := range members[1:] {
		u.waitEvent("incomingCallListener", `true`)
		u.ok(`Parley.answerCall()`)
	}
	for _, u := range members[1:] {
		members[0].waitEvent("callStatusListener", fmt.Sprintf(`a.status === "connected" && a.userJid === %q`, u.jid))
	}
	_ = json.Unmarshal(members[0].ok(`Parley.getCallLink()`).Data, &m.link)
	m.admit = func() { members[0].admitKnockAfter(`a.displayName === "Gina"`, benchRing(t)) }
	m.left = func() {
		for _, u := range members {
			u.waitEvent("callUserLeftListener", `a.displayName === "Gina"`)
			eval[bool](t, u.ctx, `(window.ev = [], true)`)
		}
	}
	return m
}

// nativeMembers puts names, each a nativeUser, in a voice call of their own.
func nativeMembers(t *testing.T, srv *server, names []string) joinMembers {
	t.Helper()
	members := make([]*nativeUser, len(names))
	var m joinMembers
	for i, n := range names {
		members[i] = newNativeUser(t, srv, n)
		m.jids = append(m.jids, members[i].jid)
	}
	host := members[0]
	if _, err := host.MakeVoiceCall(nativeCtx(t), m.jids[1:], "bench"); err != nil {
		t.Fatalf("native call: %v", err)
	}
	answerRings(t, members[1:])
	for _, u := range members {
		waitNative(t, u, 0, "every peer connected", func(v event.CallStatus) bool { return v.LocalUser && v.Status == "connected" })
	}
	link, err := host.CallLink(nativeCtx(t))
	if err != nil {
		t.Fatalf("call link: %v", err)
	}
	m.link = link
	marks := make([]int, len(members)) // events before these are of earlier joins
	m.admit = func() {
		req := waitNative(t, host, marks[0], "Gina's knock", func(v event.CallJoinRequest) bool {
			return v.DisplayName == "Gina" && v.Status == event.JoinWaiting
		})
		time.Sleep(benchRing(t)) // a person reads the request first
		if err := host.AdmitUser(nativeCtx(t), req.UserJID); err != nil {
			t.Fatalf("admit Gina: %v", err)
		}
	}
	m.left = func() {
		for i, u := range members {
			waitNative(t, u, marks[i], "Gina leaving", func(v event.CallUserLeft) bool { return v.DisplayName == "Gina" })
			marks[i] = u.mark()
		}
	}
	return m
}

// sentVideoWidths is a JS expression for the width of the camera video the
// page sends on each open peer connection that has encoded any (the shared
// screen's sender encodes none).
const sentVideoWidths = `(async () => {
  const out = [];
  for (const pc of window.pcs) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video" && s.framesEncoded > 0) out.push(s.frameWidth);
    });
  }
  return out.sort().join(",");
})()`

// TestGroupVideoSizedForTheCall: from four people on, the page sends each
// other participant its 640×480 camera at half the size, from a peer made to
// answer a ring and from one made to offer, and its quality report says the
// call's size is why; back to three, it sends full size again. The three others are native engines, so that only one page
// encodes video on the suite's two cores.
func TestGroupVideoSizedForTheCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	zoe := newGroupUser(t, b, srv.URL, "zoe")
	zoe.recordQuality()
	alice, bob, carol := newNativeUser(t, srv, "alice"), newNativeUser(t, srv, "bob"), newNativeUser(t, srv, "carol")
	if _, err := alice.MakeVideoCall(nativeCtx(t), []string{bob.jid, carol.jid, zoe.jid}, "team"); err != nil {
		t.Fatalf("alice calls: %v", err)
	}
	answerRings(t, []*nativeUser{bob, carol})
	zoe.waitEvent("incomingCallListener", `true`)
	zoe.ok(`Parley.answerCall()`) // zoe answers three offers
	waitJS(t, zoe.ctx, sentVideoWidths+`.then((w) => w === "320,320,320")`, 30*time.Second)
	// The quality report says why, so a good line does not read as a weak one.
	zoe.waitQuality(0, alice.jid, `a.quality === "good" && a.sentScale === 2 && a.sentScaleReason === "callSize"`, 30*time.Second)

	mark := zoe.evMark()
	if err := carol.EndCall(nativeCtx(t)); err != nil {
		t.Fatalf("carol leaves: %v", err)
	}
	zoe.statusSince(mark, carol.jid, "disconnected", 30*time.Second)
	waitJS(t, zoe.ctx, sentVideoWidths+`.then((w) => w === "640,640")`, 30*time.Second)

	// carol comes back: zoe, in the call first, offers to her.
	rung := carol.mark()
	zoe.ok(fmt.Sprintf(`Parley.inviteUsers([%q])`, carol.jid))
	waitNative(t, carol, rung, "the invite", func(event.IncomingCall) bool { return true })
	if err := carol.AnswerCall(nativeCtx(t)); err != nil {
		t.Fatalf("carol answers the invite: %v", err)
	}
	waitJS(t, zoe.ctx, sentVideoWidths+`.then((w) => w === "320,320,320")`, 30*time.Second)
}

// refuseHalfSize makes the page's browser refuse the first n video limits
// that halve the size (setParameters rejects them, as a browser may for a
// sender it is reconfiguring) and count them in window.refusedLimits.
func refuseHalfSize(n int) string {
	return `(() => {
  window.refusedLimits = 0;
  const set = RTCRtpSender.prototype.setParameters;
  RTCRtpSender.prototype.setParameters = function (p) {
    const e = p && p.encodings && p.encodings[0];
    if (e && e.scaleResolutionDownBy === 2 && window.refusedLimits < ` + strconv.Itoa(n) + `) {
      window.refusedLimits++;
      return Promise.reject(new DOMException("refused by the test", "InvalidModificationError"));
    }
    return set.apply(this, arguments);
  };
  return true;
})()`
}

// TestGroupVideoCapRefusedIsRetried: when the browser refuses the call's
// cap on the video to two of three others, the engine asks again, and the
// page ends up sending all three the half-size video.
func TestGroupVideoCapRefusedIsRetried(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	zoe := newGroupUser(t, b, srv.URL, "zoe")
	eval[bool](t, zoe.ctx, refuseHalfSize(2))
	alice, bob, carol := newNativeUser(t, srv, "alice"), newNativeUser(t, srv, "bob"), newNativeUser(t, srv, "carol")
	if _, err := alice.MakeVideoCall(nativeCtx(t), []string{bob.jid, carol.jid, zoe.jid}, "team"); err != nil {
		t.Fatalf("alice calls: %v", err)
	}
	answerRings(t, []*nativeUser{bob, carol})
	zoe.waitEvent("incomingCallListener", `true`)
	zoe.ok(`Parley.answerCall()`)
	waitJS(t, zoe.ctx, `window.refusedLimits === 2`, 30*time.Second)
	waitJS(t, zoe.ctx, sentVideoWidths+`.then((w) => w === "320,320,320")`, 30*time.Second)
}
