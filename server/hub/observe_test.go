package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app/wire"
)

// fakeMetrics counts the hub's reports by method and argument.
type fakeMetrics struct {
	mu     sync.Mutex
	counts map[string]int
	setups []time.Duration
}

func newFakeMetrics() *fakeMetrics { return &fakeMetrics{counts: map[string]int{}} }

func (f *fakeMetrics) add(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[key]++
}

func (f *fakeMetrics) get(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[key]
}

func (f *fakeMetrics) SignedIn(kind string)     { f.add("signin:" + kind) }
func (f *fakeMetrics) LoginFailed()             { f.add("loginfailed") }
func (f *fakeMetrics) RateLimited(limit string) { f.add("ratelimited:" + limit) }
func (f *fakeMetrics) CallCreated(kind string)  { f.add("created:" + kind) }
func (f *fakeMetrics) Rang()                    { f.add("rang") }
func (f *fakeMetrics) RingEnded(outcome string) { f.add("outcome:" + outcome) }
func (f *fakeMetrics) CallConnected(d time.Duration) {
	f.mu.Lock()
	f.setups = append(f.setups, d)
	f.mu.Unlock()
	f.add("connected")
}
func (f *fakeMetrics) CallEnded(reason string, answered bool, active time.Duration) {
	f.add("ended:" + reason)
	if answered {
		f.add("ended:answered")
	}
	if active < 0 || (!answered && active != 0) {
		f.add("ended:bad-duration")
	}
}
func (f *fakeMetrics) Relayed(kind string, bytes int) {
	f.add("relayed:" + kind)
	if bytes <= 0 {
		f.add("relayed:empty")
	}
}

func (f *fakeMetrics) ConnectionClosed(reason string) { f.add("closed:" + reason) }

func (f *fakeMetrics) expect(t *testing.T, want map[string]int) {
	t.Helper()
	for k, n := range want {
		if got := f.get(k); got != n {
			t.Errorf("%s = %d, want %d (all: %v)", k, got, n, f.snapshot())
		}
	}
}

