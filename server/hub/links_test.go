package hub

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/app/wire"
)

// TestGuestByLink: a guest previews a call, sees people join and leave,
// joins, relays media signals, and a second subscriber sees the end.
func TestGuestByLink(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")

	// Guest creation.
	for _, name := range []string{"", "   ", strings.Repeat("x", 65), "a\tb"} {
		c := e.dial("bad-guest")
		c.fails(wire.TypeGuest, wire.GuestRequest{DisplayName: name}, wire.CodeBadRequest, "bad_request")
	}
	g := e.dial("guest")
	var ga wire.AuthResult
	g.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "  Visitor  "}, &ga)
	if !ga.User.Guest || !strings.HasPrefix(ga.User.Username, "guest-") || ga.User.DisplayName != "Visitor" ||
		ga.User.JID != ga.User.Username+"@localhost" || ga.Token == "" {
		t.Fatalf("guest %+v", ga)
	}
	gj := ga.User.JID
	g.fails(wire.TypeGuest, wire.GuestRequest{DisplayName: "again"}, wire.CodeConflict, wire.ReasonConflict)
	for _, typ := range []string{wire.TypeCallCreate, wire.TypeCallInvite, wire.TypeMeetCreate, wire.TypeCallLogs} {
		g.fails(typ, wire.CallCreateRequest{To: []string{"alice"}, Type: wire.TypeAudio}, wire.CodeForbidden, wire.ReasonForbidden)
	}
	// A guest cannot be called by name, nor log in with a password.
	alice.fails(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{gj}, Type: wire.TypeAudio}, wire.CodeForbidden, wire.ReasonForbidden)
	e.dial("x").fails(wire.TypeLogin, wire.LoginRequest{Username: ga.User.Username, Password: ""}, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	// Its token signs in another tab as the guest.
	g2 := e.tab(&client{auth: ga}, "guest-2")
	if !g2.auth.User.Guest || g2.auth.User.JID != gj {
		t.Errorf("guest auth %+v", g2.auth)
	}

	call := create(t, alice, wire.TypeAudio, "bob")
	answer(t, bob, call)
	alice.update(statusIs("bob", wire.StatusConnecting))
	call.Link = shareLink(t, alice, call)

	var pv wire.LinkPreview
	g.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: "https://parley.example/join/" + call.Link}, &pv)
	if pv.RoomID != call.RoomID || pv.Type != wire.TypeAudio || !slices.Equal(joinedJIDs(pv.Users), jids("alice", "bob")) {
		t.Fatalf("preview %+v", pv)
	}
	watcher := e.dial("watcher")
	watcher.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Watcher"}, nil)
	watcher.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link}, nil)

	// A status change and a join are previewed; a mute is not.
	alice.must(wire.TypeCallMute, wire.MuteRequest{RoomID: call.RoomID, Audio: new(true)}, nil)
	alice.must(wire.TypeCallMedia, wire.MediaRequest{RoomID: call.RoomID, Status: wire.StatusConnected}, nil)
	pv, _ = payload[wire.LinkPreview](t, g, wire.EventUsers, nil)
	if len(pv.Users) != 2 || statusOf(wire.Call{Participants: pv.Users}, jid("alice")) != wire.StatusConnected {
		t.Errorf("users after media %+v", pv)
	}
	var cr wire.CallResult
	cr.Call = knockIn(t, carol, alice, wire.LinkRequest{Link: call.Link})
	if cr.Call.Mode != wire.ModeOneToMany || statusOf(cr.Call, jid("carol")) != wire.StatusConnecting {
		t.Errorf("carol joined %+v", cr.Call)
	}
	pv, _ = payload[wire.LinkPreview](t, g, wire.EventUsers, nil)
	if !slices.Equal(joinedJIDs(pv.Users), jids("alice", "bob", "carol")) {
		t.Errorf("users after join %+v", pv)
	}
	carol.must(wire.TypeCallEnd, room(call), nil)
	pv, _ = payload[wire.LinkPreview](t, g, wire.EventUsers, nil)
	if !slices.Equal(joinedJIDs(pv.Users), jids("alice", "bob")) {
		t.Errorf("users after leave %+v", pv)
	}
	g.quiet(wire.EventUsers)

	// The guest joins: the subscription ends and media signals flow.
	g.auth = ga
	cr.Call = knockIn(t, g, bob, wire.LinkRequest{Link: call.Link})
	if statusOf(cr.Call, gj) != wire.StatusConnecting {
		t.Errorf("guest joined %+v", cr.Call)
	}
	up := alice.update(statusIs(strings.TrimSuffix(gj, "@localhost"), wire.StatusConnecting))
	if up.By != gj || participant(t, up.Call, gj).DisplayName != "Visitor" {
		t.Errorf("update after guest join %+v", up)
	}
	g.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeConflict, wire.ReasonConflict)
	g2.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, wire.ReasonForbidden)
	g.must(wire.TypeCallSignal, offer(call.RoomID, "alice"), nil)
	if sig, _ := payload[wire.SignalEvent](t, alice, wire.EventSignal, nil); sig.From != gj {
		t.Errorf("signal from the guest %+v", sig)
	}
	alice.must(wire.TypeCallSignal, offer(call.RoomID, gj), nil)
	if sig, _ := payload[wire.SignalEvent](t, g, wire.EventSignal, nil); sig.From != jid("alice") {
		t.Errorf("signal to the guest %+v", sig)
	}
	g.must(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`"hi"`)}, nil)
	payload[wire.DataEvent](t, bob, wire.EventData, nil)
	payload(t, watcher, wire.EventUsers, func(p wire.LinkPreview) bool { return len(p.Users) == 3 })
	g.quiet(wire.EventUsers)
	// Unsubscribing is fine with nothing subscribed.
	g.must(wire.TypeLinkUnsubscribe, nil, nil)

	// Everybody else leaves: the call ends, and the watcher sees an empty list, once.
	for _, c := range []*client{alice, bob} {
		c.must(wire.TypeCallEnd, room(call), nil)
	}
	g.update(stateIs(wire.CallStateEnded))
	_, f := payload(t, watcher, wire.EventUsers, func(p wire.LinkPreview) bool { return len(p.Users) == 0 })
	if !strings.Contains(string(f.Data), `"users":[]`) {
		t.Errorf("end preview %s", f.Data)
	}
	watcher.quiet(wire.EventUsers)
	watcher.fails(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link}, wire.CodeCallEnded, wire.ReasonCallEnded)
	watcher.must(wire.TypeLinkUnsubscribe, nil, nil)

	// An unsubscribed session hears nothing more.
	c2 := create(t, alice, wire.TypeAudio, "bob")
	c2.Link = shareLink(t, alice, c2)
	watcher.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: c2.Link}, nil)
	watcher.must(wire.TypeLinkUnsubscribe, nil, nil)
	answer(t, bob, c2)
	alice.update(statusIs("bob", wire.StatusConnecting))
	watcher.quiet(wire.EventUsers)
}

