package hub

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/store"
)

// Acts and table rows for admission (admission.go): sharing a one-to-one
// call's link, knocking, admitting, denying and knock timeouts, driven
// against the core like TestCoreStateMachine.

func share(tab string) act {
	return func(w *world, fx *effects) *wire.Error { _, e := w.k.share(fx, tab, w.room); return e }
}

func admit(tab, who string) act {
	return func(w *world, fx *effects) *wire.Error {
		return w.k.decide(fx, tab, wire.AdmitRequest{RoomID: w.room, UserJID: who}, true)
	}
}

func deny(tab, who string) act {
	return func(w *world, fx *effects) *wire.Error {
		return w.k.decide(fx, tab, wire.AdmitRequest{RoomID: w.room, UserJID: who}, false)
	}
}

func openMeet(tab string) act {
	return func(w *world, fx *effects) *wire.Error {
		c, e := w.k.meetCreate(fx, tab, "127.0.0.1", wire.MeetRequest{Type: wire.TypeVideo, Open: true})
		if e == nil {
			w.room, w.cl = c.RoomID, w.k.calls[c.RoomID]
		}
		return e
	}
}

// guestIn signs in a guest tab named tab (its username is tab too).
func guestIn(tab string) act {
	return func(w *world, fx *effects) *wire.Error {
		w.k.addTab(fx, store.User{ID: 1000 + int64(tab[len(tab)-1]), Username: tab, DisplayName: "Gina", Guest: true}, tab)
		return nil
	}
}

func unsubscribeTab(tab string) act {
	return func(w *world, fx *effects) *wire.Error { return w.k.unsubscribeTab(fx, tab) }
}

