package hub

import (
	"slices"
	"sync"
	"testing"

	"parley/app/wire"
)

// TestGroupCallMesh: a four-party call where signals reach every pair, and
// people leaving one by one do not end it until one is left.
func TestGroupCallMesh(t *testing.T) {
	e := newEnv(t, Config{})
	names := []string{"alice", "bob", "carol", "dave"}
	cs := map[string]*client{}
	for _, n := range names {
		cs[n] = e.register(n)
	}
	call := groupCall(t, cs["alice"], wire.TypeVideo, "team", "bob", "carol", "dave")
	if call.Mode != wire.ModeOneToMany || len(call.Participants) != 4 {
		t.Fatalf("call %+v", call)
	}
	for _, n := range names[1:] {
		cs[n].event(wire.EventIncoming, nil)
		answer(t, cs[n], call)
	}
	cs["alice"].update(func(ce wire.CallEvent) bool {
		return statuses(ce.Call) == "alice=connecting bob=connecting carol=connecting dave=connecting"
	})
	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			cs[from].must(wire.TypeCallSignal, offer(call.RoomID, to), nil)
			sig, _ := payload(t, cs[to], wire.EventSignal, func(s wire.SignalEvent) bool { return s.From == jid(from) })
			if sig.RoomID != call.RoomID {
				t.Errorf("%s→%s: %+v", from, to, sig)
			}
		}
	}
	// Leaving one by one: the call goes on while two remain.
	for i, leaver := range []string{"dave", "carol"} {
		cs[leaver].must(wire.TypeCallEnd, room(call), nil)
		for _, n := range names[:3-i] {
			up := cs[n].update(statusIs(leaver, wire.StatusDisconnected))
			if up.Call.State != wire.CallStateActive {
				t.Fatalf("%s left: state %s", leaver, up.Call.State)
			}
		}
		cs["alice"].must(wire.TypeCallSignal, offer(call.RoomID, "bob"), nil)
		cs["bob"].event(wire.EventSignal, nil)
	}
	cs["bob"].must(wire.TypeCallEnd, room(call), nil)
	final := cs["alice"].update(stateIs(wire.CallStateEnded))
	if statusOf(final.Call, jid("alice")) != wire.StatusEnded {
		t.Errorf("final %s", statuses(final.Call))
	}
}

// TestSimultaneousAnswers: two callees answering at once both join.
func TestSimultaneousAnswers(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	call := create(t, alice, wire.TypeAudio, "bob", "carol")
	bob.event(wire.EventIncoming, nil)
	carol.event(wire.EventIncoming, nil)
	var (
		wg  sync.WaitGroup
		ids [2]uint64
	)
	start := make(chan struct{})
	for i, c := range []*client{bob, carol} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ids[i] = c.send(wire.TypeCallAnswer, room(call))
		}()
	}
	close(start)
	wg.Wait()
	for i, c := range []*client{bob, carol} {
		if f := c.reply(ids[i]); f.Type != wire.TypeResult {
			t.Errorf("%s: answer %+v", c.name, f.Error)
		}
	}
	alice.update(func(ce wire.CallEvent) bool {
		return statuses(ce.Call) == "alice=connecting bob=connecting carol=connecting"
	})
}

