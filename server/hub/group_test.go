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

	"parley/app/signal"
)

// payload waits for an event of typ whose payload (decoded into T) matches,
// and returns it with its frame.
func payload[T any](t testing.TB, c *client, typ string, match func(T) bool) (T, signal.Frame) {
	t.Helper()
	var out T
	f := c.event(typ, func(f signal.Frame) bool {
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

func answer(t testing.TB, c *client, call signal.Call) signal.Call {
	t.Helper()
	var res signal.CallResult
	c.must(signal.TypeCallAnswer, room(call), &res)
	return res.Call
}

func groupCall(t testing.TB, c *client, callType, group string, to ...string) signal.Call {
	t.Helper()
	var res signal.CallResult
	c.must(signal.TypeCallCreate, signal.CallCreateRequest{To: to, Type: callType, GroupID: group}, &res)
	return res.Call
}

func joinedJIDs(users []signal.Participant) []string {
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
	call := groupCall(t, cs["alice"], signal.TypeVideo, "team", "bob", "carol", "dave")
	if call.Mode != signal.ModeOneToMany || len(call.Participants) != 4 {
		t.Fatalf("call %+v", call)
	}
	for _, n := range names[1:] {
		cs[n].event(signal.EventIncoming, nil)
		answer(t, cs[n], call)
	}
	cs["alice"].update(func(ce signal.CallEvent) bool {
		return statuses(ce.Call) == "alice=connecting bob=connecting carol=connecting dave=connecting"
	})
	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			cs[from].must(signal.TypeCallSignal, offer(call.RoomID, to), nil)
			sig, _ := payload(t, cs[to], signal.EventSignal, func(s signal.SignalEvent) bool { return s.From == jid(from) })
			if sig.RoomID != call.RoomID {
				t.Errorf("%s→%s: %+v", from, to, sig)
			}
		}
	}
	// Leaving one by one: the call goes on while two remain.
	for i, leaver := range []string{"dave", "carol"} {
		cs[leaver].must(signal.TypeCallEnd, room(call), nil)
		for _, n := range names[:3-i] {
			up := cs[n].update(statusIs(leaver, signal.StatusDisconnected))
			if up.Call.State != signal.CallActive {
				t.Fatalf("%s left: state %s", leaver, up.Call.State)
			}
		}
		cs["alice"].must(signal.TypeCallSignal, offer(call.RoomID, "bob"), nil)
		cs["bob"].event(signal.EventSignal, nil)
	}
	cs["bob"].must(signal.TypeCallEnd, room(call), nil)
	final := cs["alice"].update(stateIs(signal.CallEnded))
	if statusOf(final.Call, jid("alice")) != signal.StatusEnded {
		t.Errorf("final %s", statuses(final.Call))
	}
}

// TestSimultaneousAnswers: two callees answering at once both join.
func TestSimultaneousAnswers(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	call := create(t, alice, signal.TypeAudio, "bob", "carol")
	bob.event(signal.EventIncoming, nil)
	carol.event(signal.EventIncoming, nil)
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
			ids[i] = c.send(signal.TypeCallAnswer, room(call))
		}()
	}
	close(start)
	wg.Wait()
	for i, c := range []*client{bob, carol} {
		if f := c.reply(ids[i]); f.Type != signal.TypeResult {
			t.Errorf("%s: answer %+v", c.name, f.Error)
		}
	}
	alice.update(func(ce signal.CallEvent) bool {
		return statuses(ce.Call) == "alice=connecting bob=connecting carol=connecting"
	})
}