func TestCoreAdmission(t *testing.T) {
	alice, bob, carol, dave := signIn("alice"), signIn("bob"), signIn("carol"), signIn("dave")
	answered := []act{alice, bob, createCall("alice", wire.TypeAudio, "bob"), answerCall("bob"), carol}
	shared := append(slices.Clone(answered), share("alice"))
	knocking := append(slices.Clone(shared), linkJoin("carol", ""))
	guestKnock := append(slices.Clone(shared), guestIn("gina1"), linkJoin("gina1", ""))
	crowd := slices.Clone(shared)
	for i := range MaxKnocks {
		g := fmt.Sprintf("crowd%d", i)
		crowd = append(crowd, guestIn(g), linkJoin(g, ""))
	}
	crowd = append(crowd, guestIn("late"))
	tests := []struct {
		name   string
		given  []act
		when   act
		want   string
		state  string
		events []string
		code   int
	}{
		// A one-to-one call's link is unknown until shared.
		{"an unshared 1:1 link is refused", answered, linkJoin("carol", ""),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeInvalidLink},
		{"an unshared 1:1 link has no preview", answered, subscribe("carol"),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeInvalidLink},
		{"sharing shows the link to both", answered, share("bob"),
			"alice=connecting bob=connecting", wire.CallStateActive, []string{"alice call.update", "bob call.update"}, 0},
		{"sharing again changes nothing", shared, share("bob"),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, 0},
		{"only members share", answered, share("carol"),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeNotInCall},
		{"a shared link previews", shared, subscribe("carol"),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, 0},
		// Knock, then admit, deny or time out.
		{"a knock reaches every member", shared, linkJoin("carol", ""),
			"alice=connecting bob=connecting", wire.CallStateActive, []string{"alice call.knock", "bob call.knock"}, 0},
		{"knocking twice", knocking, linkJoin("carol", ""),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeConflict},
		{"deny", knocking, deny("alice", "carol"),
			"alice=connecting bob=connecting", wire.CallStateActive,
			[]string{"alice call.knock.resolved:denied", "bob call.knock.resolved:denied", "carol link.admission:denied"}, 0},
		{"the first decision wins", append(slices.Clone(knocking), deny("alice", "carol")), admit("bob", "carol"),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeNotFound},
		{"a knock times out", knocking, fire(timerKnock, "carol"),
			"alice=connecting bob=connecting", wire.CallStateActive,
			[]string{"alice call.knock.resolved:timeout", "bob call.knock.resolved:timeout", "carol link.admission:timeout"}, 0},
		{"the joiner withdraws", knocking, unsubscribeTab("carol"),
			"alice=connecting bob=connecting", wire.CallStateActive,
			[]string{"alice call.knock.resolved:canceled", "bob call.knock.resolved:canceled"}, 0},
		{"the joiner signs out", knocking, removeTab("carol"),
			"alice=connecting bob=connecting", wire.CallStateActive,
			[]string{"alice call.knock.resolved:canceled", "bob call.knock.resolved:canceled"}, 0},
		{"the call ends under a knock", knocking, endCall("bob"),
			"alice=ended bob=disconnected", wire.CallStateEnded,
			[]string{"alice call.update", "alice call.update:ended", "carol link.admission:ended"}, 0},
		{"only members admit", append(slices.Clone(knocking), dave), admit("dave", "carol"),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeNotInCall},
		{"admitting nobody", shared, admit("alice", "carol"),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeNotFound},
		{"a crowd of knocks is capped", crowd, linkJoin("late", ""),
			"alice=connecting bob=connecting", wire.CallStateActive, nil, wire.CodeRateLimited},
		// Guests are marked, and cannot admit.
		{"a guest knocks as a guest", append(slices.Clone(shared), guestIn("gina1")), linkJoin("gina1", ""),
			"alice=connecting bob=connecting", wire.CallStateActive, []string{"alice call.knock", "bob call.knock"}, 0},
		{"an admitted guest is marked", guestKnock, admit("alice", "gina1"),
			"alice=connecting bob=connecting gina1=connecting", wire.CallStateActive,
			[]string{"alice call.knock.resolved:admitted", "alice call.update", "bob call.knock.resolved:admitted", "bob call.update",
				"gina1 call.update", "gina1 link.admission:admitted"}, 0},
		{"a guest cannot admit", append(slices.Clone(guestKnock), admit("alice", "gina1"), linkJoin("carol", "")), admit("gina1", "carol"),
			"alice=connecting bob=connecting gina1=connecting", wire.CallStateActive, nil, wire.CodeForbidden},
		// Meet calls: the creator walks in; others knock unless the link is open.
		{"a meet's creator needs no knock", []act{alice, meet("alice")}, linkJoin("alice", ""),
			"alice=connecting", wire.CallStateActive, []string{"alice call.update"}, 0},
		{"with the host away, a knock waits", []act{alice, bob, meet("alice")}, linkJoin("bob", ""),
			"", wire.CallStateRinging, nil, 0},
		{"the host arriving is shown the knock", []act{alice, bob, meet("alice"), linkJoin("bob", "")}, linkJoin("alice", ""),
			"alice=connecting", wire.CallStateActive, []string{"alice call.knock", "alice call.update"}, 0},
		{"an open meet link needs no knock", []act{alice, bob, openMeet("alice")}, linkJoin("bob", ""),
			"bob=connecting", wire.CallStateActive, []string{"bob call.update"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			for i, a := range tc.given {
				if e := w.step(a); e != nil {
					t.Fatalf("given step %d: %v", i, e)
				}
			}
			before := w.statuses()
			knocks := len(w.cl.knocks)
			e := w.step(tc.when)
			switch {
			case tc.code == 0 && e != nil:
				t.Fatalf("error %v", e)
			case tc.code != 0 && (e == nil || e.Code != tc.code):
				t.Fatalf("error %v, want code %d", e, tc.code)
			case tc.code != 0 && (len(w.fx.events) > 0 || len(w.fx.logs) > 0 || len(w.fx.timers) > 0 ||
				w.statuses() != before || len(w.cl.knocks) != knocks):
				t.Fatalf("a failed request changed something: %v, logs %d, timers %v, statuses %q -> %q, knocks %d -> %d",
					w.events(), len(w.fx.logs), w.fx.timers, before, w.statuses(), knocks, len(w.cl.knocks))
			}
			if got := w.statuses(); got != tc.want {
				t.Errorf("statuses %q, want %q", got, tc.want)
			}
			if w.cl.snap.State != tc.state {
				t.Errorf("call state %q, want %q", w.cl.snap.State, tc.state)
			}
			if got := w.events(); !slices.Equal(got, tc.events) {
				t.Errorf("events\n  %q\nwant\n  %q", got, tc.events)
			}
			for _, p := range w.cl.snap.Participants {
				if g := p.JID == "gina1@localhost"; p.Guest != g {
					t.Errorf("%s guest %v", p.JID, p.Guest)
				}
			}
		})
	}
}

