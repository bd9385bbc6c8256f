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
