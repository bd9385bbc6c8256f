package e2e

import (
	"encoding/json"
	"fmt"
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
// peer connection connected). The settings are groupBench's, the answering
// page the one measured (PARLEY_BENCH_PINNED=1 for voice: with video the
// others' six encoders starve on one processor); PARLEY_BENCH_ROUNDS sets
// how many calls (6 unless set), each giving one sample of each. Run with
// PARLEY_BENCH=1 (make bench).
func TestBenchGroupAnswer(t *testing.T) {
	g := newGroupBench(t, 3)
	rounds := benchEnvInt(t, "PARLEY_BENCH_ROUNDS", 6, 1, 50)
	// Each call rings the last person twice (the call, then the invite).
	srv := startServerWith(t, serverOptions{Args: []string{"-pair-ring-burst", strconv.Itoa(2 * rounds),
		"-rings-per-minute", strconv.Itoa(2 * rounds * g.parties)}})
	var m ringMembers
	if g.native {
		m = newNativeRing(t, srv, g.names)
	} else {
		m = newPageRing(t, g.others, srv, g.names, g.voice)
	}
	last := newGroupUser(t, g.measured, srv.URL, "zoe")
	// answer lets the ring on last's page ring benchRing, answers it and
	// returns when every other participant was there, from the click on
	// (each one's time and, for voice, the connection's last).
	answer := func() []int {
		last.waitEvent("incomingCallListener", `true`)
		time.Sleep(benchRing(t))
		answeredAt := eval[int](t, last.ctx, `(async () => { const t = Date.now(); await Parley.answerCall(); return t; })()`)
		return othersReady(t, last, m.jids(), g.voice, answeredAt)
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
	what, others := g.describe()
	for _, s := range []struct {
		how string
		ms  []int
	}{{"the group ring", rung}, {"an invite into the running call", invited}} {
		sort.Ints(s.ms)
		t.Logf("answerCall to %s -> every other participant's %s, the last of a %d-person call (the others: %s), %d calls: median %d ms (min %d, max %d)",
			s.how, what, g.parties, others, rounds, (s.ms[(rounds-1)/2]+s.ms[rounds/2])/2, s.ms[0], s.ms[rounds-1])
	}
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
