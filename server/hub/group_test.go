package hub

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// payload waits for an event of typ whose payload (decoded into T) matches,
// and returns it with its frame.
func payload[T any](t testing.TB, c *client, typ string, match func(T) bool) (T, wire.Frame) {
	t.Helper()
	var out T
	f := c.event(typ, func(f wire.Frame) bool {
		var v T
		if json.Unmarshal(f.Data, &v) != nil {
			return false
		}
		if match == nil || match(v) {
			out = v
			return true
		}
		return false
	})
	return out, f
}

func answer(t testing.TB, c *client, call wire.Call) wire.Call {
	t.Helper()
	var res wire.CallResult
	c.must(wire.TypeCallAnswer, room(call), &res)
	return res.Call
}

func groupCall(t testing.TB, c *client, callType, group string, to ...string) wire.Call {
	t.Helper()
	var res wire.CallResult
	c.must(wire.TypeCallCreate, wire.CallCreateRequest{To: to, Type: callType, GroupID: group}, &res)
	return res.Call
}

func joinedJIDs(users []wire.Participant) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.JID)
	}
	slices.Sort(out)
	return out
}

func jids(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, jid(n))
	}
	slices.Sort(out)
	return out
}

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
	erin.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"carol"}}, wire.CodeNotInCall, reasonNotInCall)
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"Bad Name!"}}, wire.CodeBadRequest, "bad_request")
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"zed"}}, wire.CodeNotFound, reasonNotFound)
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"alice"}}, wire.CodeBadRequest, "bad_request")
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"carol", "dave", "erin"}}, wire.CodeCallFull, reasonCallFull)
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: "nope", To: []string{"carol"}}, wire.CodeNotFound, reasonNotFound)
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
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{"erin"}}, wire.CodeCallFull, reasonCallFull)

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

