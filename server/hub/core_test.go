package hub

import (
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/store"
)

// These tests drive the call core directly, without WebSockets: each row of
// TestCoreStateMachine is a row of the state machine in
// app/wire/PROTOCOL.md (a starting state, one request, and the participant
// statuses, call state, events and error that must follow).

// world is a core with a fake transport: it keeps the timers the core asked
// for, so a test can fire them, and the effects of the last step.
type world struct {
	t      testing.TB
	k      *core
	now    int64
	room   string // the call the scenario is about
	cl     *call  // that call, also after it ended
	timers map[timerKey]timer
	fx     *effects // effects of the last step
}

func newWorld(t testing.TB) *world {
	w := &world{t: t, now: 1_000_000, timers: make(map[timerKey]timer)}
	w.k = newCore(coreConfig{
		Domain: "localhost", MaxParticipants: 4, RingTimeout: 30 * time.Second,
		SwitchTimeout: 20 * time.Second, MeetIdleTimeout: time.Hour, KnockTimeout: time.Minute,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.k.now = func() int64 { return w.now }
	return w
}

// account is the store account of user name ("bob" for tabs "bob" and "bob2").
func account(name string) store.User {
	name = strings.TrimRight(name, "0123456789")
	return store.User{ID: int64(name[0]), Username: name, DisplayName: name}
}

// act is one request to the core.
type act func(w *world, fx *effects) *wire.Error

// step applies a, keeping the timers it starts and stops.
func (w *world) step(a act) *wire.Error {
	w.now += 1000
	fx := &effects{}
	e := a(w, fx)
	for _, tm := range fx.timers {
		if tm.after > 0 {
			w.timers[tm.key] = tm
		} else {
			delete(w.timers, tm.key)
		}
	}
	w.fx = fx
	// What a restart would restore must match the live state (restore.go).
	w.k.drainLive()
	if err := w.k.checkSaved(); err != nil {
		w.t.Error(err)
	}
	return e
}

func signIn(tab string) act {
	return func(w *world, fx *effects) *wire.Error { w.k.addTab(fx, account(tab), tab); return nil }
}

func drop(tab string) act {
	return func(w *world, fx *effects) *wire.Error { w.k.dropTab(fx, tab); return nil }
}

func resume(tab string) act {
	return func(w *world, fx *effects) *wire.Error { w.k.resumeTab(fx, tab); return nil }
}

func removeTab(tab string) act {
	return func(w *world, fx *effects) *wire.Error { w.k.removeTab(fx, tab); return nil }
}

func createCall(tab, typ string, to ...string) act {
	return func(w *world, fx *effects) *wire.Error {
		var callees []store.User
		for _, n := range to {
			callees = append(callees, account(n))
		}
		c, e := w.k.create(fx, tab, wire.CallCreateRequest{To: to, Type: typ}, callees, nil, nil)
		if e == nil {
			w.room, w.cl = c.RoomID, w.k.calls[c.RoomID]
			if w.cl == nil { // it ended at once
				w.cl = &call{snap: c}
			}
		}
		return e
	}
}

func meet(tab string) act {
	return func(w *world, fx *effects) *wire.Error {
		c, e := w.k.meetCreate(fx, tab, "127.0.0.1", wire.MeetRequest{Type: wire.TypeVideo})
		if e == nil {
			w.room, w.cl = c.RoomID, w.k.calls[c.RoomID]
		}
		return e
	}
}

func answerCall(tab string) act {
	return func(w *world, fx *effects) *wire.Error {
		_, e := w.k.answer(fx, tab, wire.AnswerRequest{RoomID: w.room})
		return e
	}
}

func declineCall(tab string) act {
	return func(w *world, fx *effects) *wire.Error { return w.k.declineCall(fx, tab, w.room) }
}

func endCall(tab string) act {
	return func(w *world, fx *effects) *wire.Error { return w.k.end(fx, tab, w.room) }
}

func media(tab, status string) act {
	return func(w *world, fx *effects) *wire.Error {
		return w.k.media(fx, tab, wire.MediaRequest{RoomID: w.room, Status: status})
	}
}

func muteAudio(tab string) act {
	return func(w *world, fx *effects) *wire.Error {
		return w.k.mute(fx, tab, wire.MuteRequest{RoomID: w.room, Audio: new(true)})
	}
}

func inviteUsers(tab string, to ...string) act {
	return func(w *world, fx *effects) *wire.Error {
		var accounts []store.User
		for _, n := range to {
			accounts = append(accounts, account(n))
		}
		return w.k.invite(fx, tab, w.room, accounts, nil, nil)
	}
}

func linkJoin(tab, name string) act {
	return func(w *world, fx *effects) *wire.Error { _, e := w.k.linkJoin(fx, tab, w.cl.link, name); return e }
}

func subscribe(tab string) act {
	return func(w *world, fx *effects) *wire.Error { _, e := w.k.subscribe(tab, w.cl.link, ""); return e }
}

func switchTo(tab, action string) act {
	return func(w *world, fx *effects) *wire.Error {
		return w.k.switchStep(fx, tab, wire.SwitchRequestPayload{RoomID: w.room, Action: action})
	}
}

// focus makes the call tab's user has a part in the one the scenario is about.
func focus(tab string) act {
	return func(w *world, fx *effects) *wire.Error {
		for cl := range w.k.users[tab].parts {
			w.room, w.cl = cl.snap.RoomID, cl
		}
		return nil
	}
}

// fire fires the running timer of kind (for user, for a ring) in the call.
func fire(kind timerKind, user string) act {
	return func(w *world, fx *effects) *wire.Error {
		tm, ok := w.timers[timerKey{kind, w.room, user}]
		if !ok {
			w.t.Fatalf("no %v timer for %q running; running: %v", kind, user, w.timers)
		}
		delete(w.timers, tm.key)
		w.k.fire(fx, tm)
		return nil
	}
}

// statuses sums up the call's participants: "alice=connecting bob=ringing".
func (w *world) statuses() string {
	var s []string
	for _, p := range w.cl.snap.Participants {
		s = append(s, strings.TrimSuffix(p.JID, "@localhost")+"="+p.Status)
	}
	return strings.Join(s, " ")
}

// events sums up the last step's events, sorted: "bob call.dismissed:canceled".
func (w *world) events() []string {
	var out []string
	for _, d := range w.fx.events {
		var x struct{ Reason, Action, Outcome string }
		if err := json.Unmarshal(d.data, &x); err != nil {
			w.t.Fatalf("event %s: %v", d.data, err)
		}
		s := d.tab + " " + d.typ
		if x.Reason != "" {
			s += ":" + x.Reason
		}
		if x.Action != "" {
			s += ":" + x.Action
		}
		if x.Outcome != "" {
			s += ":" + x.Outcome
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestCoreStateMachine(t *testing.T) {
	alice, bob, carol := signIn("alice"), signIn("bob"), signIn("carol")
	oneToOne := []act{alice, bob, createCall("alice", wire.TypeAudio, "bob")}
	answered := append(slices.Clone(oneToOne), answerCall("bob"))
	group := []act{alice, bob, carol, createCall("alice", wire.TypeAudio, "bob", "carol"), answerCall("bob")}
	tests := []struct {
		name   string
		given  []act
		when   act
		want   string // participant statuses after the request
		state  string // call state after the request
		events []string
		code   int // the error code, 0 for success
	}{
		// callee: calling ──(a tab comes online)──▶ ringing
		{"callee offline is calling", []act{alice}, createCall("alice", wire.TypeAudio, "bob"),
			"alice=connecting bob=calling", wire.CallStateRinging, []string{"alice call.update"}, 0},
		{"calling callee signs in: ringing", []act{alice, createCall("alice", wire.TypeAudio, "bob")}, signIn("bob"),
			"alice=connecting bob=ringing", wire.CallStateRinging, []string{"alice call.update", "bob call.incoming"}, 0},
		{"callee online is ringing", []act{alice, bob, signIn("bob2")}, createCall("alice", wire.TypeAudio, "bob"),
			"alice=connecting bob=ringing", wire.CallStateRinging, []string{"alice call.update", "bob call.incoming", "bob2 call.incoming"}, 0},
		// calling/ringing ──answer──▶ connecting
		{"answer", append([]act{signIn("bob2")}, oneToOne...), answerCall("bob"),
			"alice=connecting bob=connecting", wire.CallStateActive,
			[]string{"alice call.update", "bob call.update", "bob2 call.dismissed:answered_elsewhere"}, 0},
		{"answer when not pending", answered, answerCall("bob"), "alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeConflict},
		{"answer without a part", append(slices.Clone(oneToOne), carol), answerCall("carol"), "alice=connecting bob=ringing", wire.CallStateRinging, nil, wire.CodeNotFound},
		{"answer while joined elsewhere", append(slices.Clone(oneToOne), carol, signIn("dave"), createCall("carol", wire.TypeAudio, "bob", "dave"), answerCall("bob"), focus("alice")),
			answerCall("bob"), "alice=connecting bob=ringing", wire.CallStateRinging, nil, wire.CodeConflict},
		// connecting ──media──▶ connected ⇄ reconnecting
		{"media connected", answered, media("bob", wire.StatusConnected),
			"alice=connecting bob=connected", wire.CallStateActive, []string{"alice call.update", "bob call.update"}, 0},
		{"media reconnecting", append(slices.Clone(answered), media("bob", wire.StatusConnected)), media("bob", wire.StatusReconnecting),
			"alice=connecting bob=reconnecting", wire.CallStateActive, []string{"alice call.update", "bob call.update"}, 0},
		{"media from a pending callee", oneToOne, media("bob", wire.StatusConnected), "alice=connecting bob=ringing", wire.CallStateRinging, nil, wire.CodeForbidden},
		{"mute is broadcast", answered, muteAudio("alice"), "alice=connecting bob=connecting", wire.CallStateActive, []string{"alice call.update", "bob call.update"}, 0},
		// calling/ringing ──decline / end──▶ declined, then the end rule
		{"decline ends a 1:1 call", append([]act{signIn("bob2")}, oneToOne...), declineCall("bob"),
			"alice=ended bob=declined", wire.CallStateEnded,
			[]string{"alice call.update", "alice call.update:ended", "bob2 call.dismissed:declined_elsewhere"}, 0},
		{"a pending callee's end is a decline", oneToOne, endCall("bob"),
			"alice=ended bob=declined", wire.CallStateEnded, []string{"alice call.update", "alice call.update:ended"}, 0},
		{"decline in a group call that goes on", group, declineCall("carol"),
			"alice=connecting bob=connecting carol=declined", wire.CallStateActive, []string{"alice call.update", "bob call.update"}, 0},
		{"decline when joined", answered, declineCall("bob"), "alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeConflict},
		// calling/ringing ──ring timeout──▶ noanswer
		{"ring timeout ends a 1:1 call", oneToOne, fire(timerRing, "bob"),
			"alice=ended bob=noanswer", wire.CallStateEnded,
			[]string{"alice call.update", "alice call.update:ended", "bob call.dismissed:timeout", "bob call.missed:noanswer"}, 0},
		{"ring timeout in a group call", group, fire(timerRing, "carol"),
			"alice=connecting bob=connecting carol=noanswer", wire.CallStateActive,
			[]string{"alice call.update", "bob call.update", "carol call.dismissed:timeout", "carol call.missed:noanswer"}, 0},
		// (at create, joined elsewhere) ──▶ engaged
		{"engaged ends a 1:1 call at once", []act{alice, bob, carol, createCall("carol", wire.TypeAudio, "bob"), answerCall("bob")},
			createCall("alice", wire.TypeAudio, "bob"), "alice=ended bob=engaged", wire.CallStateEnded, []string{"alice call.update:ended"}, 0},
		{"a caller in a call cannot create", answered, createCall("bob", wire.TypeAudio, "carol"), "alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeConflict},
		// link.join: calling/ringing ──▶ connecting; (new user) ──▶ connecting
		{"a ringing callee joins by link", append([]act{signIn("bob2")}, append(slices.Clone(oneToOne), share("alice"))...), linkJoin("bob", ""),
			"alice=connecting bob=connecting", wire.CallStateActive,
			[]string{"alice call.update", "bob call.update", "bob2 call.dismissed:answered_elsewhere"}, 0},
		{"a new user knocks by link", append(slices.Clone(answered), carol, share("alice")), linkJoin("carol", ""),
			"alice=connecting bob=connecting", wire.CallStateActive,
			[]string{"alice call.knock", "bob call.knock"}, 0},
		{"an admitted knock joins", append(slices.Clone(answered), carol, share("alice"), linkJoin("carol", "")), admit("bob", "carol"),
			"alice=connecting bob=connecting carol=connecting", wire.CallStateActive,
			[]string{"alice call.knock.resolved:admitted", "alice call.update", "bob call.knock.resolved:admitted", "bob call.update",
				"carol call.update", "carol link.admission:admitted"}, 0},
		{"link join when joined", append(slices.Clone(answered), share("alice")), linkJoin("bob", ""), "alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeConflict},
		{"link join of a full call", append(slices.Clone(group), signIn("dave"), linkJoin("dave", ""), admit("alice", "dave"), signIn("erin")), linkJoin("erin", ""),
			"alice=connecting bob=connecting carol=ringing dave=connecting", wire.CallStateActive, nil, wire.CodeCallFull},
		// declined/noanswer/engaged/disconnected ──link.join──▶ connecting
		{"a decliner comes back by link", append(slices.Clone(group), declineCall("carol"), linkJoin("carol", "")), admit("alice", "carol"),
			"alice=connecting bob=connecting carol=connecting", wire.CallStateActive,
			[]string{"alice call.knock.resolved:admitted", "alice call.update", "bob call.knock.resolved:admitted", "bob call.update",
				"carol call.update", "carol link.admission:admitted"}, 0},
		// declined/… ──call.invite──▶ calling/ringing; (new user) ──call.invite──▶ calling/ringing/engaged
		{"a decliner is invited again", append(slices.Clone(group), declineCall("carol")), inviteUsers("alice", "carol"),
			"alice=connecting bob=connecting carol=ringing", wire.CallStateActive,
			[]string{"alice call.update", "bob call.invited", "bob call.update", "carol call.incoming"}, 0},
		{"an online user is invited: ringing", append(slices.Clone(answered), carol), inviteUsers("alice", "carol"),
			"alice=connecting bob=connecting carol=ringing", wire.CallStateActive,
			[]string{"alice call.update", "bob call.invited", "bob call.update", "carol call.incoming"}, 0},
		{"an offline user is invited: calling", answered, inviteUsers("alice", "carol"),
			"alice=connecting bob=connecting carol=calling", wire.CallStateActive,
			[]string{"alice call.update", "bob call.invited", "bob call.update"}, 0},
		{"a user in another call is invited: engaged", append(slices.Clone(answered), carol, signIn("dave"), createCall("carol", wire.TypeAudio, "dave"), answerCall("dave"),
			focus("alice")),
			inviteUsers("alice", "carol"),
			"alice=connecting bob=connecting carol=engaged", wire.CallStateActive,
			[]string{"alice call.update", "bob call.invited", "bob call.update"}, 0},
		{"invite from a pending callee", group, inviteUsers("carol", "dave"), "alice=connecting bob=connecting carol=ringing", wire.CallStateActive, nil, wire.CodeNotInCall},
		{"invite over the limit", group, inviteUsers("alice", "dave", "erin"), "alice=connecting bob=connecting carol=ringing", wire.CallStateActive, nil, wire.CodeCallFull},
		// any joined ──end / logout / grace expired──▶ disconnected, then the end rule
		{"leaving a 1:1 call ends it", answered, endCall("bob"),
			"alice=ended bob=disconnected", wire.CallStateEnded, []string{"alice call.update", "alice call.update:ended"}, 0},
		{"leaving a group call of three", append(slices.Clone(group), answerCall("carol")), endCall("bob"),
			"alice=connecting bob=disconnected carol=connecting", wire.CallStateActive, []string{"alice call.update", "carol call.update"}, 0},
		{"end from another tab", append([]act{signIn("bob2")}, answered...), endCall("bob2"), "alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeForbidden},
		{"end after leaving", append(slices.Clone(group), answerCall("carol"), endCall("bob")), endCall("bob"),
			"alice=connecting bob=disconnected carol=connecting", wire.CallStateActive, nil, wire.CodeConflict},
		{"removing a tab (logout, grace expired) leaves", append(slices.Clone(group), answerCall("carol")), removeTab("bob"),
			"alice=connecting bob=disconnected carol=connecting", wire.CallStateActive, []string{"alice call.update", "carol call.update"}, 0},
		// the initiator leaving before anyone answered cancels, also a group call
		{"cancel", []act{alice, bob, carol, createCall("alice", wire.TypeAudio, "bob", "carol")}, endCall("alice"),
			"alice=disconnected bob=ended carol=ended", wire.CallStateEnded,
			[]string{"bob call.dismissed:canceled", "bob call.missed:ended", "carol call.dismissed:canceled", "carol call.missed:ended"}, 0},
		// any joined or pending ──call ends──▶ ended
		{"one joined and one pending go on", group, endCall("bob"),
			"alice=connecting bob=disconnected carol=ringing", wire.CallStateActive, []string{"alice call.update"}, 0},
		{"the call ends under a pending callee", append(slices.Clone(group), endCall("bob")), endCall("alice"),
			"alice=disconnected bob=disconnected carol=ended", wire.CallStateEnded,
			[]string{"carol call.dismissed:canceled", "carol call.missed:ended"}, 0},
		{"a request to an ended call", append(slices.Clone(answered), endCall("bob")), answerCall("bob"), "alice=ended bob=disconnected", wire.CallStateEnded, nil, wire.CodeCallEnded},
		// socket drop: joined ──▶ reconnecting ──resume──▶ previous status
		{"drop", append(slices.Clone(answered), media("bob", wire.StatusConnected)), drop("bob"),
			"alice=connecting bob=reconnecting", wire.CallStateActive, []string{"alice call.update", "bob call.update"}, 0},
		{"resume", append(slices.Clone(answered), media("bob", wire.StatusConnected), drop("bob")), resume("bob"),
			"alice=connecting bob=connected", wire.CallStateActive, []string{"alice call.update", "bob call.update"}, 0},
		// link previews follow the joined set
		{"a subscriber sees a join", append(slices.Clone(group), signIn("dave"), subscribe("dave")), answerCall("carol"),
			"alice=connecting bob=connecting carol=connecting", wire.CallStateActive,
			[]string{"alice call.update", "bob call.update", "carol call.update", "dave link.users"}, 0},
		{"a subscriber sees the end", append(slices.Clone(answered), carol, share("bob"), subscribe("carol")), endCall("bob"),
			"alice=ended bob=disconnected", wire.CallStateEnded,
			[]string{"alice call.update", "alice call.update:ended", "carol link.users", "carol link.users"}, 0},
		// video switch
		{"switch request", answered, switchTo("alice", wire.SwitchRequest),
			"alice=connecting bob=connecting", wire.CallStateActive, []string{"bob call.switch:request"}, 0},
		{"switch accept", append(slices.Clone(answered), switchTo("alice", wire.SwitchRequest)), switchTo("bob", wire.SwitchAccept),
			"alice=connecting bob=connecting", wire.CallStateActive, []string{"alice call.switch:accept", "alice call.update", "bob call.update"}, 0},
		{"switch timeout", append(slices.Clone(answered), switchTo("alice", wire.SwitchRequest)), fire(timerSwitch, ""),
			"alice=connecting bob=connecting", wire.CallStateActive, []string{"alice call.switch:timeout", "bob call.switch:timeout"}, 0},
		{"an invite times a switch out", append(slices.Clone(answered), switchTo("alice", wire.SwitchRequest)), inviteUsers("alice", "carol"),
			"alice=connecting bob=connecting carol=calling", wire.CallStateActive,
			[]string{"alice call.switch:timeout", "alice call.update", "bob call.invited", "bob call.switch:timeout", "bob call.update"}, 0},
		{"switch out of turn", append(slices.Clone(answered), switchTo("alice", wire.SwitchRequest)), switchTo("alice", wire.SwitchAccept),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeConflict},
		{"switch in a group call", append(slices.Clone(group), answerCall("carol")), switchTo("alice", wire.SwitchRequest),
			"alice=connecting bob=connecting carol=connecting", wire.CallStateActive, nil, wire.CodeForbidden},
		// meet calls
		{"meet: one person alone keeps it open", []act{alice, meet("alice")}, linkJoin("alice", ""),
			"alice=connecting", wire.CallStateActive, []string{"alice call.update"}, 0},
		{"meet: the last one leaving ends it", []act{alice, meet("alice"), linkJoin("alice", "")}, endCall("alice"),
			"alice=disconnected", wire.CallStateEnded, nil, 0},
		{"meet: idle timeout", []act{alice, meet("alice")}, fire(timerIdle, ""),
			"", wire.CallStateEnded, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			for i, a := range tc.given {
				if e := w.step(a); e != nil {
					t.Fatalf("given step %d: %v", i, e)
				}
			}
			before := ""
			if w.cl != nil {
				before = w.statuses()
			}
			e := w.step(tc.when)
			switch {
			case tc.code == 0 && e != nil:
				t.Fatalf("error %v", e)
			case tc.code != 0 && (e == nil || e.Code != tc.code):
				t.Fatalf("error %v, want code %d", e, tc.code)
			case tc.code != 0 && (len(w.fx.events) > 0 || len(w.fx.logs) > 0 || len(w.fx.timers) > 0 || w.statuses() != before):
				t.Fatalf("a failed request changed something: %v, logs %d, timers %v, statuses %q -> %q",
					w.events(), len(w.fx.logs), w.fx.timers, before, w.statuses())
			}
			if got := w.statuses(); got != tc.want {
				t.Errorf("statuses %q, want %q", got, tc.want)
			}
			if w.cl.snap.State != tc.state {
				t.Errorf("call state %q, want %q", w.cl.snap.State, tc.state)
			}
			if tc.state == wire.CallStateEnded {
				for key := range w.timers {
					if key.room == w.room {
						t.Errorf("timer %+v still runs after the call ended", key)
					}
				}
			}
			if got := w.events(); !slices.Equal(got, tc.events) {
				t.Errorf("events\n  %q\nwant\n  %q", got, tc.events)
			}
		})
	}
}