// TestInvite: inviting into a running 1:1 call.
func TestInvite(t *testing.T) {
	e := newEnv(t, Config{MaxParticipants: 4})
	alice, bob, carol, dave, erin := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave"), e.register("erin")
	call := create(t, alice, signal.TypeAudio, "bob")
	answer(t, bob, call)
	alice.settle()
	bob.settle()

	// Errors change nothing.
	erin.fails(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"carol"}}, signal.CodeNotInCall, reasonNotInCall)
	alice.fails(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"Bad Name!"}}, signal.CodeBadRequest, "bad_request")
	alice.fails(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"zed"}}, signal.CodeNotFound, reasonNotFound)
	alice.fails(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"alice"}}, signal.CodeBadRequest, "bad_request")
	alice.fails(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"carol", "dave", "erin"}}, signal.CodeCallFull, reasonCallFull)
	alice.fails(signal.TypeCallInvite, signal.InviteRequest{RoomID: "nope", To: []string{"carol"}}, signal.CodeNotFound, reasonNotFound)
	bob.quiet(signal.EventUpdate)
	carol.quiet(signal.EventIncoming)

	// Already joined users are skipped; carol is rung.
	alice.must(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"bob", "carol@localhost"}}, nil)
	inv, _ := payload[signal.InviteEvent](t, bob, signal.EventInvited, nil)
	if inv.By != jid("alice") || inv.RoomID != call.RoomID || !slices.Equal(inv.Users, []string{jid("carol")}) {
		t.Errorf("invited %+v", inv)
	}
	up := bob.update(statusIs("carol", signal.StatusRinging))
	if up.Call.Mode != signal.ModeOneToMany || !slices.Equal(up.Call.Invited, []string{jid("carol")}) ||
		!participant(t, up.Call, jid("carol")).Invited || up.By != jid("alice") {
		t.Errorf("update after invite %+v", up)
	}
	alice.update(statusIs("carol", signal.StatusRinging))
	alice.quiet(signal.EventInvited)
	in := carol.callEvent(signal.EventIncoming)
	if in.Call.RoomID != call.RoomID || !participant(t, in.Call, jid("carol")).Invited {
		t.Errorf("incoming %+v", in)
	}
	// Inviting someone who is being rung changes nothing.
	alice.must(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"carol"}}, nil)
	bob.quiet(signal.EventInvited)
	answer(t, carol, call)
	bob.update(statusIs("carol", signal.StatusConnecting))

	// dave, invited by the invitee, declines, and is invited again.
	carol.must(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"dave"}}, nil)
	dave.event(signal.EventIncoming, nil)
	dave.must(signal.TypeCallDecline, room(call), nil)
	alice.update(statusIs("dave", signal.StatusDeclined))
	bob.must(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"dave"}}, nil)
	inv, _ = payload(t, alice, signal.EventInvited, func(ie signal.InviteEvent) bool { return ie.By == jid("bob") })
	if !slices.Equal(inv.Users, []string{jid("dave")}) {
		t.Errorf("second invite %+v", inv)
	}
	dave.event(signal.EventIncoming, nil)
	answer(t, dave, call)
	up = alice.update(statusIs("dave", signal.StatusConnecting))
	if len(up.Call.Participants) != 4 || !slices.Equal(up.Call.Invited, []string{jid("carol"), jid("dave")}) {
		t.Errorf("after re-invite %+v", up.Call)
	}
	// Full now: nobody else.
	alice.fails(signal.TypeCallInvite, signal.InviteRequest{RoomID: call.RoomID, To: []string{"erin"}}, signal.CodeCallFull, reasonCallFull)

	for _, c := range []*client{dave, carol, bob} {
		c.must(signal.TypeCallEnd, room(call), nil)
	}
	alice.update(stateIs(signal.CallEnded))
	want := map[*client]string{alice: signal.LogOutgoing, bob: signal.LogIncoming, carol: signal.LogIncoming, dave: signal.LogIncoming}
	for c, state := range want {
		l := logs(t, c)
		if len(l) != 1 || l[0].CallState != state || l[0].CallMode != signal.ModeOneToMany {
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
	call := create(t, alice, signal.TypeAudio, "bob")
	sw := func(c *client, action string) *signal.Error {
		return c.do(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: action}, nil)
	}
	swEvent := func(c *client, action string) (signal.SwitchEvent, signal.Frame) {
		t.Helper()
		return payload(t, c, signal.EventSwitch, func(s signal.SwitchEvent) bool { return s.Action == action })
	}
	// Before bob joins there is nobody to ask.
	alice.fails(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchRequest}, signal.CodeConflict, reasonConflict)
	answer(t, bob, call)

	for _, a := range []string{signal.SwitchAccept, signal.SwitchDecline, signal.SwitchCancel} {
		if e := sw(alice, a); e == nil || e.Code != signal.CodeConflict {
			t.Errorf("%s with nothing pending: %v", a, e)
		}
	}
	alice.fails(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchTimeout}, signal.CodeBadRequest, "bad_request")
	alice.fails(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: "teleport"}, signal.CodeBadRequest, "bad_request")
	carol.fails(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchRequest}, signal.CodeNotInCall, reasonNotInCall)

	// Cancel.
	alice.must(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchRequest}, nil)
	if ev, _ := swEvent(bob, signal.SwitchRequest); ev.From != jid("alice") || ev.RoomID != call.RoomID {
		t.Errorf("request %+v", ev)
	}
	if e := sw(alice, signal.SwitchRequest); e == nil || e.Code != signal.CodeConflict {
		t.Errorf("second request: %v", e)
	}
	if e := sw(bob, signal.SwitchCancel); e == nil || e.Code != signal.CodeConflict {
		t.Errorf("cancel by the other: %v", e)
	}
	if e := sw(alice, signal.SwitchAccept); e == nil || e.Code != signal.CodeConflict {
		t.Errorf("accept by the requester: %v", e)
	}
	alice.must(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchCancel}, nil)
	if ev, _ := swEvent(bob, signal.SwitchCancel); ev.From != jid("alice") {
		t.Errorf("cancel %+v", ev)
	}

	// Decline, from bob's request this time.
	bob.must(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchRequest}, nil)
	swEvent(alice, signal.SwitchRequest)
	alice.must(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchDecline}, nil)
	if ev, _ := swEvent(bob, signal.SwitchDecline); ev.From != jid("alice") {
		t.Errorf("decline %+v", ev)
	}

	// Timeout: both hear it, and it can no longer be accepted.
	alice.must(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchRequest}, nil)
	for _, c := range []*client{alice, bob} {
		if ev, _ := swEvent(c, signal.SwitchTimeout); ev.From != jid("alice") {
			t.Errorf("%s: timeout %+v", c.name, ev)
		}
	}
	if e := sw(bob, signal.SwitchAccept); e == nil || e.Code != signal.CodeConflict {
		t.Errorf("accept after timeout: %v", e)
	}

	// Accept: the requester hears it before the update that makes the call video.
	alice.settle()
	alice.must(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchRequest}, nil)
	swEvent(bob, signal.SwitchRequest)
	bob.must(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: call.RoomID, Action: signal.SwitchAccept}, nil)
	ev, fa := swEvent(alice, signal.SwitchAccept)
	if ev.From != jid("bob") {
		t.Errorf("accept %+v", ev)
	}
	alice.update(func(ce signal.CallEvent) bool { return ce.Call.Type == signal.TypeVideo })
	bob.update(func(ce signal.CallEvent) bool { return ce.Call.Type == signal.TypeVideo })
	alice.mu.Lock()
	var fu uint64
	for _, e := range alice.events {
		if e.Type == signal.EventUpdate && strings.Contains(string(e.Data), `"callType":"video"`) {
			fu = e.Seq
			break
		}
	}
	alice.mu.Unlock()
	if fu <= fa.Seq {
		t.Errorf("video update seq %d is not after the accept seq %d", fu, fa.Seq)
	}
	if e := sw(alice, signal.SwitchRequest); e == nil || e.Code != signal.CodeConflict {
		t.Errorf("request in a video call: %v", e)
	}
	// A pending request is cleared when a participant leaves (nothing fires later).
	alice.must(signal.TypeCallEnd, room(call), nil)
	bob.update(stateIs(signal.CallEnded))

	// Group calls do not switch.
	g := groupCall(t, alice, signal.TypeAudio, "", "bob", "carol")
	answer(t, bob, g)
	answer(t, carol, g)
	err := alice.fails(signal.TypeCallSwitch, signal.SwitchRequestPayload{RoomID: g.RoomID, Action: signal.SwitchRequest}, signal.CodeForbidden, reasonForbidden)
	if !strings.Contains(err.Message, "camera") {
		t.Errorf("403 message %q", err.Message)
	}
	bob.quiet(signal.EventSwitch)
}