func TestGuestRateLimit(t *testing.T) {
	e := newEnv(t, Config{})
	e.hub.guestLim = newIPLimiter(0.001, 2)
	for range 2 {
		e.dial("g").must(wire.TypeGuest, wire.GuestRequest{DisplayName: "G"}, nil)
	}
	e.dial("g").fails(wire.TypeGuest, wire.GuestRequest{DisplayName: "G"}, wire.CodeRateLimited, wire.ReasonRateLimited)
}

// TestLinkErrors: bad, unknown and ended links, busy and full calls, and the
// per-address look-up limit.
func TestLinkErrors(t *testing.T) {
	e := newEnv(t, Config{MaxParticipants: 3})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	e.hub.linkLim = newIPLimiter(1000, 1000)
	for _, typ := range []string{wire.TypeLinkSubscribe, wire.TypeLinkJoin} {
		for _, l := range []string{"", "ABC-DEFG-HIJ", "abc-defg-hi", "abcdefghijkl", "x"} {
			carol.fails(typ, wire.LinkRequest{Link: l}, wire.CodeInvalidLink, wire.ReasonInvalidLink)
		}
		carol.fails(typ, wire.LinkRequest{Link: "abc-defg-hij"}, wire.CodeInvalidLink, wire.ReasonInvalidLink)
		carol.fails(typ, nil, wire.CodeBadRequest, "bad_request")
	}
	e.hub.linkLim = newIPLimiter(LinkRate, LinkBurst) // a fresh budget

	call := create(t, alice, wire.TypeAudio, "bob")
	answer(t, bob, call)
	call.Link = shareLink(t, alice, call)
	c2 := create(t, carol, wire.TypeAudio, "dave")
	answer(t, dave, c2)
	c2.Link = shareLink(t, dave, c2)
	// carol is in another call.
	carol.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeConflict, wire.ReasonConflict)
	bob.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeConflict, wire.ReasonConflict)
	carol.must(wire.TypeCallEnd, room(c2), nil)
	knockIn(t, carol, alice, wire.LinkRequest{Link: call.Link})
	// Full at three.
	dave.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeCallFull, wire.ReasonCallFull)
	for _, c := range []*client{alice, bob} {
		c.must(wire.TypeCallEnd, room(call), nil)
	}
	carol.update(stateIs(wire.CallStateEnded))
	dave.fails(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link}, wire.CodeCallEnded, wire.ReasonCallEnded)
	dave.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeCallEnded, wire.ReasonCallEnded)
	dave.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: c2.Link}, wire.CodeCallEnded, wire.ReasonCallEnded)

	// The look-up rate per address: a burst of 10, then 429.
	limited := 0
	for range LinkBurst + 5 {
		if err := dave.do(wire.TypeLinkSubscribe, wire.LinkRequest{Link: "abc-defg-hij"}, nil); err != nil && err.Code == wire.CodeRateLimited {
			limited++
		}
	}
	if limited < 3 {
		t.Errorf("%d of %d look-ups rate limited", limited, LinkBurst+5)
	}
	// Other requests are unaffected.
	dave.must(wire.TypePing, nil, nil)
}

