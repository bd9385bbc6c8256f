package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app/wire"
)

// benchEnvInt reads a benchmark size from the environment.
func benchEnvInt(b testing.TB, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q", key, v)
	}
	return n
}

// pinger measures ping round trips on its own connection until stopped.
type pinger struct {
	c    *rawClient
	lat  []time.Duration
	done chan struct{}
	err  error
}

func startPinger(ctx context.Context, c *rawClient) *pinger {
	p := &pinger{c: c, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			start := time.Now()
			if err := c.send(ctx, wire.TypePing, nil); err != nil {
				p.err = err
				return
			}
			for {
				f, err := c.read(ctx)
				if err != nil {
					if ctx.Err() == nil {
						p.err = err
					}
					return
				}
				if f.Type == wire.TypeResult || f.Type == wire.TypeError {
					break
				}
			}
			p.lat = append(p.lat, time.Since(start))
		}
	}()
	return p
}

// pct is the p-th percentile of lat.
func pct(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// lockProbe measures how long taking the hub's lock waits, in a loop, until
// stopped: what any other user's request waits for the hub at least.
type lockProbe struct {
	wait []time.Duration
	done chan struct{}
}

func startLockProbe(ctx context.Context, h *Hub) *lockProbe {
	p := &lockProbe{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			start := time.Now()
			h.mu.Lock()
			p.wait = append(p.wait, time.Since(start))
			h.mu.Unlock()
			time.Sleep(200 * time.Microsecond)
		}
	}()
	return p
}

// BenchmarkFanoutPing: a user with PARLEY_BENCH_TABS (default 5000)
// signed-in tabs that never read is rung 20 times (call.create, then
// call.end by the caller), while an unrelated user pings the server in a
// loop. It reports that user's worst and p99 ping round trip, the slowest
// create+end, and the heap the rings left behind. Run it once:
//
//	go test -run '^$' -bench FanoutPing -benchtime 1x ./server/hub
func BenchmarkFanoutPing(b *testing.B) {
	tabs := benchEnvInt(b, "PARLEY_BENCH_TABS", 5000)
	raiseFileLimit()
	cfg := Config{RateLimit: 1e6, RateBurst: 1 << 20, RingsPerMinute: 1000, PairRingBurst: 100} // it rings one callee 20 times
	benchLimits(&cfg, tabs+10)
	e := newEnv(b, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	many := e.register("many")
	caller := e.register("caller")
	other := e.register("other")
	// Tabs of "many" that sign in and never read again.
	conns := dialTabs(b, ctx, e.url, many.auth.Token, tabs)
	defer func() {
		for _, c := range conns {
			c.ws.CloseNow()
		}
	}()
	oc, err := rawResume(ctx, e.url, other)
	if err != nil {
		b.Fatal(err)
	}
	defer oc.ws.CloseNow()

	for range b.N {
		heap0, _, _ := serverMemory()
		pctx, pcancel := context.WithCancel(ctx)
		p := startPinger(pctx, oc)
		lp := startLockProbe(pctx, e.hub)
		var worstRing time.Duration
		for range 20 {
			start := time.Now()
			call := create(b, caller, wire.TypeAudio, "many")
			caller.must(wire.TypeCallEnd, room(call), nil)
			worstRing = max(worstRing, time.Since(start))
		}
		pcancel()
		<-p.done
		<-lp.done
		if p.err != nil {
			b.Fatal(p.err)
		}
		heap1, _, _ := serverMemory()
		caller.settle()
		slices.Sort(p.lat)
		slices.Sort(lp.wait)
		b.ReportMetric(float64(pct(lp.wait, 100).Microseconds()), "lock-wait-worst-µs")
		b.ReportMetric(float64(pct(lp.wait, 99).Microseconds()), "lock-wait-p99-µs")
		b.ReportMetric(float64(pct(p.lat, 100).Microseconds()), "ping-worst-µs")
		b.ReportMetric(float64(pct(p.lat, 99).Microseconds()), "ping-p99-µs")
		b.ReportMetric(float64(pct(p.lat, 50).Microseconds()), "ping-p50-µs")
		b.ReportMetric(float64(worstRing.Milliseconds()), "create+end-worst-ms")
		b.ReportMetric(float64(int64(heap1)-int64(heap0))/(1<<20), "heap-growth-MiB")
		b.Logf("%d tabs rung 20 times: %d pings, p50 %v, p99 %v, worst %v; hub lock wait p99 %v, worst %v (%d probes); slowest create+end %v; heap %+d MiB",
			tabs, len(p.lat), pct(p.lat, 50), pct(p.lat, 99), pct(p.lat, 100), pct(lp.wait, 99), pct(lp.wait, 100), len(lp.wait),
			worstRing, (int64(heap1)-int64(heap0))>>20)
	}
}

// BenchmarkSlowReadersMemory: 21 connections (three calls of one sender and
// seven receivers) stop reading while their senders relay 64 KiB custom data
// to them, PARLEY_BENCH_SENDS times each (default 300). It reports the
// server's peak heap growth while it runs (sampled) and what is queued at the
// end. The clients run in this process but hold nothing (they do not read).
//
//	go test -run '^$' -bench SlowReadersMemory -benchtime 1x ./server/hub
func BenchmarkSlowReadersMemory(b *testing.B) {
	sends := benchEnvInt(b, "PARLEY_BENCH_SENDS", 300)
	cfg := Config{RateLimit: 1e6, RateBurst: 1 << 20}
	benchLimits(&cfg, 100)
	e := newEnv(b, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	blob, _ := json.Marshal(strings.Repeat("x", wire.MaxCustomDataBytes-16))

	type group struct {
		sender *client
		call   wire.Call
	}
	var groups []group
	var slow []*rawClient
	for g := range 3 {
		sender := e.register(fmt.Sprintf("sender%d", g))
		var names []string
		var receivers []*client
		for r := range 7 {
			n := fmt.Sprintf("recv%d_%d", g, r)
			names = append(names, n)
			receivers = append(receivers, e.register(n))
		}
		call := groupCall(b, sender, wire.TypeAudio, "", names...)
		for _, r := range receivers {
			answer(b, r, call)
			rc, err := rawResume(ctx, e.url, r) // the session moves to a connection that never reads
			if err != nil {
				b.Fatal(err)
			}
			slow = append(slow, rc)
		}
		groups = append(groups, group{sender, call})
	}
	defer func() {
		for _, c := range slow {
			c.ws.CloseNow()
		}
	}()

	for range b.N {
		heap0, _, _ := serverMemory()
		var peak uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		var wg sync.WaitGroup
		for _, g := range groups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range sends {
					if err := g.sender.do(wire.TypeCallData, wire.DataRequest{RoomID: g.call.RoomID, Data: blob}, nil); err != nil {
						b.Errorf("data: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		<-sampled
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		queued := e.hub.Stats().QueuedBytes
		b.ReportMetric(float64(int64(peak)-int64(heap0))/(1<<20), "peak-heap-growth-MiB")
		b.ReportMetric(float64(queued)/(1<<20), "queued-MiB")
		b.Logf("21 slow readers, %d x 64 KiB sends per call: heap in use peaked %+d MiB over the start; %d MiB accounted as queued at the end; Sys %d MiB",
			sends, (int64(peak)-int64(heap0))>>20, queued>>20, ms.Sys>>20)
	}
}
