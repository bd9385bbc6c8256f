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

// TestBenchGroupAnswer measures how long the last person to pick up a group
// call waits for the others, the two ways a ring reaches them: a group call
// ringing everyone, answered by the others at once and by this person after
// benchRing; and, once they have left, an invite back into the running call
// (inviteUsers), answered after benchRing too. It times answerCall → every
// other participant's first decoded video frame on the answering page (with
// PARLEY_BENCH_VOICE=1: every other participant's audio track, and every
// peer connection connected). PARLEY_BENCH_PARTIES sets the call's size with
// the answering page (4 unless set, at most 8); with PARLEY_BENCH_NATIVE=1
// (voice only) the others are native engines in the test process, so that
// only the answering page is a browser. With PARLEY_BENCH_PINNED=1 the
// answering page is in a browser of its own on processor 1 and the others'
// pages in one on processor 0, so that the answering page has a processor,
// as on its own machine (for voice: with video the others' six encoders
// starve on one processor). PARLEY_BENCH_ROUNDS sets how many calls (6
// unless set), each giving one sample of each. Run with PARLEY_BENCH=1
// (make bench).
func TestBenchGroupAnswer(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	voice := os.Getenv("PARLEY_BENCH_VOICE") != ""
	native := os.Getenv("PARLEY_BENCH_NATIVE") != ""
	if native && !voice {
		t.Fatal("PARLEY_BENCH_NATIVE=1 needs PARLEY_BENCH_VOICE=1: native members send synthetic audio, and video a browser cannot decode")
	}
	parties := benchEnvInt(t, "PARLEY_BENCH_PARTIES", 4, 3, 8)
	rounds := benchEnvInt(t, "PARLEY_BENCH_ROUNDS", 6, 1, 50)
	// Each call rings the last person twice (the call, then the invite).
	srv := startServerWith(t, serverOptions{Args: []string{"-pair-ring-burst", strconv.Itoa(2 * rounds),
		"-rings-per-minute", strconv.Itoa(2 * rounds * parties)}})
	b := newBrowser(t)
	lastB := b
	if os.Getenv("PARLEY_BENCH_PINNED") != "" {
		b, lastB = newPinnedBrowser(t, 0), newPinnedBrowser(t, 1)
	}
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}[:parties-1]
	var m ringMembers
	if native {
		m = newNativeRing(t, srv, names)
	} else {
		m = newPageRing(t, b, srv, names, voice)
	}
	last := newGroupUser(t, lastB, srv.URL, "zoe")
	// answer lets the ring on last's page ring benchRing, answers it and
	// returns when every other participant was there, from the click on
	// (each one's time and, for voice, the connection's last).
	answer := func() []int {
		last.waitEvent("incomingCallListener", `true`)
		time.Sleep(benchRing(t))
		answeredAt := eval[int](t, last.ctx, `(async () => { const t = Date.now(); await Parley.answerCall(); return t; })()`)
		var ready []int
		for _, jid := range m.jids() {
			at := fmt.Sprintf(`window.firstFrame[%q]`, jid)
			if voice {
				at = fmt.Sprintf(`window.ev.find((e) => e.name === "userTrackListener" && e.args[0].userJid === %q && e.args[0].trackType === "audio")?.at`, jid)
			}
			waitJS(t, last.ctx, at, 30*time.Second)
			ready = append(ready, eval[int](t, last.ctx, at)-answeredAt)
		}
		if voice {
			conn := `window.ev.find((e) => e.name === "callStatusListener" && e.args[0].localUser && e.args[0].status === "connected")?.at`
			waitJS(t, last.ctx, conn, 30*time.Second)
			ready = append(ready, eval[int](t, last.ctx, conn)-answeredAt)
		}
		sort.Ints(ready)
		return ready
	}
	leave := func() {
		last.ok(`Parley.endCall()`)
		m.sawLeave(last.jid)
		eval[bool](t, last.ctx, `(window.ev = [], window.firstFrame = {}, true)`)
	}
	var rung, invited []int
	for i := 0; i < rounds; i++ {
		eval[bool](t, last.ctx, `(window.ev = [], window.firstFrame = {}, true)`)
		m.ring(last.jid)
		r := answer()
		leave()
		m.invite(last.jid)
		v := answer()
		t.Logf("call %d: the others there at +%v ms after answering the group ring, at +%v ms after answering the invite", i, r, v)
		rung, invited = append(rung, r[len(r)-1]), append(invited, v[len(v)-1])
		leave()
		m.end()
	}
	what := "first decoded video frame"
	if voice {
		what = "audio track, and every peer connection connected (voice call)"
	}
	members := "browser pages"
	if native {
		members = "native engines"
	}
	for _, s := range []struct {
		how string
		ms  []int
	}{{"the group ring", rung}, {"an invite into the running call", invited}} {
		sort.Ints(s.ms)
		t.Logf("answerCall to %s -> every other participant's %s, the last of a %d-person call (the others: %s), %d calls: median %d ms (min %d, max %d)",
			s.how, what, parties, members, rounds, (s.ms[(rounds-1)/2]+s.ms[rounds/2])/2, s.ms[0], s.ms[rounds-1])
	}
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