// TestMeet: a call created empty that people join by link.
func TestMeet(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	alice.fails(wire.TypeMeetCreate, wire.MeetRequest{Type: "hologram"}, wire.CodeBadRequest, "bad_request")
	var res wire.CallResult
	alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeVideo}, &res)
	m := res.Call
	if !m.Meet || m.Mode != wire.ModeOneToMany || m.Initiator != jid("alice") || len(m.Participants) != 0 ||
		m.Participants == nil || !linkRE.MatchString(m.Link) || m.Type != wire.TypeVideo {
		t.Fatalf("meet %+v", m)
	}
	var pv wire.LinkPreview
	bob.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: m.Link}, &pv)
	if pv.Users == nil || len(pv.Users) != 0 {
		t.Errorf("empty preview %+v", pv)
	}
	// Not joined yet: no invites.
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: m.RoomID, To: []string{"dave"}}, wire.CodeNotInCall, wire.ReasonNotInCall)

	alice.must(wire.TypeLinkJoin, wire.LinkRequest{Link: m.Link}, &res)
	if p := participant(t, res.Call, jid("alice")); !p.Initiator || p.Status != wire.StatusConnecting {
		t.Errorf("creator joined %+v", res.Call)
	}
	pv, _ = payload[wire.LinkPreview](t, bob, wire.EventUsers, nil)
	if !slices.Equal(joinedJIDs(pv.Users), jids("alice")) {
		t.Errorf("preview after creator joined %+v", pv)
	}
	knockIn(t, bob, alice, wire.LinkRequest{Link: m.Link})
	alice.update(statusIs("bob", wire.StatusConnecting))
	// Invites work once joined.
	alice.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: m.RoomID, To: []string{"dave"}}, nil)
	payload[wire.InviteEvent](t, bob, wire.EventInvited, nil)
	dave.event(wire.EventIncoming, nil)
	dave.must(wire.TypeCallDecline, room(m), nil)

	// The creator leaving does not end it, even alone.
	alice.must(wire.TypeCallEnd, room(m), nil)
	if up := bob.update(statusIs("alice", wire.StatusDisconnected)); up.Call.State != wire.CallStateActive {
		t.Fatalf("after alice left: %+v", up.Call)
	}
	carol.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: m.Link}, nil)
	bob.must(wire.TypeCallEnd, room(m), nil)
	_, f := payload[wire.LinkPreview](t, carol, wire.EventUsers, nil)
	if !strings.Contains(string(f.Data), `"users":[]`) {
		t.Errorf("end preview %s", f.Data)
	}
	carol.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: m.Link}, wire.CodeCallEnded, wire.ReasonCallEnded)
	if l := logs(t, alice); len(l) != 1 || l[0].CallState != wire.LogOutgoing || l[0].StartTime == nil || l[0].CallMode != wire.ModeOneToMany {
		t.Errorf("alice log %+v", l)
	}
	if l := logs(t, bob); len(l) != 1 || l[0].CallState != wire.LogIncoming || !slices.Equal(l[0].UserList, []string{jid("alice"), jid("bob")}) {
		t.Errorf("bob log %+v", l)
	}
	if l := logs(t, dave); len(l) != 1 || l[0].CallState != wire.LogDeclined {
		t.Errorf("dave log %+v", l)
	}
}

// TestMeetIdle: a meet nobody joins ends after the idle timeout.
func TestMeetIdle(t *testing.T) {
	e := newEnv(t, Config{MeetIdleTimeout: 600 * time.Millisecond}) // the subscribe below must beat it
	alice, bob := e.register("alice"), e.register("bob")
	var res wire.CallResult
	alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeAudio}, &res)
	bob.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: res.Call.Link}, nil)
	payload(t, bob, wire.EventUsers, func(p wire.LinkPreview) bool { return p.Users != nil && len(p.Users) == 0 })
	bob.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: res.Call.Link}, wire.CodeCallEnded, wire.ReasonCallEnded)

	// A joined meet does not idle out.
	alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeAudio}, &res)
	alice.must(wire.TypeLinkJoin, wire.LinkRequest{Link: res.Call.Link}, nil)
	done := make(chan struct{})
	time.AfterFunc(1200*time.Millisecond, func() { close(done) }) // past the idle timeout
	<-done
	knockIn(t, bob, alice, wire.LinkRequest{Link: res.Call.Link})
	alice.update(statusIs("bob", wire.StatusConnecting))
}

