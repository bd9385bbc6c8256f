package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/cluster/natstest"
	"parley/server/store/pgtest"
)

// BenchmarkClusterRelay measures a signal's round trip, Alice → Bob → Alice
// (each a call.signal relayed by the hub as Bob's or Alice's event), in a
// cluster of three instances on one PostgreSQL and one NATS:
//
//   - leader: both clients on the instance that runs the calls, as on a
//     single instance;
//   - gateways: Alice on one gateway and Bob on the other, so every relay
//     crosses NATS twice (gateway → leader → gateway).
//
// It reports p50 and p99 in µs. Each client sends one signal per 25 ms,
// under the hub's per-connection rate limit.
func BenchmarkClusterRelay(b *testing.B) {
	dsn := pgtest.Start(b).DSN(b)
	nats := natstest.Start(b)
	env := map[string]string{"PARLEY_DATABASE": dsn, "PARLEY_NATS": nats.URL(), "PARLEY_NATS_LEASE": "3s"}
	start := func() (string, *logLines) {
		logs, stop := serveJSON(b, []string{"-addr", "127.0.0.1:0", "-data", b.TempDir(), "-register-burst", "1000"}, env)
		b.Cleanup(stop)
		addr := logs.record(b, "listening")["addr"].(string)
		return addr, logs
	}
	leader, logs := start()
	logs.record(b, "this instance runs the calls")
	gw1, _ := start()
	gw2, _ := start()

	for _, c := range []struct{ name, a, b string }{{"leader", leader, leader}, {"gateways", gw1, gw2}} {
		b.Run(c.name, func(b *testing.B) {
			alice, bob := dialWS(b, c.a), dialWS(b, c.b)
			an, bn := "a"+randomName(), "b"+randomName()
			alice.must(wire.TypeRegister, wire.RegisterRequest{Username: an, Password: "password-" + an}, nil)
			bob.must(wire.TypeRegister, wire.RegisterRequest{Username: bn, Password: "password-" + bn}, nil)
			var created wire.CallResult
			alice.must(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{bn + "@localhost"}, Type: wire.TypeAudio}, &created)
			room := created.Call.RoomID
			bob.event(wire.EventIncoming)
			bob.must(wire.TypeCallAnswer, wire.AnswerRequest{RoomID: room}, nil)
			toBob := signalFrame(b, room, bn+"@localhost")
			toAlice := signalFrame(b, room, an+"@localhost")
			rtts := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				send(b, alice.ws, toBob)
				untilSignal(b, bob.ws)
				send(b, bob.ws, toAlice)
				untilSignal(b, alice.ws)
				rtts = append(rtts, time.Since(t0))
				// Under the hub's per-connection rate limit (50/s).
				time.Sleep(25*time.Millisecond - time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(rtts)
			b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds()), "p99-µs")
			alice.must(wire.TypeCallEnd, wire.RoomRequest{RoomID: room}, nil)
		})
	}
}

func randomName() string {
	return time.Now().Format("150405.000000")[7:]
}

func signalFrame(b testing.TB, room, to string) []byte {
	f, err := wire.Request(wire.TypeCallSignal, 1, wire.SignalRequest{RoomID: room, To: to,
		Payload: wire.Payload{Candidate: &wire.Candidate{Candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host"}}})
	if err != nil {
		b.Fatal(err)
	}
	data, err := wire.Encode(f)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func send(b testing.TB, ws *websocket.Conn, data []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, data); err != nil {
		b.Fatal(err)
	}
}

// untilSignal reads frames (replies included) until a call.signal event.
func untilSignal(b testing.TB, ws *websocket.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		f, err := wire.Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		if f.Type == wire.EventSignal {
			return
		}
	}
}