func (f *fakeMetrics) snapshot() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.counts)
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records with msg.
func (b *syncBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func TestMetricsAnsweredCall(t *testing.T) {
	m := newFakeMetrics()
	logs := &syncBuffer{}
	e := newEnv(t, Config{Metrics: m, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	alice, bob := e.register("alice"), e.register("bob")
	c := e.dial("mallory")
	c.fails(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "not hers"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	c.fails(wire.TypeAuth, wire.AuthRequest{Token: "forged"}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	c.fails(wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "password-x"}, wire.CodeConflict, wire.ReasonConflict)

	call := create(t, alice, wire.TypeVideo, "bob")
	bob.event(wire.EventIncoming, nil)
	answer(t, bob, call)
	alice.must(wire.TypeCallSignal, offer(call.RoomID, jid("bob")), nil)
	bob.event(wire.EventSignal, nil)
	alice.must(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`{"hi":1}`)}, nil)
	bob.must(wire.TypeCallMedia, wire.MediaRequest{RoomID: call.RoomID, Status: wire.StatusConnected}, nil)
	alice.must(wire.TypeCallMedia, wire.MediaRequest{RoomID: call.RoomID, Status: wire.StatusConnected}, nil) // not a second setup
	st := e.hub.Stats()
	if st.Connections != 3 || st.Sessions != 2 || st.Users != 2 || st.Active != 1 || st.Ringing != 0 || st.Sizes[2] != 1 {
		t.Errorf("stats mid-call %+v", st)
	}
	alice.must(wire.TypeCallEnd, room(call), nil)

	m.expect(t, map[string]int{
		"signin:user": 2, "loginfailed": 2, // a taken username is not a login failure
		"created:call": 1, "rang": 1, "outcome:answered": 1, "connected": 1,
		"relayed:" + wire.EventSignal: 1, "relayed:" + wire.EventData: 1, "relayed:empty": 0,
		"ended:" + EndHangUp: 1, "ended:answered": 1, "ended:bad-duration": 0,
	})
	if st := e.hub.Stats(); st.Active != 0 || len(st.Sizes) != 0 {
		t.Errorf("stats after the call %+v", st)
	}
	// One record per lifecycle event, each with the room.
	for msg, n := range map[string]int{"call created": 1, "call ringing": 1, "call answered": 1, "call connected": 1,
		"call member left": 1, "call ended": 1} {
		recs := logs.records(t, msg)
		if len(recs) != n {
			t.Errorf("%d %q records, want %d", len(recs), msg, n)
		}
		for _, r := range recs {
			if r["room"] != call.RoomID {
				t.Errorf("%q record without the room: %v", msg, r)
			}
		}
	}
	if r := logs.records(t, "call ended"); len(r) == 1 && r[0]["reason"] != EndHangUp {
		t.Errorf("call ended record %v", r[0])
	}
}

func TestMetricsOutcomes(t *testing.T) {
	m := newFakeMetrics()
	e := newEnv(t, Config{Metrics: m, RingTimeout: 400 * time.Millisecond})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")

	// Declined: a 1:1 nobody answered.
	c1 := create(t, alice, wire.TypeAudio, "bob")
	bob.event(wire.EventIncoming, nil)
	bob.must(wire.TypeCallDecline, room(c1), nil)
	// Cancelled: the caller hangs up while bob is rung.
	c2 := create(t, alice, wire.TypeAudio, "bob")
	bob.event(wire.EventIncoming, nil)
	alice.must(wire.TypeCallEnd, room(c2), nil)
	// Missed: nobody answers within the ring timeout.
	c3 := create(t, alice, wire.TypeAudio, "bob")
	bob.event(wire.EventIncoming, nil)
	payload(t, bob, wire.EventMissed, func(ce wire.CallEvent) bool {
		return ce.Call.RoomID == c3.RoomID && ce.Reason == wire.StatusNoAnswer
	})
	alice.update(func(ce wire.CallEvent) bool {
		return ce.Call.RoomID == c3.RoomID && ce.Call.State == wire.CallStateEnded
	})
	// Busy: carol calls bob while he is in a call with dave.
	c4 := create(t, dave, wire.TypeAudio, "bob")
	bob.event(wire.EventIncoming, nil)
	answer(t, bob, c4)
	create(t, carol, wire.TypeAudio, "bob")

	m.expect(t, map[string]int{
		"created:call": 5, "rang": 4, // carol's call to busy bob rings nobody
		"outcome:" + OutcomeDeclined: 1, "outcome:" + OutcomeCancelled: 1, "outcome:" + OutcomeMissed: 1,
		"outcome:" + OutcomeBusy: 1, "outcome:" + OutcomeAnswered: 1,
		"ended:" + EndUnanswered: 3, "ended:" + EndCancelled: 1, "ended:answered": 0, // dave and bob's call goes on
	})

	// A meet call a guest joins by link; the shutdown ends no call (the
	// next process restores them).
	var meet wire.CallResult
	alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeVideo, Open: true}, &meet) // no knock
	if st := e.hub.Stats(); st.Waiting != 1 || st.Active != 1 {
		t.Errorf("stats with a waiting meet call and an active call: %+v", st)
	}
	g := e.dial("guest")
	g.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Visitor"}, nil)
	g.must(wire.TypeLinkJoin, wire.LinkRequest{Link: meet.Call.Link}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	m.expect(t, map[string]int{"created:" + CallKindMeet: 1, "signin:" + SignInGuest: 1, "ended:answered": 0,
		"ended:bad-duration": 0})
}

func TestMetricsResumeAndLimits(t *testing.T) {
	m := newFakeMetrics()
	e := newEnv(t, Config{Metrics: m, RateLimit: 0.001, RateBurst: 3})
	alice := e.register("alice") // 1 request of the burst
	alice.ws.CloseNow()
	<-alice.done
	d := e.dial("alice-again")
	d.must(wire.TypeAuth, wire.AuthRequest{Token: alice.auth.Token, Resume: alice.auth.Session}, nil)
	d.must(wire.TypePing, nil, nil)
	d.must(wire.TypePing, nil, nil)
	d.fails(wire.TypePing, nil, wire.CodeRateLimited, wire.ReasonRateLimited)
	e.hub.guestLim = newIPLimiter(0.001, 1)
	e.dial("g1").must(wire.TypeGuest, wire.GuestRequest{DisplayName: "G"}, nil)
	e.dial("g2").fails(wire.TypeGuest, wire.GuestRequest{DisplayName: "G"}, wire.CodeRateLimited, wire.ReasonRateLimited)
	m.expect(t, map[string]int{"signin:" + SignInUser: 1, "signin:" + SignInResume: 1, "signin:" + SignInGuest: 1,
		"ratelimited:" + LimitRequests: 1, "ratelimited:" + LimitGuests: 1})
}