// TestLinkJoinPendingAndRejoin: a callee being rung who joins by link is
// answering; someone who left comes back by link in their old place.
func TestLinkJoinPendingAndRejoin(t *testing.T) {
	e := newEnv(t, Config{RingTimeout: time.Second})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	bob2 := e.tab(bob, "bob-2")
	call := create(t, alice, wire.TypeAudio, "bob", "carol")
	bob.event(wire.EventIncoming, nil)
	var res wire.CallResult
	bob2.must(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, &res)
	if d := bob.dismissed(); d.Reason != wire.ReasonAnsweredElsewhere {
		t.Errorf("dismissed %+v", d)
	}
	if res.Call.State != wire.CallStateActive || len(res.Call.Participants) != 3 {
		t.Errorf("joined %+v", res.Call)
	}
	answer(t, carol, call)
	bob2.must(wire.TypeCallEnd, room(call), nil)
	alice.update(statusIs("bob", wire.StatusDisconnected))
	res.Call = knockIn(t, bob, alice, wire.LinkRequest{Link: call.Link})
	if len(res.Call.Participants) != 3 || res.Call.Participants[1].JID != jid("bob") || statusOf(res.Call, jid("bob")) != wire.StatusConnecting {
		t.Errorf("rejoined %s", statuses(res.Call))
	}
	alice.must(wire.TypeCallSignal, offer(call.RoomID, "bob"), nil)
	bob.event(wire.EventSignal, nil)
	bob2.quiet(wire.EventSignal)
	carol.must(wire.TypeCallEnd, room(call), nil)
	bob.must(wire.TypeCallEnd, room(call), nil)
	alice.update(stateIs(wire.CallStateEnded))
	bob.quiet(wire.EventMissed)
	if l := logs(t, bob); len(l) != 1 || l[0].CallState != wire.LogIncoming {
		t.Errorf("bob log %+v", l)
	}
}

// TestLinkDisplayName: a registered user who names themself on link.subscribe
// or link.join has that name in the call (snapshots, updates, previews), not
// their account's; a bad name is 400; the account keeps its name.
func TestLinkDisplayName(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, wire.TypeAudio, "bob")
	answer(t, bob, call)
	alice.update(statusIs("bob", wire.StatusConnecting))
	call.Link = shareLink(t, alice, call)

	for _, bad := range []string{"a\tb", strings.Repeat("x", 65)} {
		carol.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link, DisplayName: bad}, wire.CodeBadRequest, wire.ReasonBadRequest)
		carol.fails(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link, DisplayName: bad}, wire.CodeBadRequest, wire.ReasonBadRequest)
	}
	watcher := e.dial("watcher")
	watcher.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Watcher"}, nil)
	watcher.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link}, nil)

	// Named on link.join.
	var cr wire.CallResult
	cr.Call = knockIn(t, carol, alice, wire.LinkRequest{Link: call.Link, DisplayName: "  Caz  "})
	if p := participant(t, cr.Call, jid("carol")); p.DisplayName != "Caz" {
		t.Errorf("carol's name in the reply: %q", p.DisplayName)
	}
	up := alice.update(statusIs("carol", wire.StatusConnecting))
	if p := participant(t, up.Call, jid("carol")); p.DisplayName != "Caz" {
		t.Errorf("carol's name as alice sees it: %q", p.DisplayName)
	}
	pv, _ := payload[wire.LinkPreview](t, watcher, wire.EventUsers, func(p wire.LinkPreview) bool { return len(p.Users) == 3 })
	if p := (&wire.Call{Participants: pv.Users}).Participant(jid("carol")); p == nil || p.DisplayName != "Caz" {
		t.Errorf("carol in the preview: %+v", pv.Users)
	}

	// Named on link.subscribe, then joined without a name: the subscription's name holds.
	dave.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link, DisplayName: "D."}, nil)
	cr.Call = knockIn(t, dave, bob, wire.LinkRequest{Link: call.Link})
	if p := participant(t, cr.Call, jid("dave")); p.DisplayName != "D." {
		t.Errorf("dave's name: %q", p.DisplayName)
	}
	// Without a name, the account's name; the account itself is unchanged.
	if p := participant(t, cr.Call, jid("bob")); p.DisplayName != "bob" {
		t.Errorf("bob's name: %q", p.DisplayName)
	}
	if c2 := e.tab(carol, "carol-2"); c2.auth.User.DisplayName != "carol" {
		t.Errorf("carol's account name became %q", c2.auth.User.DisplayName)
	}
}