// TestOneToOneLinkHidden: a one-to-one call's link is in no event or reply
// until a member shares it; then it is in the call's snapshots.
func TestOneToOneLinkHidden(t *testing.T) {
	w := newWorld(t)
	for _, a := range []act{signIn("alice"), signIn("bob"), createCall("alice", wire.TypeAudio, "bob")} {
		if e := w.step(a); e != nil {
			t.Fatal(e)
		}
		for _, d := range w.fx.events {
			if strings.Contains(string(d.data), w.cl.link) {
				t.Errorf("%s to %s carries the link: %s", d.typ, d.tab, d.data)
			}
		}
	}
	if w.cl.link == "" || w.cl.snapshot().Link != "" {
		t.Fatalf("link %q, snapshot link %q", w.cl.link, w.cl.snapshot().Link)
	}
	w.step(answerCall("bob"))
	var res wire.ShareResult
	w.step(func(w *world, fx *effects) (e *wire.Error) { res, e = w.k.share(fx, "bob", w.room); return e })
	if res.Link != w.cl.link || w.cl.snapshot().Link != w.cl.link {
		t.Errorf("shared %q, snapshot %q, link %q", res.Link, w.cl.snapshot().Link, w.cl.link)
	}
	// A group call's link is shareable from the start.
	w2 := newWorld(t)
	for _, a := range []act{signIn("alice"), signIn("bob"), signIn("carol"), createCall("alice", wire.TypeAudio, "bob", "carol")} {
		w2.step(a)
	}
	if w2.cl.snapshot().Link == "" {
		t.Errorf("a group call hides its link")
	}
}

// shareLink shares call's link from member c and returns it.
func shareLink(t testing.TB, c *client, call wire.Call) string {
	t.Helper()
	var res wire.ShareResult
	c.must(wire.TypeCallShare, room(call), &res)
	if !linkRE.MatchString(res.Link) {
		t.Fatalf("shared link %q", res.Link)
	}
	return res.Link
}

// joinNow joins by link where no knock is needed and returns the call.
func joinNow(t testing.TB, c *client, req wire.LinkRequest) wire.Call {
	t.Helper()
	var res wire.LinkJoinResult
	c.must(wire.TypeLinkJoin, req, &res)
	if res.Call == nil || res.Waiting {
		t.Fatalf("%s: link.join %+v, want joined at once", c.name, res)
	}
	return *res.Call
}

// knockIn joins by link with a knock that member admits, and returns the
// call as the joiner got it with link.admission.
func knockIn(t testing.TB, joiner, member *client, req wire.LinkRequest) wire.Call {
	t.Helper()
	var res wire.LinkJoinResult
	joiner.must(wire.TypeLinkJoin, req, &res)
	if !res.Waiting || res.RequestID == "" || res.Call != nil {
		t.Fatalf("%s: link.join %+v, want waiting", joiner.name, res)
	}
	kn, _ := payload(t, member, wire.EventKnock, func(k wire.KnockEvent) bool { return k.RequestID == res.RequestID })
	if kn.UserJID != joiner.auth.User.JID || kn.Guest != joiner.auth.User.Guest {
		t.Fatalf("knock %+v from %+v", kn, joiner.auth.User)
	}
	member.must(wire.TypeCallAdmit, wire.AdmitRequest{RoomID: kn.RoomID, UserJID: kn.UserJID}, nil)
	ad, _ := payload(t, joiner, wire.EventAdmission, func(a wire.AdmissionEvent) bool { return a.RequestID == res.RequestID })
	if ad.Outcome != wire.KnockAdmitted || ad.Call == nil {
		t.Fatalf("admission %+v", ad)
	}
	return *ad.Call
}