// ringMembers are the people TestBenchGroupAnswer's last person calls with.
type ringMembers interface {
	// jids are the members' user JIDs.
	jids() []string
	// ring has the first member call the others and jid, the others
	// answering at once; it returns once they are all connected.
	ring(jid string)
	// invite has the first member invite jid into the running call.
	invite(jid string)
	// sawLeave waits until every member saw jid leave.
	sawLeave(jid string)
	// end has every member leave the call.
	end()
}

// pageRing is ringMembers on pages of one browser.
type pageRing struct {
	t     *testing.T
	users []*sdkUser
	voice bool
}

func newPageRing(t *testing.T, b *browser, srv *server, names []string, voice bool) *pageRing {
	t.Helper()
	r := &pageRing{t: t, voice: voice}
	for _, n := range names {
		r.users = append(r.users, newGroupUser(t, b, srv.URL, n))
	}
	return r
}

func (r *pageRing) jids() []string {
	var j []string
	for _, u := range r.users {
		j = append(j, u.jid)
	}
	return j
}

func (r *pageRing) ring(jid string) {
	host, others := r.users[0], r.users[1:]
	callees, _ := json.Marshal(append(r.jids()[1:], jid))
	how := "makeVideoCall"
	if r.voice {
		how = "makeVoiceCall"
	}
	host.ok(fmt.Sprintf(`Parley.%s(%s, "bench")`, how, callees))
	for _, u := range others {
		u.waitEvent("incomingCallListener", `true`)
		u.ok(`Parley.answerCall()`)
	}
	for _, u := range others {
		host.waitEvent("callStatusListener", fmt.Sprintf(`a.status === "connected" && a.userJid === %q`, u.jid))
	}
}

func (r *pageRing) invite(jid string) {
	r.users[0].ok(fmt.Sprintf(`Parley.inviteUsers([%q])`, jid))
}

func (r *pageRing) sawLeave(jid string) {
	for _, u := range r.users {
		u.waitEvent("callUserLeftListener", fmt.Sprintf(`a.userJid === %q`, jid))
		eval[bool](r.t, u.ctx, `(window.ev = window.ev.filter((e) => e.name !== "callUserLeftListener"), true)`)
	}
}

func (r *pageRing) end() {
	for _, u := range r.users {
		u.call(`Parley.endCall()`) // the last one's call may have ended already
	}
	for _, u := range r.users {
		u.waitEvent("callStatusListener", `a.localUser && a.status === "ended"`)
		eval[bool](r.t, u.ctx, `(window.ev = [], window.firstFrame = {}, true)`)
	}
}

// nativeRing is ringMembers as native engines (nativeUser).
type nativeRing struct {
	t     *testing.T
	users []*nativeUser
	marks []int // events before these are of earlier steps
}

func newNativeRing(t *testing.T, srv *server, names []string) *nativeRing {
	t.Helper()
	r := &nativeRing{t: t, marks: make([]int, len(names))}
	for _, n := range names {
		r.users = append(r.users, newNativeUser(t, srv, n))
	}
	return r
}

func (r *nativeRing) jids() []string {
	var j []string
	for _, u := range r.users {
		j = append(j, u.jid)
	}
	return j
}

func (r *nativeRing) ring(jid string) {
	if _, err := r.users[0].MakeVoiceCall(nativeCtx(r.t), append(r.jids()[1:], jid), "bench"); err != nil {
		r.t.Fatalf("native group call: %v", err)
	}
	for i, u := range r.users[1:] {
		waitNative(r.t, u, r.marks[i+1], "the ring", func(event.IncomingCall) bool { return true })
		if err := u.AnswerCall(nativeCtx(r.t)); err != nil {
			r.t.Fatalf("%s answers: %v", u.jid, err)
		}
	}
	for i, u := range r.users {
		waitNative(r.t, u, r.marks[i], "the others connected", func(v event.CallStatus) bool { return v.LocalUser && v.Status == "connected" })
	}
}

func (r *nativeRing) invite(jid string) {
	if err := r.users[0].InviteUsers(nativeCtx(r.t), []string{jid}); err != nil {
		r.t.Fatalf("invite %s: %v", jid, err)
	}
}

func (r *nativeRing) sawLeave(jid string) {
	for i, u := range r.users {
		waitNative(r.t, u, r.marks[i], jid+" leaving", func(v event.CallUserLeft) bool { return v.UserJID == jid })
		r.marks[i] = u.mark()
	}
}

func (r *nativeRing) end() {
	for _, u := range r.users {
		_ = u.EndCall(nativeCtx(r.t)) // the last one's call may have ended already
	}
	for i, u := range r.users {
		waitNative(r.t, u, r.marks[i], "the call's end", func(v event.CallStatus) bool { return v.LocalUser && v.Status == "ended" })
		r.marks[i] = u.mark()
	}
}
