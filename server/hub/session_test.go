package hub

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

func TestResume(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeVideo, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	bob.must(wire.TypeCallMedia, wire.MediaRequest{RoomID: call.RoomID, Status: wire.StatusConnected}, nil)
	alice.update(statusIs("bob", wire.StatusConnected))
	bob.update(statusIs("bob", wire.StatusConnected))
	lastSeq := bob.seq()

	// Bob's connection drops.
	bob.ws.CloseNow()
	up := alice.update(statusIs("bob", wire.StatusReconnecting))
	if up.By != jid("bob") {
		t.Errorf("reconnecting update by %q", up.By)
	}
	// Events for bob while he is away are kept.
	alice.must(wire.TypeCallSignal, offer(call.RoomID, "bob"), nil)
	alice.must(wire.TypeCallMute, wire.MuteRequest{RoomID: call.RoomID, Video: new(true)}, nil)

	b2 := e.dial("bob-resumed")
	var res wire.AuthResult
	b2.must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: lastSeq}, &res)
	if !res.Resumed || res.Session != bob.auth.Session || res.Call == nil || res.Call.RoomID != call.RoomID ||
		statusOf(*res.Call, jid("bob")) != wire.StatusConnected {
		t.Fatalf("resume result %+v", res)
	}
	// The replay: everything after lastSeq, in order, then the restore.
	f1 := b2.event(wire.EventUpdate, nil)
	f2 := b2.event(wire.EventSignal, nil)
	f3 := b2.event(wire.EventUpdate, nil)
	f4 := b2.event(wire.EventUpdate, nil)
	if f1.Seq != lastSeq+1 || f2.Seq != lastSeq+2 || f3.Seq != lastSeq+3 || f4.Seq != lastSeq+4 {
		t.Errorf("replayed seqs %d %d %d %d after %d", f1.Seq, f2.Seq, f3.Seq, f4.Seq, lastSeq)
	}
	var ce wire.CallEvent
	json.Unmarshal(f1.Data, &ce)
	if statusOf(ce.Call, jid("bob")) != wire.StatusReconnecting {
		t.Errorf("first replayed event %s", f1.Data)
	}
	json.Unmarshal(f3.Data, &ce)
	if !participant(t, ce.Call, jid("alice")).VideoMuted {
		t.Errorf("third replayed event %s", f3.Data)
	}
	json.Unmarshal(f4.Data, &ce)
	if statusOf(ce.Call, jid("bob")) != wire.StatusConnected || ce.By != jid("bob") {
		t.Errorf("restore event %s", f4.Data)
	}
	alice.update(statusIs("bob", wire.StatusConnected))

	// The resumed session is bound to the call: it signals.
	b2.must(wire.TypeCallSignal, offer(call.RoomID, "alice"), nil)
	alice.event(wire.EventSignal, nil)

	// Resuming a session whose connection is still open replaces it.
	b3 := e.dial("bob-3")
	res = wire.AuthResult{}
	b3.must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: b2.seq()}, &res)
	if !res.Resumed {
		t.Fatal("not resumed")
	}
	b2.expectClose(wire.CloseReplaced)
	b3.must(wire.TypeCallEnd, room(call), nil)
	alice.update(stateIs(wire.CallStateEnded))

	// Another user cannot resume bob's session.
	c := e.register("carol")
	m := e.dial("mallory")
	res = wire.AuthResult{}
	m.must(wire.TypeAuth, wire.AuthRequest{Token: c.auth.Token, Resume: bob.auth.Session}, &res)
	if res.Resumed || res.User.Username != "carol" {
		t.Errorf("carol resumed bob's session: %+v", res)
	}
}

func TestGraceExpiry(t *testing.T) {
	e := newEnv(t, Config{ResumeGrace: 200 * time.Millisecond})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	bob.ws.CloseNow()
	alice.update(statusIs("bob", wire.StatusReconnecting))
	final := alice.update(stateIs(wire.CallStateEnded))
	if statusOf(final.Call, jid("bob")) != wire.StatusDisconnected {
		t.Errorf("after grace: %s", statuses(final.Call))
	}
	b2 := e.dial("bob-late")
	var res wire.AuthResult
	b2.must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: 1}, &res)
	if res.Resumed {
		t.Error("resumed after the grace period")
	}
	if lb := logs(t, b2); len(lb) != 1 || lb[0].CallState != wire.LogIncoming || lb[0].StartTime == nil {
		t.Errorf("bob log %+v", lb)
	}
}

func TestLogoutLeavesCall(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	bob.must(wire.TypeLogout, nil, nil)
	bob.expectClose(wire.CloseLoggedOut)
	final := alice.update(stateIs(wire.CallStateEnded))
	if statusOf(final.Call, jid("bob")) != wire.StatusDisconnected {
		t.Errorf("after logout: %s", statuses(final.Call))
	}
}

func TestStateCleanup(t *testing.T) {
	e := newEnv(t, Config{ResumeGrace: 50 * time.Millisecond})
	alice := e.register("alice")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)
	alice.must(wire.TypeCallEnd, room(call), nil)
	bob.update(stateIs(wire.CallStateEnded))
	alice.ws.CloseNow()
	bob.ws.CloseNow()
	deadline := time.Now().Add(waitTimeout)
	for {
		e.hub.mu.Lock()
		n := len(e.hub.core.calls) + len(e.hub.core.users) + len(e.hub.sessions) + len(e.hub.conns) + len(e.hub.core.links)
		e.hub.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d hub entries left", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlowConsumer: a connection that stops reading is cut once its queue
// overflows; its call shows it reconnecting and the relay keeps serving others.
func TestSlowConsumer(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 10000, RateBurst: 10000})
	e.hub.queueLimit = 8
	alice := e.register("alice")
	bob := e.register("bob")
	bobToken := bob.auth.Token
	bob.ws.CloseNow()

	// A raw connection for bob that never reads.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	write := func(typ string, id uint64, payload any) {
		f, _ := wire.Request(typ, id, payload)
		b, _ := wire.Encode(f)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	write(wire.TypeAuth, 1, wire.AuthRequest{Token: bobToken})
	call := create(t, alice, wire.TypeAudio, "bob")
	write(wire.TypeCallAnswer, 2, room(call))
	alice.update(statusIs("bob", wire.StatusConnecting))

	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	req := wire.SignalRequest{RoomID: call.RoomID, To: "bob", Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "offer", SDP: string(big)}}}
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("bob's connection was never cut")
		}
		// Bob stays a member while reconnecting, so every signal is accepted.
		if e := alice.do(wire.TypeCallSignal, req, nil); e != nil {
			t.Fatalf("signal %d: %v", i, e)
		}
		alice.mu.Lock()
		cut := false
		for _, ev := range alice.events {
			var ce wire.CallEvent
			if ev.Type == wire.EventUpdate && json.Unmarshal(ev.Data, &ce) == nil && statusOf(ce.Call, jid("bob")) == wire.StatusReconnecting {
				cut = true
			}
		}
		alice.mu.Unlock()
		if cut {
			break
		}
	}
	alice.must(wire.TypePing, nil, nil)
}