// TestCustomData: order, isolation, limits.
func TestCustomData(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 10000, RateBurst: 10000})
	alice, bob, carol, erin := e.register("alice"), e.register("bob"), e.register("carol"), e.register("erin")
	call := groupCall(t, alice, signal.TypeAudio, "", "bob", "carol")
	answer(t, bob, call)
	answer(t, carol, call)
	sub := e.dial("watcher")
	sub.must(signal.TypeGuest, signal.GuestRequest{DisplayName: "Watcher"}, nil)
	sub.must(signal.TypeLinkSubscribe, signal.LinkRequest{Link: call.Link}, nil)

	const n = 100
	ids := make([]uint64, n)
	for i := range n {
		ids[i] = alice.send(signal.TypeCallData, signal.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(fmt.Sprintf(`{"n": %d, "s": "<&>"}`, i))})
	}
	for _, id := range ids {
		if f := alice.reply(id); f.Type != signal.TypeResult {
			t.Fatalf("data %d: %+v", id, f.Error)
		}
	}
	for _, c := range []*client{bob, carol} {
		c.wait("100 data events", func() bool {
			k := 0
			for _, e := range c.events {
				if e.Type == signal.EventData {
					k++
				}
			}
			return k == n
		})
		c.mu.Lock()
		i := 0
		for _, e := range c.events {
			if e.Type != signal.EventData {
				continue
			}
			var d signal.DataEvent
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
		c.quiet(signal.EventData)
	}

	// Limits and errors.
	// Exactly at the limit, with characters Go's encoder would escape (written
	// by hand, as a browser would send it).
	at := `"` + strings.Repeat("<", signal.MaxCustomDataBytes-2) + `"`
	raw := `{"type":"call.data","id":5000,"data":{"roomId":"` + call.RoomID + `","data":` + at + `}}`
	if err := alice.sendRaw(websocket.MessageText, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if r := alice.reply(5000); r.Type != signal.TypeResult {
		t.Fatalf("data at the limit: %+v", r.Error)
	}
	d, f := payload[signal.DataEvent](t, bob, signal.EventData, nil)
	if string(d.Data) != at {
		t.Errorf("relayed %d bytes, not the same", len(d.Data))
	}
	if len(f.Data) > signal.MaxCustomDataBytes+200 {
		t.Errorf("event data of %d bytes", len(f.Data))
	}
	over := json.RawMessage(`"` + strings.Repeat("x", signal.MaxCustomDataBytes) + `"`)
	alice.fails(signal.TypeCallData, signal.DataRequest{RoomID: call.RoomID, Data: over}, signal.CodeBadRequest, reasonTooLarge)
	alice.fails(signal.TypeCallData, signal.DataRequest{RoomID: call.RoomID}, signal.CodeBadRequest, "bad_request")
	alice.fails(signal.TypeCallData, signal.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`null`)}, signal.CodeBadRequest, "bad_request")
	erin.fails(signal.TypeCallData, signal.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`1`)}, signal.CodeNotInCall, reasonNotInCall)
	sub.fails(signal.TypeCallData, signal.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`1`)}, signal.CodeNotInCall, reasonNotInCall)
	bob.quiet(signal.EventData)
}