// TestSwitch: the voice-to-video switch of a 1:1 call.
func TestSwitch(t *testing.T) {
	e := newEnv(t, Config{SwitchTimeout: 150 * time.Millisecond})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	call := create(t, alice, wire.TypeAudio, "bob")
	sw := func(c *client, action string) *wire.Error {
		return c.do(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: action}, nil)
	}
	swEvent := func(c *client, action string) (wire.SwitchEvent, wire.Frame) {
		t.Helper()
		return payload(t, c, wire.EventSwitch, func(s wire.SwitchEvent) bool { return s.Action == action })
	}
	// Before bob joins there is nobody to ask.
	alice.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, wire.CodeConflict, reasonConflict)
	answer(t, bob, call)

	for _, a := range []string{wire.SwitchAccept, wire.SwitchDecline, wire.SwitchCancel} {
		if e := sw(alice, a); e == nil || e.Code != wire.CodeConflict {
			t.Errorf("%s with nothing pending: %v", a, e)
		}
	}
	alice.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchTimeout}, wire.CodeBadRequest, "bad_request")
	alice.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: "teleport"}, wire.CodeBadRequest, "bad_request")
	carol.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, wire.CodeNotInCall, reasonNotInCall)

	// Cancel.
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
	if ev, _ := swEvent(bob, wire.SwitchRequest); ev.From != jid("alice") || ev.RoomID != call.RoomID {
		t.Errorf("request %+v", ev)
	}
	if e := sw(alice, wire.SwitchRequest); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("second request: %v", e)
	}
	if e := sw(bob, wire.SwitchCancel); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("cancel by the other: %v", e)
	}
	if e := sw(alice, wire.SwitchAccept); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("accept by the requester: %v", e)
	}
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchCancel}, nil)
	if ev, _ := swEvent(bob, wire.SwitchCancel); ev.From != jid("alice") {
		t.Errorf("cancel %+v", ev)
	}

	// Decline, from bob's request this time.
	bob.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
	swEvent(alice, wire.SwitchRequest)
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchDecline}, nil)
	if ev, _ := swEvent(bob, wire.SwitchDecline); ev.From != jid("alice") {
		t.Errorf("decline %+v", ev)
	}

	// Timeout: both hear it, and it can no longer be accepted.
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
	for _, c := range []*client{alice, bob} {
		if ev, _ := swEvent(c, wire.SwitchTimeout); ev.From != jid("alice") {
			t.Errorf("%s: timeout %+v", c.name, ev)
		}
	}
	if e := sw(bob, wire.SwitchAccept); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("accept after timeout: %v", e)
	}

	// Accept: the requester hears it before the update that makes the call video.
	alice.settle()
	alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
	swEvent(bob, wire.SwitchRequest)
	bob.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchAccept}, nil)
	ev, fa := swEvent(alice, wire.SwitchAccept)
	if ev.From != jid("bob") {
		t.Errorf("accept %+v", ev)
	}
	alice.update(func(ce wire.CallEvent) bool { return ce.Call.Type == wire.TypeVideo })
	bob.update(func(ce wire.CallEvent) bool { return ce.Call.Type == wire.TypeVideo })
	alice.mu.Lock()
	var fu uint64
	for _, e := range alice.events {
		if e.Type == wire.EventUpdate && strings.Contains(string(e.Data), `"callType":"video"`) {
			fu = e.Seq
			break
		}
	}
	alice.mu.Unlock()
	if fu <= fa.Seq {
		t.Errorf("video update seq %d is not after the accept seq %d", fu, fa.Seq)
	}
	if e := sw(alice, wire.SwitchRequest); e == nil || e.Code != wire.CodeConflict {
		t.Errorf("request in a video call: %v", e)
	}
	// A pending request is cleared when a participant leaves (nothing fires later).
	alice.must(wire.TypeCallEnd, room(call), nil)
	bob.update(stateIs(wire.CallStateEnded))

	// Group calls do not switch.
	g := groupCall(t, alice, wire.TypeAudio, "", "bob", "carol")
	answer(t, bob, g)
	answer(t, carol, g)
	err := alice.fails(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: g.RoomID, Action: wire.SwitchRequest}, wire.CodeForbidden, reasonForbidden)
	if !strings.Contains(err.Message, "camera") {
		t.Errorf("403 message %q", err.Message)
	}
	bob.quiet(wire.EventSwitch)
}

