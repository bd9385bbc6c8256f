package hub

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/store"
)

// These tests restart the hub on the same SQLite file, as a new process on
// the same -data would: killed (no goodbye, whatever was being written may or
// may not be on disk) or shut down gracefully. Clients resume with their
// token, session and lastSeq, as the engine does.

// kill stops h as kill -9 would: nothing more reaches the store or the
// sockets from it, and every connection just drops.
func (h *Hub) kill() {
	h.mu.Lock()
	h.closed = true
	for _, t := range h.timers {
		t.Stop()
	}
	for _, s := range h.sessions {
		if s.grace != nil {
			s.grace.Stop()
		}
	}
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.ws.CloseNow()
	}
}

// restart replaces the hub with a new one on the same store, killed or shut
// down first, restores the saved calls and serves them at a new URL. It
// returns how many calls came back.
func (e *env) restart(kill bool) int {
	e.t.Helper()
	if kill {
		e.hub.kill()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := e.hub.Shutdown(ctx); err != nil {
			e.t.Fatalf("Shutdown: %v", err)
		}
	}
	e.srv.Close()
	h := New(e.cfg, e.st)
	n, err := h.Restore(context.Background())
	if err != nil {
		e.t.Fatalf("Restore: %v", err)
	}
	e.hub, e.srv = h, httptest.NewServer(h)
	e.url = "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws"
	srv := e.srv
	e.t.Cleanup(srv.Close)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			e.t.Errorf("Shutdown: %v", err)
		}
	})
	return n
}

// resume reconnects c's session to the current hub, as name.
func (e *env) resume(c *client, name string) (*client, wire.AuthResult) {
	e.t.Helper()
	n := e.dial(name)
	var res wire.AuthResult
	n.must(wire.TypeAuth, wire.AuthRequest{Token: c.auth.Token, Resume: c.auth.Session, LastSeq: c.seq()}, &res)
	n.auth = res
	return n, res
}

// logsOf reads name's call logs from the store.
func logsOf(t *testing.T, e *env, name string) []wire.CallLog {
	t.Helper()
	u, err := e.st.UserByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.st.CallLogs(context.Background(), u.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p.CallLogs
}

// TestRestartKeepsCall: a 1:1 call goes on through a restart of the server,
// killed or shut down: both members come back into it (reconnecting until
// they do), every call request works in it again, and each gets one log
// with the whole duration.
func TestRestartKeepsCall(t *testing.T) {
	for _, kill := range []bool{true, false} {
		name := map[bool]string{true: "kill", false: "shutdown"}[kill]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, Config{})
			alice, bob := e.register("alice"), e.register("bob")
			call := create(t, alice, wire.TypeAudio, "bob")
			bob.must(wire.TypeCallAnswer, room(call), nil)
			for _, c := range []*client{alice, bob} {
				c.must(wire.TypeCallMedia, wire.MediaRequest{RoomID: call.RoomID, Status: wire.StatusConnected}, nil)
			}
			up := alice.update(func(ce wire.CallEvent) bool {
				return statusOf(ce.Call, jid("alice")) == wire.StatusConnected && statusOf(ce.Call, jid("bob")) == wire.StatusConnected
			})
			bob.update(statusIs("alice", wire.StatusConnected))
			started := up.Call.StartedAt
			if !kill {
				// A graceful shutdown tells clients to come back, and ends nothing.
				defer func() {
					for _, c := range []*client{alice, bob} {
						c.mu.Lock()
						for _, ev := range c.events {
							if ev.Type == wire.EventUpdate && strings.Contains(string(ev.Data), `"state":"ended"`) && !ev.used {
								t.Errorf("%s: the shutdown ended the call: %s", c.name, ev.Data)
							}
						}
						c.mu.Unlock()
					}
				}()
			}
			if n := e.restart(kill); n != 1 {
				t.Fatalf("restored %d calls, want 1", n)
			}
			if !kill {
				alice.expectClose(wire.CloseShutdown)
			}

			a2, res := e.resume(alice, "alice2")
			if !res.Resumed || res.Session != alice.auth.Session || res.Call == nil || res.Call.RoomID != call.RoomID {
				t.Fatalf("alice's resume after the restart: %+v", res)
			}
			if st := statusOf(*res.Call, jid("alice")); st != wire.StatusConnected {
				t.Errorf("alice resumed as %q, want connected: %s", st, statuses(*res.Call))
			}
			if st := statusOf(*res.Call, jid("bob")); st != wire.StatusReconnecting {
				t.Errorf("bob, not back yet, is %q, want reconnecting", st)
			}
			if res.Call.StartedAt != started || res.Call.State != wire.CallStateActive {
				t.Errorf("restored call start %d state %q, want %d active", res.Call.StartedAt, res.Call.State, started)
			}
			b2, res := e.resume(bob, "bob2")
			if !res.Resumed || res.Call == nil {
				t.Fatalf("bob's resume after the restart: %+v", res)
			}
			a2.update(statusIs("bob", wire.StatusConnected))

			// Every request works in the same call.
			b2.must(wire.TypeCallMute, wire.MuteRequest{RoomID: call.RoomID, Audio: new(true)}, nil)
			a2.update(func(ce wire.CallEvent) bool { return participant(t, ce.Call, jid("bob")).AudioMuted })
			a2.must(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`{"n":1}`)}, nil)
			b2.event(wire.EventData, nil)
			a2.must(wire.TypeCallSignal, offer(call.RoomID, jid("bob")), nil)
			b2.event(wire.EventSignal, nil)
			b2.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
			a2.event(wire.EventSwitch, nil)
			a2.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchAccept}, nil)
			b2.update(func(ce wire.CallEvent) bool { return ce.Call.Type == wire.TypeVideo })
			carol := e.register("carol")
			a2.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: call.RoomID, To: []string{jid("carol")}}, nil)
			carol.event(wire.EventIncoming, nil)
			carol.must(wire.TypeCallDecline, room(call), nil)
			a2.must(wire.TypeCallEnd, room(call), nil)
			b2.update(stateIs(wire.CallStateEnded))

			for _, who := range []string{"alice", "bob"} {
				l := logsOf(t, e, who)
				if len(l) != 1 || l[0].StartTime == nil || *l[0].StartTime != started || l[0].Duration != l[0].EndTime-started {
					t.Errorf("%s's logs after the restart: %+v, want one from the call's start %d", who, l, started)
				}
			}
			if live, _ := e.st.LiveCalls(context.Background()); len(live) != 0 {
				t.Errorf("the ended call is still saved as live: %d", len(live))
			}
		})
	}
}

