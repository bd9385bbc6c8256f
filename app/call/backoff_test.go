package call_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"parley/app/call"
)

// almostOne is the largest random number a generator returns, near enough:
// the delays it gives are the ceilings of the policy.
const almostOne = 1 - 1e-9

func TestBackoffFirstDelayGrowthAndCap(t *testing.T) {
	b := call.DefaultBackoff()
	if d := b.Delay(0, 0, almostOne); d > 250*time.Millisecond || d < 249*time.Millisecond {
		t.Errorf("first delay ceiling %v, want just under 250ms", d)
	}
	if d := b.Delay(0, 0, 0); d != 0 {
		t.Errorf("first delay floor %v, want 0 (full jitter)", d)
	}
	// The ceiling doubles until the cap.
	var prev time.Duration
	for attempt, want := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, time.Second, time.Second} {
		d := b.Delay(attempt, 5*time.Second, almostOne)
		if d > want || d < want-time.Millisecond {
			t.Errorf("attempt %d: ceiling %v, want just under %v", attempt, d, want)
		}
		if d < prev {
			t.Errorf("attempt %d: ceiling %v shrank from %v", attempt, d, prev)
		}
		prev = d
	}
	// A huge attempt number neither overflows nor passes the cap.
	if d := b.Delay(1_000_000, 10*time.Second, almostOne); d > time.Second || d <= 0 {
		t.Errorf("attempt 1e6 within patience: %v, want in (0, 1s]", d)
	}
	// After Patience the long cap applies.
	if d := b.Delay(100, 31*time.Second, almostOne); d > 5*time.Second || d < 4990*time.Millisecond {
		t.Errorf("after patience: ceiling %v, want just under 5s", d)
	}
	// Out-of-range random numbers do not stretch the delay.
	for _, r := range []float64{-1, 1, 2} {
		if d := b.Delay(3, 0, r); d < 0 || d > time.Second {
			t.Errorf("r=%v: delay %v out of [0, 1s]", r, d)
		}
	}
	// Next stays within the same bounds.
	for i := range 100 {
		if d := b.Next(i%8, 0); d < 0 || d > time.Second {
			t.Fatalf("Next: %v out of [0, 1s]", d)
		}
	}
}

// TestBackoffSpreadsAThousandClients simulates 1,000 clients that lose the
// server at the same instant, each with its own random source, and a server
// that comes back after a few seconds: their first retries are spread, and
// every client tries again within the cap of the server listening again.
func TestBackoffSpreadsAThousandClients(t *testing.T) {
	b := call.DefaultBackoff()
	for _, down := range []time.Duration{3 * time.Second, 45 * time.Second} {
		const clients = 1000
		first := make([]time.Duration, 0, clients)
		back := make([]time.Duration, 0, clients) // from the server listening again
		for i := range clients {
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			at := time.Duration(0)
			for attempt := 0; ; attempt++ {
				at += b.Delay(attempt, at, rng.Float64())
				if attempt == 0 {
					first = append(first, at)
				}
				if at >= down { // a try while the server is away fails at once
					back = append(back, at-down)
					break
				}
			}
		}
		if m := busiest(first, 10*time.Millisecond); m > clients/10 {
			t.Errorf("down %v: %d of %d first retries in one 10 ms window", down, m, clients)
		}
		if slices.Max(first) > 250*time.Millisecond {
			t.Errorf("down %v: a first retry after %v", down, slices.Max(first))
		}
		slices.Sort(back)
		limit := b.Cap
		if down >= b.Patience {
			limit = b.LongCap
		}
		if worst := back[len(back)-1]; worst > limit {
			t.Errorf("down %v: the last client is back %v after the server, want within %v", down, worst, limit)
		}
		if m := busiest(back, 10*time.Millisecond); m > clients/10 {
			t.Errorf("down %v: %d of %d reconnects in one 10 ms window", down, m, clients)
		}
		t.Logf("down %v: back after the server: median %v, p99 %v, worst %v; busiest 10 ms: %d",
			down, back[len(back)/2], back[len(back)*99/100], back[len(back)-1], busiest(back, 10*time.Millisecond))
	}
}

// busiest is the largest number of times that fall in one window of width w.
func busiest(times []time.Duration, w time.Duration) int {
	n := map[time.Duration]int{}
	most := 0
	for _, at := range times {
		n[at/w]++
		most = max(most, n[at/w])
	}
	return most
}
