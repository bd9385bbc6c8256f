package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/cluster/natstest"
	"parley/server/store/pgtest"
)

// instance is one Parley server of a test cluster.
type instance struct {
	addr string
	logs *logLines
	stop func()
}

// leads reports whether the instance has started running the calls and
// not stepped down since.
func (in *instance) leads() bool {
	led := false
	for _, line := range in.logs.snapshot() {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		switch rec["msg"] {
		case "this instance runs the calls":
			led = true
		case "no longer leading":
			led = false
		}
	}
	return led
}

// TestClusterOfThree runs three instances on one PostgreSQL and one NATS.
// The first leads (runs the calls); clients connect to all three. Alice on
// the second instance calls Bob, whose two tabs are on the third and on the
// first: both ring, the answer on one dismisses the other, and 100 signals
// from Alice reach Bob in order. Then the leader stops: another instance
// takes over, restores the call from PostgreSQL, and Alice and Bob resume
// their sessions and the call through the instances they reconnect to.
func TestClusterOfThree(t *testing.T) {
	dsn := pgtest.Start(t).DSN(t)
	nats := natstest.Start(t)
	// A lease that a loaded test machine's pauses cannot make change hands.
	env := map[string]string{"PARLEY_DATABASE": dsn, "PARLEY_NATS": nats.URL(), "PARLEY_NATS_LEASE": "3s"}
	start := func() *instance {
		logs, stop := serveJSON(t, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, env)
		t.Cleanup(stop)
		return &instance{addr: logs.record(t, "listening")["addr"].(string), logs: logs, stop: stop}
	}
	first := start()
	first.logs.record(t, "this instance runs the calls")
	second, third := start(), start()

	alice := dialWS(t, second.addr)
	var aliceAuth, bobAuth wire.AuthResult
	alice.must(wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "password-alice"}, &aliceAuth)
	bob := dialWS(t, third.addr)
	bob.must(wire.TypeRegister, wire.RegisterRequest{Username: "bob", Password: "password-bob"}, &bobAuth)
	bob2 := dialWS(t, first.addr)
	var bob2Auth wire.AuthResult
	bob2.must(wire.TypeAuth, wire.AuthRequest{Token: bobAuth.Token}, &bob2Auth)

	var created wire.CallResult
	alice.must(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"bob@localhost"}, Type: wire.TypeAudio}, &created)
	room := created.Call.RoomID
	bob.event(wire.EventIncoming)
	bob2.event(wire.EventIncoming)
	bob.must(wire.TypeCallAnswer, wire.AnswerRequest{RoomID: room}, nil)
	bob2.event(wire.EventDismissed)

	// Signals cross two instances (second -> first, which leads -> third)
	// in order.
	const signals = 100
	sendSignals := func(from *wsClient, tag string) {
		for i := range signals {
			from.must(wire.TypeCallSignal, wire.SignalRequest{RoomID: room, To: "bob@localhost",
				Payload: wire.Payload{Candidate: &wire.Candidate{Candidate: fmt.Sprintf("%s-%d", tag, i)}}}, nil)
		}
	}
	readSignals := func(to *wsClient, tag string) {
		for i := range signals {
			var ev wire.SignalEvent
			if err := json.Unmarshal(to.event(wire.EventSignal).Data, &ev); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("%s-%d", tag, i); ev.Payload.Candidate == nil || ev.Payload.Candidate.Candidate != want {
				t.Fatalf("signal %d reads %+v, want %s", i, ev.Payload, want)
			}
		}
	}
	sendSignals(alice, "before")
	readSignals(bob, "before")

	// The leader stops. Its own client's socket and those carried from the
	// other instances close; one of the others leads and restores the call.
	stopped := time.Now()
	go first.stop() // returns once serve has; t.Cleanup waits for it too
	closed := func(c *wsClient) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for { // the socket closes with "server shutting down"
			if _, _, err := c.ws.Read(ctx); err != nil {
				if code := websocket.CloseStatus(err); code != websocket.StatusCode(wire.CloseShutdown) {
					t.Fatalf("the old socket ended with %v, want the shutdown code", err)
				}
				return
			}
		}
	}
	closed(alice)
	closed(bob)
	closed(bob2)
	var next *instance
	for next == nil {
		if time.Since(stopped) > 30*time.Second {
			t.Fatalf("no instance took over within 30 s")
		}
		for _, in := range []*instance{second, third} {
			if in.leads() {
				next = in
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%s leads %v after the first stopped", next.addr, time.Since(stopped).Round(time.Millisecond))

	resume := func(old *wsClient, addr string, auth wire.AuthResult) *wsClient {
		t.Helper()
		c := dialWS(t, addr)
		var res wire.AuthResult
		c.must(wire.TypeAuth, wire.AuthRequest{Token: auth.Token, Resume: auth.Session, LastSeq: old.seq}, &res)
		if !res.Resumed || res.Call == nil || res.Call.RoomID != room {
			t.Fatalf("resume on %s: resumed %v, call %+v", addr, res.Resumed, res.Call)
		}
		return c
	}
	alice = resume(alice, third.addr, aliceAuth)
	bob = resume(bob, second.addr, bobAuth)
	t.Logf("both resumed %v after the first stopped", time.Since(stopped).Round(time.Millisecond))

	sendSignals(alice, "after")
	readSignals(bob, "after")
	alice.must(wire.TypeCallEnd, wire.RoomRequest{RoomID: room}, nil)
	var logs wire.CallLogPage
	bob.must(wire.TypeCallLogs, wire.CallLogsRequest{Page: 1}, &logs)
	if len(logs.CallLogs) != 1 || logs.CallLogs[0].RoomID != room {
		t.Fatalf("bob's call log after the call: %+v", logs.CallLogs)
	}

	// An instance that cannot reach NATS is not ready.
	if code, body := httpGet(t, "http://"+second.addr+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with NATS up: %d %q", code, body)
	}
	nats.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := httpGet(t, "http://"+second.addr+"/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "NATS") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with NATS down: %d %q", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether c's socket still answers a ping within 5 s; events
// read meanwhile are kept for event.
func (c *wsClient) alive() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.send(ctx, wire.TypePing, nil); err != nil {
		return false
	}
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			return false
		}
		r, err := wire.Decode(data)
		if err != nil {
			return false
		}
		c.seq = max(c.seq, r.Seq)
		if r.Type == wire.TypeResult || r.Type == wire.TypeError {
			if r.ID == c.id {
				return r.Type == wire.TypeResult
			}
			continue
		}
		c.events = append(c.events, r)
	}
}

// member is a client in a call that moves between instances.
type member struct {
	c    *wsClient
	auth wire.AuthResult
	jid  string
}

// rejoin connects m to the first of addrs that takes it and resumes its
// session, which must still be in room; it retries for 30 s (a failover
// may be under way).
func rejoin(t *testing.T, m *member, addrs []string, room string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, addr := range addrs {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
			cancel()
			if err != nil {
				continue
			}
			c := &wsClient{t: t, ws: ws}
			var res wire.AuthResult
			if e := c.do(wire.TypeAuth, wire.AuthRequest{Token: m.auth.Token, Resume: m.auth.Session, LastSeq: m.c.seq}, &res); e != nil {
				ws.CloseNow()
				continue
			}
			if !res.Resumed || res.Call == nil || res.Call.RoomID != room {
				t.Fatalf("%s resumed on %s: resumed %v, call %+v", m.jid, addr, res.Resumed, res.Call)
			}
			m.c.ws.CloseNow()
			c.seq = m.c.seq
			c.events = m.c.events
			t.Cleanup(func() { ws.CloseNow() })
			m.c = c
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s could not resume on any of %v", m.jid, addrs)
}

// signalTo sends a signal tagged tag from one member to another and waits
// for it there.
func signalTo(t *testing.T, room string, from, to *member, tag string) {
	t.Helper()
	from.c.must(wire.TypeCallSignal, wire.SignalRequest{RoomID: room, To: to.jid,
		Payload: wire.Payload{Candidate: &wire.Candidate{Candidate: tag}}}, nil)
	for {
		var ev wire.SignalEvent
		if err := json.Unmarshal(to.c.event(wire.EventSignal).Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Payload.Candidate != nil && ev.Payload.Candidate.Candidate == tag {
			return
		}
	}
}

// TestClusterRollingRestart restarts each of three instances in turn, the
// leader last, as a rolling upgrade does (SIGINT, then a new process on the
// same address), while Alice (on the second) and Bob (on the third) are in
// a call: after each step, whoever lost their socket reconnects to a live
// instance and resumes, the call is the same one, and signals flow both
// ways. The call ends normally at the end and is in Bob's log.
func TestClusterRollingRestart(t *testing.T) {
	dsn := pgtest.Start(t).DSN(t)
	nats := natstest.Start(t)
	env := map[string]string{"PARLEY_DATABASE": dsn, "PARLEY_NATS": nats.URL(), "PARLEY_NATS_LEASE": "3s"}
	start := func(addr string) *instance {
		logs, stop := serveJSON(t, []string{"-addr", addr, "-data", t.TempDir()}, env)
		t.Cleanup(stop)
		return &instance{addr: logs.record(t, "listening")["addr"].(string), logs: logs, stop: stop}
	}
	insts := []*instance{start("127.0.0.1:0")}
	insts[0].logs.record(t, "this instance runs the calls")
	insts = append(insts, start("127.0.0.1:0"), start("127.0.0.1:0"))

	alice := &member{c: dialWS(t, insts[1].addr), jid: "alice@localhost"}
	alice.c.must(wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "password-alice"}, &alice.auth)
	bob := &member{c: dialWS(t, insts[2].addr), jid: "bob@localhost"}
	bob.c.must(wire.TypeRegister, wire.RegisterRequest{Username: "bob", Password: "password-bob"}, &bob.auth)
	var created wire.CallResult
	alice.c.must(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{bob.jid}, Type: wire.TypeAudio}, &created)
	room := created.Call.RoomID
	bob.c.event(wire.EventIncoming)
	bob.c.must(wire.TypeCallAnswer, wire.AnswerRequest{RoomID: room}, nil)
	signalTo(t, room, alice, bob, "start")

	for step, i := range []int{1, 2, 0} {
		old := insts[i]
		old.stop() // the leader's waits for its sockets' closing handshakes (up to 5 s)
		var others []string
		for j, in := range insts {
			if j != i {
				others = append(others, in.addr)
			}
		}
		for _, m := range []*member{alice, bob} {
			if !m.c.alive() {
				rejoin(t, m, others, room)
			}
		}
		insts[i] = start(old.addr)
		tag := fmt.Sprintf("after restarting instance %d", i+1)
		signalTo(t, room, alice, bob, tag)
		signalTo(t, room, bob, alice, tag)
		t.Logf("step %d: instance %d restarted; the call goes on", step+1, i+1)
	}
	alice.c.must(wire.TypeCallEnd, wire.RoomRequest{RoomID: room}, nil)
	var logs wire.CallLogPage
	bob.c.must(wire.TypeCallLogs, wire.CallLogsRequest{Page: 1}, &logs)
	if len(logs.CallLogs) != 1 || logs.CallLogs[0].RoomID != room {
		t.Fatalf("bob's call log after the call: %+v", logs.CallLogs)
	}
}