// TestKnockOverTheWire: a shared 1:1 link, a guest who knocks, a deny, a
// knock again that one member admits while the other sees it resolved,
// media signals to the admitted guest, the guest flag in every snapshot,
// and a knock that times out.
func TestKnockOverTheWire(t *testing.T) {
	e := newEnv(t, Config{KnockTimeout: 600 * time.Millisecond})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(t, alice, wire.TypeVideo, "bob")
	if call.Link != "" {
		t.Fatalf("a 1:1 call shows its link: %q", call.Link)
	}
	in, _ := payload[wire.CallEvent](t, bob, wire.EventIncoming, nil)
	if in.Call.Link != "" {
		t.Fatalf("the callee sees the link %q", in.Call.Link)
	}
	answer(t, bob, call)
	alice.update(statusIs("bob", wire.StatusConnecting))

	g := e.dial("gina")
	var ga wire.AuthResult
	g.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "alice"}, &ga) // named like the caller
	g.auth = ga

	// Guessing or learning the code does not help before it is shared.
	var code string
	e.hub.mu.Lock()
	code = e.hub.core.calls[call.RoomID].link
	e.hub.mu.Unlock()
	g.fails(wire.TypeLinkSubscribe, wire.LinkRequest{Link: code}, wire.CodeInvalidLink, wire.ReasonInvalidLink)
	g.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: code}, wire.CodeInvalidLink, wire.ReasonInvalidLink)

	link := shareLink(t, bob, call)
	if link != code {
		t.Fatalf("shared %q, code %q", link, code)
	}
	if up := alice.update(func(ce wire.CallEvent) bool { return ce.Call.Link != "" }); up.Call.Link != link {
		t.Errorf("alice's snapshot link %q", up.Call.Link)
	}

	// Knock, deny: nothing changes in the call.
	var res wire.LinkJoinResult
	g.must(wire.TypeLinkJoin, wire.LinkRequest{Link: link}, &res)
	if !res.Waiting || res.Call != nil || res.RoomID != call.RoomID {
		t.Fatalf("knock reply %+v", res)
	}
	for _, c := range []*client{alice, bob} {
		kn, _ := payload[wire.KnockEvent](t, c, wire.EventKnock, nil)
		if kn.UserJID != ga.User.JID || !kn.Guest || kn.DisplayName != "alice" || kn.RequestID != res.RequestID {
			t.Errorf("%s: knock %+v", c.name, kn)
		}
	}
	g.fails(wire.TypeCallAdmit, wire.AdmitRequest{RoomID: call.RoomID, UserJID: ga.User.JID}, wire.CodeForbidden, wire.ReasonForbidden)
	alice.must(wire.TypeCallDeny, wire.AdmitRequest{RoomID: call.RoomID, UserJID: ga.User.JID}, nil)
	if ad, _ := payload[wire.AdmissionEvent](t, g, wire.EventAdmission, nil); ad.Outcome != wire.KnockDenied || ad.Call != nil {
		t.Errorf("denied %+v", ad)
	}
	if r, _ := payload[wire.KnockResolvedEvent](t, bob, wire.EventKnockResolved, nil); r.Outcome != wire.KnockDenied || r.By != jid("alice") {
		t.Errorf("bob sees %+v", r)
	}
	bob.fails(wire.TypeCallAdmit, wire.AdmitRequest{RoomID: call.RoomID, UserJID: ga.User.JID}, wire.CodeNotFound, wire.ReasonNotFound)
	alice.quiet(wire.EventUpdate)
	g.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, wire.ReasonForbidden)

	// Knock again: bob admits; the guest is marked everywhere.
	snap := knockIn(t, g, bob, wire.LinkRequest{Link: link})
	if p := participant(t, snap, ga.User.JID); !p.Guest || p.Status != wire.StatusConnecting {
		t.Errorf("the guest in its snapshot %+v", p)
	}
	if r, _ := payload[wire.KnockResolvedEvent](t, alice, wire.EventKnockResolved, func(r wire.KnockResolvedEvent) bool {
		return r.Outcome == wire.KnockAdmitted
	}); r.By != jid("bob") {
		t.Errorf("alice sees %+v", r)
	}
	up := alice.update(statusIs(ga.User.Username, wire.StatusConnecting))
	if p := participant(t, up.Call, ga.User.JID); !p.Guest || participant(t, up.Call, jid("alice")).Guest {
		t.Errorf("guest flags %+v", up.Call.Participants)
	}
	g.must(wire.TypeCallSignal, offer(call.RoomID, "alice"), nil)
	if sig, _ := payload[wire.SignalEvent](t, alice, wire.EventSignal, nil); sig.From != ga.User.JID {
		t.Errorf("signal %+v", sig)
	}

	// A knock nobody answers is refused after the timeout.
	carol := e.register("carol")
	carol.must(wire.TypeLinkJoin, wire.LinkRequest{Link: link}, &res)
	if !res.Waiting {
		t.Fatalf("carol %+v", res)
	}
	if ad, _ := payload[wire.AdmissionEvent](t, carol, wire.EventAdmission, nil); ad.Outcome != wire.KnockTimeout {
		t.Errorf("timeout %+v", ad)
	}
	payload(t, alice, wire.EventKnockResolved, func(r wire.KnockResolvedEvent) bool { return r.Outcome == wire.KnockTimeout })
}

