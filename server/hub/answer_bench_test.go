package hub

import (
	"slices"
	"testing"
	"time"

	"parley/app/wire"
)

// BenchmarkAnswer measures what answering a 1:1 call costs in signalling:
// from bob sending call.answer to alice's call.update showing him
// connecting (the call's change saved first, see restore.go). It reports
// the median and p99 over b.N calls.
func BenchmarkAnswer(b *testing.B) {
	e := newEnv(b, Config{checkSaved: func(error) {}, RingsPerMinute: 1 << 30, PairRingBurst: 1 << 30, RateBurst: 1 << 20, RateLimit: 1 << 20})
	alice, bob := e.register("alice"), e.register("bob")
	var d []time.Duration
	for b.Loop() {
		call := create(b, alice, wire.TypeAudio, "bob")
		bob.event(wire.EventIncoming, nil)
		t0 := time.Now()
		bob.must(wire.TypeCallAnswer, room(call), nil)
		alice.update(statusIs("bob", wire.StatusConnecting))
		d = append(d, time.Since(t0))
		alice.must(wire.TypeCallEnd, room(call), nil)
		bob.update(stateIs(wire.CallStateEnded))
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}