// TestCustomData: order, isolation, limits.
func TestCustomData(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 10000, RateBurst: 10000})
	alice, bob, carol, erin := e.register("alice"), e.register("bob"), e.register("carol"), e.register("erin")
	call := groupCall(t, alice, wire.TypeAudio, "", "bob", "carol")
	answer(t, bob, call)
	answer(t, carol, call)
	sub := e.dial("watcher")
	sub.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Watcher"}, nil)
	sub.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link}, nil)

	const n = 100
	ids := make([]uint64, n)
	for i := range n {
		ids[i] = alice.send(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(fmt.Sprintf(`{"n": %d, "s": "<&>"}`, i))})
	}
	for _, id := range ids {
		if f := alice.reply(id); f.Type != wire.TypeResult {
			t.Fatalf("data %d: %+v", id, f.Error)
		}
	}
	for _, c := range []*client{bob, carol} {
		c.wait("100 data events", func() bool {
			k := 0
			for _, e := range c.events {
				if e.Type == wire.EventData {
					k++
				}
			}
			return k == n
		})
		c.mu.Lock()
		i := 0
		for _, e := range c.events {
			if e.Type != wire.EventData {
				continue
			}
			var d wire.DataEvent
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			var v struct {
				N int    `json:"n"`
				S string `json:"s"`
			}
			if err := json.Unmarshal(d.Data, &v); err != nil || v.N != i || v.S != "<&>" || d.From != jid("alice") || d.RoomID != call.RoomID {
				t.Errorf("%s: data #%d = %s from %s (%v)", c.name, i, d.Data, d.From, err)
			}
			e.used = true
			i++
		}
		c.mu.Unlock()
	}
	for _, c := range []*client{alice, erin, sub} {
		c.quiet(wire.EventData)
	}

	// Limits and errors.
	// Exactly at the limit, with characters Go's encoder would escape (written
	// by hand, as a browser would send it).
	at := `"` + strings.Repeat("<", wire.MaxCustomDataBytes-2) + `"`
	raw := `{"type":"call.data","id":5000,"data":{"roomId":"` + call.RoomID + `","data":` + at + `}}`
	if err := alice.sendRaw(websocket.MessageText, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if r := alice.reply(5000); r.Type != wire.TypeResult {
		t.Fatalf("data at the limit: %+v", r.Error)
	}
	d, f := payload[wire.DataEvent](t, bob, wire.EventData, nil)
	if string(d.Data) != at {
		t.Errorf("relayed %d bytes, not the same", len(d.Data))
	}
	if len(f.Data) > wire.MaxCustomDataBytes+200 {
		t.Errorf("event data of %d bytes", len(f.Data))
	}
	over := json.RawMessage(`"` + strings.Repeat("x", wire.MaxCustomDataBytes) + `"`)
	alice.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: over}, wire.CodeBadRequest, reasonTooLarge)
	alice.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID}, wire.CodeBadRequest, "bad_request")
	alice.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`null`)}, wire.CodeBadRequest, "bad_request")
	erin.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`1`)}, wire.CodeNotInCall, reasonNotInCall)
	sub.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`1`)}, wire.CodeNotInCall, reasonNotInCall)
	bob.quiet(wire.EventData)
}

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
	g.fails(wire.TypeGuest, wire.GuestRequest{DisplayName: "again"}, wire.CodeConflict, reasonConflict)
	for _, typ := range []string{wire.TypeCallCreate, wire.TypeCallInvite, wire.TypeMeetCreate, wire.TypeCallLogs} {
		g.fails(typ, wire.CallCreateRequest{To: []string{"alice"}, Type: wire.TypeAudio}, wire.CodeForbidden, reasonForbidden)
	}
	// A guest cannot be called by name, nor log in with a password.
	alice.fails(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{gj}, Type: wire.TypeAudio}, wire.CodeForbidden, reasonForbidden)
	e.dial("x").fails(wire.TypeLogin, wire.LoginRequest{Username: ga.User.Username, Password: ""}, wire.CodeUnauthorized, reasonUnauthorized)
	// Its token signs in another tab as the guest.
	g2 := e.tab(&client{auth: ga}, "guest-2")
	if !g2.auth.User.Guest || g2.auth.User.JID != gj {
		t.Errorf("guest auth %+v", g2.auth)
	}

	call := create(t, alice, wire.TypeAudio, "bob")
	answer(t, bob, call)
	alice.update(statusIs("bob", wire.StatusConnecting))

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
	carol.must(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, &cr)
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
	g.must(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, &cr)
	if statusOf(cr.Call, gj) != wire.StatusConnecting {
		t.Errorf("guest joined %+v", cr.Call)
	}
	up := alice.update(statusIs(strings.TrimSuffix(gj, "@localhost"), wire.StatusConnecting))
	if up.By != gj || participant(t, up.Call, gj).DisplayName != "Visitor" {
		t.Errorf("update after guest join %+v", up)
	}
	g.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeConflict, reasonConflict)
	g2.fails(wire.TypeCallSignal, offer(call.RoomID, "alice"), wire.CodeForbidden, reasonForbidden)
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
	watcher.fails(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link}, wire.CodeCallEnded, reasonCallEnded)
	watcher.must(wire.TypeLinkUnsubscribe, nil, nil)

	// An unsubscribed session hears nothing more.
	c2 := create(t, alice, wire.TypeAudio, "bob")
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
	e.dial("g").fails(wire.TypeGuest, wire.GuestRequest{DisplayName: "G"}, wire.CodeRateLimited, reasonRateLimited)
}