// TestRestartMembersNeverReturn: members who do not resume within the grace
// after a restart leave, as a dropped tab's member does; the call goes on
// for those who came back, and ends, logged, when too few are left.
func TestRestartMembersNeverReturn(t *testing.T) {
	e := newEnv(t, Config{ResumeGrace: time.Second})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	call := create(t, alice, wire.TypeVideo, "bob", "carol")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	carol.must(wire.TypeCallAnswer, room(call), nil)
	alice.update(statusIs("carol", wire.StatusConnecting))
	e.restart(true)
	a2, _ := e.resume(alice, "alice2")
	b2, _ := e.resume(bob, "bob2")
	up := a2.update(statusIs("carol", wire.StatusDisconnected))
	if statusOf(up.Call, jid("bob")) != wire.StatusConnecting || up.Call.State != wire.CallStateActive {
		t.Errorf("after carol's grace: %s (%s)", statuses(up.Call), up.Call.State)
	}
	if l := logsOf(t, e, "carol"); len(l) != 1 || l[0].CallState != wire.LogIncoming {
		t.Errorf("carol's logs: %+v", l)
	}
	// Now bob drops for good too: the call ends for alice.
	b2.ws.CloseNow()
	a2.update(stateIs(wire.CallStateEnded))
	for _, who := range []string{"alice", "bob"} {
		if l := logsOf(t, e, who); len(l) != 1 {
			t.Errorf("%s's logs: %+v", who, l)
		}
	}

	// A call nobody comes back to ends after the grace, logged for both.
	dave, erin := e.register("dave"), e.register("erin")
	c2 := create(t, dave, wire.TypeAudio, "erin")
	erin.must(wire.TypeCallAnswer, room(c2), nil)
	dave.update(statusIs("erin", wire.StatusConnecting))
	e.restart(true)
	deadline := time.Now().Add(waitTimeout)
	for len(logsOf(t, e, "dave")) == 0 || len(logsOf(t, e, "erin")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned call was never logged")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l := logsOf(t, e, "erin"); l[0].CallState != wire.LogIncoming || l[0].StartTime == nil {
		t.Errorf("erin's log: %+v", l[0])
	}
}