// TestGuestByLink: a guest previews a call, sees people join and leave,
// joins, relays media signals, and a second subscriber sees the end.
func TestGuestByLink(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")

	// Guest creation.
	for _, name := range []string{"", "   ", strings.Repeat("x", 65), "a\tb"} {
		c := e.dial("bad-guest")
		c.fails(signal.TypeGuest, signal.GuestRequest{DisplayName: name}, signal.CodeBadRequest, "bad_request")
	}
	g := e.dial("guest")
	var ga signal.AuthResult
	g.must(signal.TypeGuest, signal.GuestRequest{DisplayName: "  Visitor  "}, &ga)
	if !ga.User.Guest || !strings.HasPrefix(ga.User.Username, "guest-") || ga.User.DisplayName != "Visitor" ||
		ga.User.JID != ga.User.Username+"@localhost" || ga.Token == "" {
		t.Fatalf("guest %+v", ga)
	}
	gj := ga.User.JID
	g.fails(signal.TypeGuest, signal.GuestRequest{DisplayName: "again"}, signal.CodeConflict, reasonConflict)
	for _, typ := range []string{signal.TypeCallCreate, signal.TypeCallInvite, signal.TypeMeetCreate, signal.TypeCallLogs} {
		g.fails(typ, signal.CallCreateRequest{To: []string{"alice"}, Type: signal.TypeAudio}, signal.CodeForbidden, reasonForbidden)
	}
	// A guest cannot be called by name, nor log in with a password.
	alice.fails(signal.TypeCallCreate, signal.CallCreateRequest{To: []string{gj}, Type: signal.TypeAudio}, signal.CodeForbidden, reasonForbidden)
	e.dial("x").fails(signal.TypeLogin, signal.LoginRequest{Username: ga.User.Username, Password: ""}, signal.CodeUnauthorized, reasonUnauthorized)
	// Its token signs in another tab as the guest.
	g2 := e.tab(&client{auth: ga}, "guest-2")
	if !g2.auth.User.Guest || g2.auth.User.JID != gj {
		t.Errorf("guest auth %+v", g2.auth)
	}

	call := create(t, alice, signal.TypeAudio, "bob")
	answer(t, bob, call)
	alice.update(statusIs("bob", signal.StatusConnecting))

	var pv signal.LinkPreview
	g.must(signal.TypeLinkSubscribe, signal.LinkRequest{Link: "https://parley.example/join/" + call.Link}, &pv)
	if pv.RoomID != call.RoomID || pv.Type != signal.TypeAudio || !slices.Equal(joinedJIDs(pv.Users), jids("alice", "bob")) {
		t.Fatalf("preview %+v", pv)
	}
	watcher := e.dial("watcher")
	watcher.must(signal.TypeGuest, signal.GuestRequest{DisplayName: "Watcher"}, nil)
	watcher.must(signal.TypeLinkSubscribe, signal.LinkRequest{Link: call.Link}, nil)

	// A status change and a join are previewed; a mute is not.
	alice.must(signal.TypeCallMute, signal.MuteRequest{RoomID: call.RoomID, Audio: new(true)}, nil)
	alice.must(signal.TypeCallMedia, signal.MediaRequest{RoomID: call.RoomID, Status: signal.StatusConnected}, nil)
	pv, _ = payload[signal.LinkPreview](t, g, signal.EventUsers, nil)
	if len(pv.Users) != 2 || statusOf(signal.Call{Participants: pv.Users}, jid("alice")) != signal.StatusConnected {
		t.Errorf("users after media %+v", pv)
	}
	var cr signal.CallResult
	carol.must(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, &cr)
	if cr.Call.Mode != signal.ModeOneToMany || statusOf(cr.Call, jid("carol")) != signal.StatusConnecting {
		t.Errorf("carol joined %+v", cr.Call)
	}
	pv, _ = payload[signal.LinkPreview](t, g, signal.EventUsers, nil)
	if !slices.Equal(joinedJIDs(pv.Users), jids("alice", "bob", "carol")) {
		t.Errorf("users after join %+v", pv)
	}
	carol.must(signal.TypeCallEnd, room(call), nil)
	pv, _ = payload[signal.LinkPreview](t, g, signal.EventUsers, nil)
	if !slices.Equal(joinedJIDs(pv.Users), jids("alice", "bob")) {
		t.Errorf("users after leave %+v", pv)
	}
	g.quiet(signal.EventUsers)

	// The guest joins: the subscription ends and media signals flow.
	g.must(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, &cr)
	if statusOf(cr.Call, gj) != signal.StatusConnecting {
		t.Errorf("guest joined %+v", cr.Call)
	}
	up := alice.update(statusIs(strings.TrimSuffix(gj, "@localhost"), signal.StatusConnecting))
	if up.By != gj || participant(t, up.Call, gj).DisplayName != "Visitor" {
		t.Errorf("update after guest join %+v", up)
	}
	g.fails(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, signal.CodeConflict, reasonConflict)
	g2.fails(signal.TypeCallSignal, offer(call.RoomID, "alice"), signal.CodeForbidden, reasonForbidden)
	g.must(signal.TypeCallSignal, offer(call.RoomID, "alice"), nil)
	if sig, _ := payload[signal.SignalEvent](t, alice, signal.EventSignal, nil); sig.From != gj {
		t.Errorf("signal from the guest %+v", sig)
	}
	alice.must(signal.TypeCallSignal, offer(call.RoomID, gj), nil)
	if sig, _ := payload[signal.SignalEvent](t, g, signal.EventSignal, nil); sig.From != jid("alice") {
		t.Errorf("signal to the guest %+v", sig)
	}
	g.must(signal.TypeCallData, signal.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`"hi"`)}, nil)
	payload[signal.DataEvent](t, bob, signal.EventData, nil)
	payload(t, watcher, signal.EventUsers, func(p signal.LinkPreview) bool { return len(p.Users) == 3 })
	g.quiet(signal.EventUsers)
	// Unsubscribing is fine with nothing subscribed.
	g.must(signal.TypeLinkUnsubscribe, nil, nil)

	// Everybody else leaves: the call ends, and the watcher sees an empty list, once.
	for _, c := range []*client{alice, bob} {
		c.must(signal.TypeCallEnd, room(call), nil)
	}
	g.update(stateIs(signal.CallEnded))
	_, f := payload(t, watcher, signal.EventUsers, func(p signal.LinkPreview) bool { return len(p.Users) == 0 })
	if !strings.Contains(string(f.Data), `"users":[]`) {
		t.Errorf("end preview %s", f.Data)
	}
	watcher.quiet(signal.EventUsers)
	watcher.fails(signal.TypeLinkSubscribe, signal.LinkRequest{Link: call.Link}, signal.CodeCallEnded, reasonCallEnded)
	watcher.must(signal.TypeLinkUnsubscribe, nil, nil)

	// An unsubscribed session hears nothing more.
	c2 := create(t, alice, signal.TypeAudio, "bob")
	watcher.must(signal.TypeLinkSubscribe, signal.LinkRequest{Link: c2.Link}, nil)
	watcher.must(signal.TypeLinkUnsubscribe, nil, nil)
	answer(t, bob, c2)
	alice.update(statusIs("bob", signal.StatusConnecting))
	watcher.quiet(signal.EventUsers)
}