// TestOpenMeetOverTheWire: an open meet link lets people in without a
// knock; a closed one makes them knock even with the host away, and shows
// the knock to the host when they arrive.
func TestOpenMeetOverTheWire(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	var res wire.CallResult
	alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeAudio, Open: true}, &res)
	if !res.Call.Open || res.Call.Link == "" {
		t.Fatalf("open meet %+v", res.Call)
	}
	joinNow(t, bob, wire.LinkRequest{Link: res.Call.Link})
	joinNow(t, carol, wire.LinkRequest{Link: res.Call.Link})
	bob.update(statusIs("carol", wire.StatusConnecting))

	dave, erin := e.register("dave"), e.register("erin")
	dave.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeAudio}, &res)
	var jr wire.LinkJoinResult
	erin.must(wire.TypeLinkJoin, wire.LinkRequest{Link: res.Call.Link}, &jr)
	if !jr.Waiting {
		t.Fatalf("closed meet %+v", jr)
	}
	joinNow(t, dave, wire.LinkRequest{Link: res.Call.Link})
	kn, _ := payload[wire.KnockEvent](t, dave, wire.EventKnock, nil)
	dave.must(wire.TypeCallAdmit, wire.AdmitRequest{RoomID: kn.RoomID, UserJID: "erin"}, nil)
	payload(t, erin, wire.EventAdmission, func(a wire.AdmissionEvent) bool { return a.Outcome == wire.KnockAdmitted })
	dave.update(statusIs("erin", wire.StatusConnecting))
}

// BenchmarkKnockDeny measures one knock round trip over real WebSockets: a
// guest's link.join, the member's call.knock, the member's call.deny and the
// guest's link.admission. The call is unchanged after each round.
func BenchmarkKnockDeny(b *testing.B) {
	e := newEnv(b, Config{RateLimit: 1e9, RateBurst: 1 << 30})
	e.hub.linkLim = newIPLimiter(1e9, 1<<30)
	alice, bob := e.register("alice"), e.register("bob")
	call := create(b, alice, wire.TypeAudio, "bob")
	answer(b, bob, call)
	link := shareLink(b, alice, call)
	g := e.dial("guest")
	var ga wire.AuthResult
	g.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Gina"}, &ga)
	deny := wire.AdmitRequest{RoomID: call.RoomID, UserJID: ga.User.JID}
	b.ResetTimer()
	for range b.N {
		var res wire.LinkJoinResult
		g.must(wire.TypeLinkJoin, wire.LinkRequest{Link: link}, &res)
		payload(b, alice, wire.EventKnock, func(k wire.KnockEvent) bool { return k.RequestID == res.RequestID })
		alice.must(wire.TypeCallDeny, deny, nil)
		payload(b, g, wire.EventAdmission, func(a wire.AdmissionEvent) bool { return a.RequestID == res.RequestID })
	}
}