// TestRestartWhileRinging: a callee rung when the server restarted is rung
// again when a tab of theirs signs in, can answer, and a ring that runs out
// meanwhile ends the call cleanly for both, with logs.
func TestRestartWhileRinging(t *testing.T) {
	t.Run("answered after", func(t *testing.T) {
		e := newEnv(t, Config{})
		alice, bob := e.register("alice"), e.register("bob")
		call := create(t, alice, wire.TypeVideo, "bob")
		bob.event(wire.EventIncoming, nil)
		e.restart(true)
		a2, res := e.resume(alice, "alice2")
		if res.Call == nil || statusOf(*res.Call, jid("bob")) != wire.StatusRinging {
			t.Fatalf("alice's call after the restart: %+v", res.Call)
		}
		b2, res := e.resume(bob, "bob2") // bob's tab was in no call: a new session
		if res.Resumed {
			t.Errorf("bob's idle tab resumed: %+v", res)
		}
		in := b2.callEvent(wire.EventIncoming)
		if in.Call.RoomID != call.RoomID {
			t.Fatalf("bob rung for %+v", in.Call)
		}
		b2.must(wire.TypeCallAnswer, room(call), nil)
		a2.update(statusIs("bob", wire.StatusConnecting))
	})
	t.Run("ring runs out", func(t *testing.T) {
		e := newEnv(t, Config{RingTimeout: 1500 * time.Millisecond})
		alice, bob := e.register("alice"), e.register("bob")
		create(t, alice, wire.TypeAudio, "bob")
		bob.event(wire.EventIncoming, nil)
		e.restart(true)
		a2, _ := e.resume(alice, "alice2")
		final := a2.update(stateIs(wire.CallStateEnded))
		if statusOf(final.Call, jid("bob")) != wire.StatusNoAnswer {
			t.Errorf("after the ring ran out: %s", statuses(final.Call))
		}
		if l := logsOf(t, e, "bob"); len(l) != 1 || l[0].CallState != wire.LogMissed {
			t.Errorf("bob's logs: %+v", l)
		}
		if l := logsOf(t, e, "alice"); len(l) != 1 || l[0].CallState != wire.LogOutgoing {
			t.Errorf("alice's logs: %+v", l)
		}
	})
}

// TestRestartDuringSwitch: a pending switch-to-video request survives the
// restart: it can be accepted after, or times out as it would have.
func TestRestartDuringSwitch(t *testing.T) {
	for _, accept := range []bool{true, false} {
		name := map[bool]string{true: "accepted", false: "times out"}[accept]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, Config{SwitchTimeout: 1500 * time.Millisecond})
			alice, bob := e.register("alice"), e.register("bob")
			call := create(t, alice, wire.TypeAudio, "bob")
			bob.must(wire.TypeCallAnswer, room(call), nil)
			alice.update(statusIs("bob", wire.StatusConnecting))
			alice.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchRequest}, nil)
			bob.event(wire.EventSwitch, nil)
			e.restart(true)
			a2, _ := e.resume(alice, "alice2")
			b2, _ := e.resume(bob, "bob2")
			if !accept {
				sw, _ := payload[wire.SwitchEvent](t, a2, wire.EventSwitch, nil)
				if sw.Action != wire.SwitchTimeout {
					t.Errorf("alice got %+v, want a timeout", sw)
				}
				return
			}
			b2.must(wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: call.RoomID, Action: wire.SwitchAccept}, nil)
			sw, _ := payload[wire.SwitchEvent](t, a2, wire.EventSwitch, nil)
			if sw.Action != wire.SwitchAccept {
				t.Errorf("alice got %+v, want accept", sw)
			}
			a2.update(func(ce wire.CallEvent) bool { return ce.Call.Type == wire.TypeVideo })
		})
	}
}

// TestRestartEarlyEvents: events for a member who has not resumed yet after
// a restart wait for them and arrive numbered after their lastSeq, in order.
func TestRestartEarlyEvents(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	alice.update(statusIs("bob", wire.StatusConnecting))
	bob.update(statusIs("bob", wire.StatusConnecting))
	e.restart(true)
	a2, _ := e.resume(alice, "alice2")
	for i := range 3 {
		a2.must(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`{"n":` + string(rune('0'+i)) + `}`)}, nil)
	}
	last := bob.seq()
	b2, res := e.resume(bob, "bob2")
	if !res.Resumed {
		t.Fatalf("bob not resumed: %+v", res)
	}
	var seqs []uint64
	for i := range 3 {
		_, f := payload[wire.DataEvent](t, b2, wire.EventData, func(d wire.DataEvent) bool {
			return string(d.Data) == `{"n":`+string(rune('0'+i))+`}`
		})
		seqs = append(seqs, f.Seq)
	}
	if seqs[0] <= last || seqs[1] != seqs[0]+1 || seqs[2] != seqs[1]+1 {
		t.Errorf("data numbered %v after bob's lastSeq %d", seqs, last)
	}
	// Numbering goes on from there: a later drop resumes without a gap.
	b2.settle()
	mid := b2.seq()
	b2.ws.CloseNow()
	a2.update(statusIs("bob", wire.StatusReconnecting))
	a2.must(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`"x"`)}, nil)
	b3 := e.dial("bob3")
	b3.must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: mid}, nil)
	payload[wire.DataEvent](t, b3, wire.EventData, nil)
	b3.mu.Lock()
	defer b3.mu.Unlock()
	if first := b3.events[0].Seq; first != mid+1 {
		t.Errorf("after the next drop: first event seq %d, want %d", first, mid+1)
	}
}