// TestInvite: inviting into a running 1:1 call.
func TestInvite(t *testing.T) {
	e := newEnv(t, Config{MaxParticipants: 4})
	alice, bob, carol, dave, erin := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave"), e.register("erin")
	call := create(t, alice, wire.TypeAudio, "bob")
	answer(t, bob, call)
	alice.settle()
	bob.settle()

	// Errors change nothing.
	erin.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"carol"}}, wire.CodeNotInCall, wire.ReasonNotInCall)
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"Bad Name!"}}, wire.CodeBadRequest, "bad_request")
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"zed"}}, wire.CodeNotFound, wire.ReasonNotFound)
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"alice"}}, wire.CodeBadRequest, "bad_request")
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"carol", "dave", "erin"}}, wire.CodeCallFull, wire.ReasonCallFull)
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: "nope", To: []string{"carol"}}, wire.CodeNotFound, wire.ReasonNotFound)
	bob.quiet(wire.EventUpdate)
	carol.quiet(wire.EventIncoming)

	// Already joined users are skipped; carol is rung.
	alice.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"bob", "carol@localhost"}}, nil)
	inv, _ := payload[wire.InviteEvent](t, bob, wire.EventInvited, nil)
	if inv.By != jid("alice") || inv.RoomID != call.RoomID || !slices.Equal(inv.Users, []string{jid("carol")}) {
		t.Errorf("invited %+v", inv)
	}
	up := bob.update(statusIs("carol", wire.StatusRinging))
	if up.Call.Mode != wire.ModeOneToMany || !slices.Equal(up.Call.Invited, []string{jid("carol")}) ||
		!participant(t, up.Call, jid("carol")).Invited || up.By != jid("alice") {
		t.Errorf("update after invite %+v", up)
	}
	alice.update(statusIs("carol", wire.StatusRinging))
	alice.quiet(wire.EventInvited)
	in := carol.callEvent(wire.EventIncoming)
	if in.Call.RoomID != call.RoomID || !participant(t, in.Call, jid("carol")).Invited {
		t.Errorf("incoming %+v", in)
	}
	// Inviting someone who is being rung changes nothing.
	alice.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"carol"}}, nil)
	bob.quiet(wire.EventInvited)
	answer(t, carol, call)
	bob.update(statusIs("carol", wire.StatusConnecting))

	// dave, invited by the invitee, declines, and is invited again.
	carol.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"dave"}}, nil)
	dave.event(wire.EventIncoming, nil)
	dave.must(wire.TypeCallDecline, room(call), nil)
	alice.update(statusIs("dave", wire.StatusDeclined))
	bob.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"dave"}}, nil)
	inv, _ = payload(t, alice, wire.EventInvited, func(ie wire.InviteEvent) bool { return ie.By == jid("bob") })
	if !slices.Equal(inv.Users, []string{jid("dave")}) {
		t.Errorf("second invite %+v", inv)
	}
	dave.event(wire.EventIncoming, nil)
	answer(t, dave, call)
	up = alice.update(statusIs("dave", wire.StatusConnecting))
	if len(up.Call.Participants) != 4 || !slices.Equal(up.Call.Invited, []string{jid("carol"), jid("dave")}) {
		t.Errorf("after re-invite %+v", up.Call)
	}
	// Full now: nobody else.
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"erin"}}, wire.CodeCallFull, wire.ReasonCallFull)

	for _, c := range []*client{dave, carol, bob} {
		c.must(wire.TypeCallEnd, room(call), nil)
	}
	alice.update(stateIs(wire.CallStateEnded))
	want := map[*client]string{alice: wire.LogOutgoing, bob: wire.LogIncoming, carol: wire.LogIncoming, dave: wire.LogIncoming}
	for c, state := range want {
		l := logs(t, c)
		if len(l) != 1 || l[0].CallState != state || l[0].CallMode != wire.ModeOneToMany {
			t.Errorf("%s logs %+v", c.name, l)
			continue
		}
		if c == alice && !slices.Equal(l[0].InviteUserList, []string{jid("carol"), jid("dave")}) {
			t.Errorf("alice's inviteUserList %v", l[0].InviteUserList)
		}
		if c == dave && (l[0].StartTime == nil || !slices.Equal(l[0].InviteUserList, []string{jid("carol"), jid("dave")})) {
			t.Errorf("dave's log (replaced after the re-invite) %+v", l[0])
		}
	}
}

// TestInvitedBy: an invited participant names who invited them, and an
// invitee's call.incoming lists everyone in the call.
func TestInvitedBy(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	call := create(t, alice, wire.TypeAudio, "bob")
	answer(t, bob, call)

	alice.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"carol"}}, nil)
	in := carol.callEvent(wire.EventIncoming)
	if got, want := statuses(in.Call), "alice=connecting bob=connecting carol=ringing"; got != want {
		t.Errorf("carol's incoming lists %q, want %q", got, want)
	}
	if p := participant(t, in.Call, jid("carol")); !p.Invited || p.InvitedBy != jid("alice") {
		t.Errorf("carol in her incoming call: %+v", p)
	}
	for _, who := range []string{"alice", "bob"} {
		if p := participant(t, in.Call, jid(who)); p.Invited || p.InvitedBy != "" {
			t.Errorf("%s was not invited: %+v", who, p)
		}
	}
	answer(t, carol, call)

	// An invitee invites in turn; a re-invite names the new inviter.
	carol.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"dave"}}, nil)
	in = dave.callEvent(wire.EventIncoming)
	if got, want := statuses(in.Call), "alice=connecting bob=connecting carol=connecting dave=ringing"; got != want {
		t.Errorf("dave's incoming lists %q, want %q", got, want)
	}
	if p := participant(t, in.Call, jid("dave")); p.InvitedBy != jid("carol") {
		t.Errorf("dave invited by %q", p.InvitedBy)
	}
	if p := participant(t, in.Call, jid("carol")); p.InvitedBy != jid("alice") {
		t.Errorf("carol invited by %q", p.InvitedBy)
	}
	dave.must(wire.TypeCallDecline, room(call), nil)
	alice.update(statusIs("dave", wire.StatusDeclined))
	bob.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"dave"}}, nil)
	up := alice.update(func(ce wire.CallEvent) bool { return statusOf(ce.Call, jid("dave")) == wire.StatusRinging })
	if p := participant(t, up.Call, jid("dave")); p.InvitedBy != jid("bob") {
		t.Errorf("dave re-invited by %q", p.InvitedBy)
	}
}