// TestLinkErrors: bad, unknown and ended links, busy and full calls, and the
// per-address look-up limit.
func TestLinkErrors(t *testing.T) {
	e := newEnv(t, Config{MaxParticipants: 3})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	e.hub.linkLim = newIPLimiter(1000, 1000)
	for _, typ := range []string{wire.TypeLinkSubscribe, wire.TypeLinkJoin} {
		for _, l := range []string{"", "ABC-DEFG-HIJ", "abc-defg-hi", "abcdefghijkl", "x"} {
			carol.fails(typ, wire.LinkRequest{Link: l}, wire.CodeInvalidLink, reasonInvalidLink)
		}
		carol.fails(typ, wire.LinkRequest{Link: "abc-defg-hij"}, wire.CodeInvalidLink, reasonInvalidLink)
		carol.fails(typ, nil, wire.CodeBadRequest, "bad_request")
	}
	e.hub.linkLim = newIPLimiter(LinkRate, LinkBurst) // a fresh budget

	call := create(t, alice, wire.TypeAudio, "bob")
	answer(t, bob, call)
	c2 := create(t, carol, wire.TypeAudio, "dave")
	answer(t, dave, c2)
	// carol is in another call.
	carol.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeConflict, reasonConflict)
	bob.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeConflict, reasonConflict)
	carol.must(wire.TypeCallEnd, room(c2), nil)
	carol.must(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, nil)
	// Full at three.
	dave.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeCallFull, reasonCallFull)
	for _, c := range []*client{alice, bob} {
		c.must(wire.TypeCallEnd, room(call), nil)
	}
	carol.update(stateIs(wire.CallStateEnded))
	dave.fails(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link}, wire.CodeCallEnded, reasonCallEnded)
	dave.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, wire.CodeCallEnded, reasonCallEnded)
	dave.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: c2.Link}, wire.CodeCallEnded, reasonCallEnded)

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
	alice.fails(wire.TypeCallInvite, wire.InviteRequest{RoomID: m.RoomID, To: []string{"dave"}}, wire.CodeNotInCall, reasonNotInCall)

	alice.must(wire.TypeLinkJoin, wire.LinkRequest{Link: m.Link}, &res)
	if p := participant(t, res.Call, jid("alice")); !p.Initiator || p.Status != wire.StatusConnecting {
		t.Errorf("creator joined %+v", res.Call)
	}
	pv, _ = payload[wire.LinkPreview](t, bob, wire.EventUsers, nil)
	if !slices.Equal(joinedJIDs(pv.Users), jids("alice")) {
		t.Errorf("preview after creator joined %+v", pv)
	}
	bob.must(wire.TypeLinkJoin, wire.LinkRequest{Link: m.Link}, nil)
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
	carol.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: m.Link}, wire.CodeCallEnded, reasonCallEnded)
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
	e := newEnv(t, Config{MeetIdleTimeout: 150 * time.Millisecond})
	alice, bob := e.register("alice"), e.register("bob")
	var res wire.CallResult
	alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeAudio}, &res)
	bob.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: res.Call.Link}, nil)
	payload(t, bob, wire.EventUsers, func(p wire.LinkPreview) bool { return p.Users != nil && len(p.Users) == 0 })
	bob.fails(wire.TypeLinkJoin, wire.LinkRequest{Link: res.Call.Link}, wire.CodeCallEnded, reasonCallEnded)

	// A joined meet does not idle out.
	alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeAudio}, &res)
	alice.must(wire.TypeLinkJoin, wire.LinkRequest{Link: res.Call.Link}, nil)
	done := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { close(done) })
	<-done
	bob.must(wire.TypeLinkJoin, wire.LinkRequest{Link: res.Call.Link}, nil)
	alice.update(statusIs("bob", wire.StatusConnecting))
}

// TestLinkJoinPendingAndRejoin: a callee being rung who joins by link is
// answering; someone who left comes back by link in their old place.
func TestLinkJoinPendingAndRejoin(t *testing.T) {
	e := newEnv(t, Config{RingTimeout: 300 * time.Millisecond})
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
	bob.must(wire.TypeLinkJoin, wire.LinkRequest{Link: call.Link}, &res)
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