// TestRestartMeetCall: a meet call joined by a guest comes back too, and
// still counts against its creator's live meet links.
func TestRestartMeetCall(t *testing.T) {
	e := newEnv(t, Config{MaxMeetLinksPerUser: 1})
	alice := e.register("alice")
	var meet wire.CallResult
	alice.must(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeVideo, Open: true}, &meet)
	alice.must(wire.TypeLinkJoin, wire.LinkRequest{Link: meet.Call.Link}, nil)
	g := e.dial("guest")
	g.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Visitor"}, &g.auth)
	g.must(wire.TypeLinkJoin, wire.LinkRequest{Link: meet.Call.Link}, nil)
	alice.update(func(ce wire.CallEvent) bool { return len(ce.Call.Participants) == 2 })
	e.restart(true)
	a2, res := e.resume(alice, "alice2")
	if res.Call == nil || !res.Call.Meet || res.Call.Link != meet.Call.Link {
		t.Fatalf("meet call after the restart: %+v", res.Call)
	}
	g2, res := e.resume(g, "guest2")
	if !res.Resumed || res.Call == nil || !res.User.Guest {
		t.Fatalf("guest after the restart: %+v", res)
	}
	a2.update(func(ce wire.CallEvent) bool {
		p := ce.Call.Participant(g.auth.User.JID)
		return p != nil && p.Status == wire.StatusConnecting && p.Guest
	})
	a2.fails(wire.TypeMeetCreate, wire.MeetRequest{Type: wire.TypeVideo}, wire.CodeRateLimited, wire.ReasonLimitReached)
	g2.must(wire.TypeCallEnd, room(*res.Call), nil)
	a2.update(func(ce wire.CallEvent) bool { return statusOf(ce.Call, g.auth.User.JID) == wire.StatusDisconnected })
}

// TestRestoreDropsUnreadable: a saved call that cannot be read is dropped
// (and logged); the others come back.
func TestRestoreDropsUnreadable(t *testing.T) {
	e := newEnv(t, Config{})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	alice.update(statusIs("bob", wire.StatusConnecting))
	e.hub.kill()
	bad := []store.LiveCall{{RoomID: "junk", State: []byte(`{"v":1,`)}, {RoomID: "future", State: []byte(`{"v":99}`)}}
	if err := e.st.SaveCalls(context.Background(), nil, bad); err != nil {
		t.Fatal(err)
	}
	if n := e.restart(true); n != 1 {
		t.Errorf("restored %d calls, want 1", n)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		live, err := e.st.LiveCalls(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(live) == 1 && live[0].RoomID == call.RoomID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("saved calls after restoring: %d, want only the good one", len(live))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FuzzRestoreCall: whatever bytes a saved call holds (a corrupt or edited
// database), restoring it either fails with an error or yields a call the
// core can run: it saves back to a form that restores again, and its
// members can resume and leave.
func FuzzRestoreCall(f *testing.F) {
	w := newWorld(f)
	w.k.addTab(&effects{}, account("alice"), "alice")
	w.k.addTab(&effects{}, account("bob"), "bob")
	cl, e := w.k.create(&effects{}, "alice", wire.CallCreateRequest{To: []string{jid("bob")}, Type: wire.TypeAudio},
		[]store.User{account("bob")}, nil, nil)
	if e != nil {
		f.Fatal(e)
	}
	f.Add(encodeLive(w.k.calls[cl.RoomID]))
	if _, e := w.k.answer(&effects{}, "bob", wire.AnswerRequest{RoomID: cl.RoomID}); e != nil {
		f.Fatal(e)
	}
	f.Add(encodeLive(w.k.calls[cl.RoomID]))
	f.Add([]byte(`{"v":1,"snap":{"roomId":"r","participants":[{"userJid":"a@localhost","status":"connected"}]},"link":"l","parts":[{"uid":1,"name":"a","tab":"t"}],"switch":{"from":0,"to":5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k := newCore(coreConfig{Domain: "localhost", MaxParticipants: 8, RingTimeout: time.Second,
			SwitchTimeout: time.Second, MeetIdleTimeout: time.Second, KnockTimeout: time.Second}, testLogger(t))
		fx := &effects{}
		cl, tabs, err := k.restoreCall(fx, data, 1000)
		if err != nil {
			return
		}
		k2 := newCore(k.cfg, testLogger(t))
		if _, _, err := k2.restoreCall(&effects{}, encodeLive(cl), 1000); err != nil {
			t.Fatalf("a restored call does not restore again: %v", err)
		}
		for _, id := range tabs {
			k.resumeTab(fx, id)
			k.removeTab(fx, id)
		}
		k.drainLive()
		if err := k.checkSaved(); err != nil {
			t.Fatal(err)
		}
	})
}