func TestGuestRateLimit(t *testing.T) {
	e := newEnv(t, Config{})
	e.hub.guestLim = newIPLimiter(0.001, 2)
	for range 2 {
		e.dial("g").must(signal.TypeGuest, signal.GuestRequest{DisplayName: "G"}, nil)
	}
	e.dial("g").fails(signal.TypeGuest, signal.GuestRequest{DisplayName: "G"}, signal.CodeRateLimited, reasonRateLimited)
}

// TestLinkErrors: bad, unknown and ended links, busy and full calls, and the
// per-address look-up limit.
func TestLinkErrors(t *testing.T) {
	e := newEnv(t, Config{MaxParticipants: 3})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	e.hub.linkLim = newIPLimiter(1000, 1000)
	for _, typ := range []string{signal.TypeLinkSubscribe, signal.TypeLinkJoin} {
		for _, l := range []string{"", "ABC-DEFG-HIJ", "abc-defg-hi", "abcdefghijkl", "x"} {
			carol.fails(typ, signal.LinkRequest{Link: l}, signal.CodeInvalidLink, reasonInvalidLink)
		}
		carol.fails(typ, signal.LinkRequest{Link: "abc-defg-hij"}, signal.CodeInvalidLink, reasonInvalidLink)
		carol.fails(typ, nil, signal.CodeBadRequest, "bad_request")
	}
	e.hub.linkLim = newIPLimiter(LinkRate, LinkBurst) // a fresh budget

	call := create(t, alice, signal.TypeAudio, "bob")
	answer(t, bob, call)
	c2 := create(t, carol, signal.TypeAudio, "dave")
	answer(t, dave, c2)
	// carol is in another call.
	carol.fails(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, signal.CodeConflict, reasonConflict)
	bob.fails(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, signal.CodeConflict, reasonConflict)
	carol.must(signal.TypeCallEnd, room(c2), nil)
	carol.must(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, nil)
	// Full at three.
	dave.fails(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, signal.CodeCallFull, reasonCallFull)
	for _, c := range []*client{alice, bob} {
		c.must(signal.TypeCallEnd, room(call), nil)
	}
	carol.update(stateIs(signal.CallEnded))
	dave.fails(signal.TypeLinkSubscribe, signal.LinkRequest{Link: call.Link}, signal.CodeCallEnded, reasonCallEnded)
	dave.fails(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, signal.CodeCallEnded, reasonCallEnded)
	dave.fails(signal.TypeLinkJoin, signal.LinkRequest{Link: c2.Link}, signal.CodeCallEnded, reasonCallEnded)

	// The look-up rate per address: a burst of 10, then 429.
	limited := 0
	for range LinkBurst + 5 {
		if err := dave.do(signal.TypeLinkSubscribe, signal.LinkRequest{Link: "abc-defg-hij"}, nil); err != nil && err.Code == signal.CodeRateLimited {
			limited++
		}
	}
	if limited < 3 {
		t.Errorf("%d of %d look-ups rate limited", limited, LinkBurst+5)
	}
	// Other requests are unaffected.
	dave.must(signal.TypePing, nil, nil)
}

// TestMeet: a call created empty that people join by link.
func TestMeet(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob, carol, dave := e.register("alice"), e.register("bob"), e.register("carol"), e.register("dave")
	alice.fails(signal.TypeMeetCreate, signal.MeetRequest{Type: "hologram"}, signal.CodeBadRequest, "bad_request")
	var res signal.CallResult
	alice.must(signal.TypeMeetCreate, signal.MeetRequest{Type: signal.TypeVideo}, &res)
	m := res.Call
	if !m.Meet || m.Mode != signal.ModeOneToMany || m.Initiator != jid("alice") || len(m.Participants) != 0 ||
		m.Participants == nil || !linkRE.MatchString(m.Link) || m.Type != signal.TypeVideo {
		t.Fatalf("meet %+v", m)
	}
	var pv signal.LinkPreview
	bob.must(signal.TypeLinkSubscribe, signal.LinkRequest{Link: m.Link}, &pv)
	if pv.Users == nil || len(pv.Users) != 0 {
		t.Errorf("empty preview %+v", pv)
	}
	// Not joined yet: no invites.
	alice.fails(signal.TypeCallInvite, signal.InviteRequest{RoomID: m.RoomID, To: []string{"dave"}}, signal.CodeNotInCall, reasonNotInCall)

	alice.must(signal.TypeLinkJoin, signal.LinkRequest{Link: m.Link}, &res)
	if p := participant(t, res.Call, jid("alice")); !p.Initiator || p.Status != signal.StatusConnecting {
		t.Errorf("creator joined %+v", res.Call)
	}
	pv, _ = payload[signal.LinkPreview](t, bob, signal.EventUsers, nil)
	if !slices.Equal(joinedJIDs(pv.Users), jids("alice")) {
		t.Errorf("preview after creator joined %+v", pv)
	}
	bob.must(signal.TypeLinkJoin, signal.LinkRequest{Link: m.Link}, nil)
	alice.update(statusIs("bob", signal.StatusConnecting))
	// Invites work once joined.
	alice.must(signal.TypeCallInvite, signal.InviteRequest{RoomID: m.RoomID, To: []string{"dave"}}, nil)
	payload[signal.InviteEvent](t, bob, signal.EventInvited, nil)
	dave.event(signal.EventIncoming, nil)
	dave.must(signal.TypeCallDecline, room(m), nil)

	// The creator leaving does not end it, even alone.
	alice.must(signal.TypeCallEnd, room(m), nil)
	if up := bob.update(statusIs("alice", signal.StatusDisconnected)); up.Call.State != signal.CallActive {
		t.Fatalf("after alice left: %+v", up.Call)
	}
	carol.must(signal.TypeLinkSubscribe, signal.LinkRequest{Link: m.Link}, nil)
	bob.must(signal.TypeCallEnd, room(m), nil)
	_, f := payload[signal.LinkPreview](t, carol, signal.EventUsers, nil)
	if !strings.Contains(string(f.Data), `"users":[]`) {
		t.Errorf("end preview %s", f.Data)
	}
	carol.fails(signal.TypeLinkJoin, signal.LinkRequest{Link: m.Link}, signal.CodeCallEnded, reasonCallEnded)
	if l := logs(t, alice); len(l) != 1 || l[0].CallState != signal.LogOutgoing || l[0].StartTime == nil || l[0].CallMode != signal.ModeOneToMany {
		t.Errorf("alice log %+v", l)
	}
	if l := logs(t, bob); len(l) != 1 || l[0].CallState != signal.LogIncoming || !slices.Equal(l[0].UserList, []string{jid("alice"), jid("bob")}) {
		t.Errorf("bob log %+v", l)
	}
	if l := logs(t, dave); len(l) != 1 || l[0].CallState != signal.LogDeclined {
		t.Errorf("dave log %+v", l)
	}
}

// TestMeetIdle: a meet nobody joins ends after the idle timeout.
func TestMeetIdle(t *testing.T) {
	e := newEnv(t, Config{MeetIdleTimeout: 150 * time.Millisecond})
	alice, bob := e.register("alice"), e.register("bob")
	var res signal.CallResult
	alice.must(signal.TypeMeetCreate, signal.MeetRequest{Type: signal.TypeAudio}, &res)
	bob.must(signal.TypeLinkSubscribe, signal.LinkRequest{Link: res.Call.Link}, nil)
	payload(t, bob, signal.EventUsers, func(p signal.LinkPreview) bool { return p.Users != nil && len(p.Users) == 0 })
	bob.fails(signal.TypeLinkJoin, signal.LinkRequest{Link: res.Call.Link}, signal.CodeCallEnded, reasonCallEnded)

	// A joined meet does not idle out.
	alice.must(signal.TypeMeetCreate, signal.MeetRequest{Type: signal.TypeAudio}, &res)
	alice.must(signal.TypeLinkJoin, signal.LinkRequest{Link: res.Call.Link}, nil)
	done := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { close(done) })
	<-done
	bob.must(signal.TypeLinkJoin, signal.LinkRequest{Link: res.Call.Link}, nil)
	alice.update(statusIs("bob", signal.StatusConnecting))
}

// TestLinkJoinPendingAndRejoin: a callee being rung who joins by link is
// answering; someone who left comes back by link in their old place.
func TestLinkJoinPendingAndRejoin(t *testing.T) {
	e := newEnv(t, Config{RingTimeout: 300 * time.Millisecond})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	bob2 := e.tab(bob, "bob-2")
	call := create(t, alice, signal.TypeAudio, "bob", "carol")
	bob.event(signal.EventIncoming, nil)
	var res signal.CallResult
	bob2.must(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, &res)
	if d := bob.dismissed(); d.Reason != signal.ReasonAnsweredElsewhere {
		t.Errorf("dismissed %+v", d)
	}
	if res.Call.State != signal.CallActive || len(res.Call.Participants) != 3 {
		t.Errorf("joined %+v", res.Call)
	}
	answer(t, carol, call)
	bob2.must(signal.TypeCallEnd, room(call), nil)
	alice.update(statusIs("bob", signal.StatusDisconnected))
	bob.must(signal.TypeLinkJoin, signal.LinkRequest{Link: call.Link}, &res)
	if len(res.Call.Participants) != 3 || res.Call.Participants[1].JID != jid("bob") || statusOf(res.Call, jid("bob")) != signal.StatusConnecting {
		t.Errorf("rejoined %s", statuses(res.Call))
	}
	alice.must(signal.TypeCallSignal, offer(call.RoomID, "bob"), nil)
	bob.event(signal.EventSignal, nil)
	bob2.quiet(signal.EventSignal)
	carol.must(signal.TypeCallEnd, room(call), nil)
	bob.must(signal.TypeCallEnd, room(call), nil)
	alice.update(stateIs(signal.CallEnded))
	bob.quiet(signal.EventMissed)
	if l := logs(t, bob); len(l) != 1 || l[0].CallState != signal.LogIncoming {
		t.Errorf("bob log %+v", l)
	}
}
