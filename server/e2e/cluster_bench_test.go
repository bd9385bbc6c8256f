package e2e

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/cluster/natstest"
	"parley/server/store/pgtest"
)

// TestBenchClusterSockets measures a cluster of three bin/parley
// instances on one PostgreSQL and one NATS: n idle signed-in sockets of one
// user on each instance (PARLEY_BENCH_SOCKETS, default 1000; the clients
// are this process), each process's resident memory per socket, and then
// a ring to that user, whose 3n tabs are on all three instances: the time
// from call.create sent to the last tab's call.incoming (5 rings). A
// measurement, not a test:
//
//	PARLEY_BENCH=1 go test -run TestBenchClusterSockets -v ./server/e2e
func TestBenchClusterSockets(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("measurement: set PARLEY_BENCH=1")
	}
	n := benchInt(t, "PARLEY_BENCH_SOCKETS", 1000)
	dsn := pgtest.Start(t).DSN(t)
	nats := natstest.Start(t)
	big := strconv.Itoa(10 * n)
	args := []string{"-database", dsn, "-nats", nats.URL(), "-max-sessions-per-user", big,
		"-max-connections-per-ip", big, "-max-connections", big, "-pair-ring-burst", "100", "-rings-per-minute", "1000"}
	first := startServerWith(t, serverOptions{Args: args})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var owner wire.AuthResult
	dialRaw(ctx, t, wire.WSURL(first.URL)).request(ctx, t, wire.TypeRegister,
		wire.RegisterRequest{Username: "many", Password: "correct horse battery"}, &owner)
	second := startServerWith(t, serverOptions{Args: args})
	third := startServerWith(t, serverOptions{Args: args})
	caller := dialRaw(ctx, t, wire.WSURL(second.URL))
	caller.register(ctx, t, "caller")
	insts := []*server{first, second, third}
	names := []string{"first (leads)", "second", "third"}
	before := make([]int64, 3)
	for i, s := range insts {
		before[i] = rss(t, s.cmd.Process.Pid)
	}

	type arrival struct{ at time.Time }
	arrivals := make(chan arrival, 3*n)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, s := range insts {
		for range n {
			c := dialRaw(ctx, t, wire.WSURL(s.URL))
			c.request(ctx, t, wire.TypeAuth, wire.AuthRequest{Token: owner.Token}, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, b, err := c.ws.Read(ctx)
					if err != nil {
						return
					}
					if f, err := wire.Decode(b); err == nil && f.Type == wire.EventIncoming {
						arrivals <- arrival{time.Now()}
					}
				}
			}()
		}
	}
	time.Sleep(3 * time.Second) // let the processes settle
	total := int64(0)
	for i, s := range insts {
		after := rss(t, s.cmd.Process.Pid)
		total += after - before[i]
		t.Logf("%s: RSS %.1f MiB → %.1f MiB with %d sockets here: %.1f KB per socket", names[i],
			float64(before[i])/(1<<20), float64(after)/(1<<20), n, float64(after-before[i])/float64(n)/1000)
	}
	t.Logf("all three: %d sockets, %.1f KB per socket over the cluster", 3*n, float64(total)/float64(3*n)/1000)

	var lasts, medians []time.Duration
	for range 5 {
		t0 := time.Now()
		var created wire.CallResult
		caller.request(ctx, t, wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"many@localhost"}, Type: wire.TypeAudio}, &created)
		got := make([]time.Duration, 0, 3*n)
		for len(got) < 3*n {
			select {
			case a := <-arrivals:
				got = append(got, a.at.Sub(t0))
			case <-time.After(30 * time.Second):
				t.Fatalf("%d of %d tabs rung after 30 s", len(got), 3*n)
			}
		}
		slices.Sort(got)
		lasts = append(lasts, got[len(got)-1])
		medians = append(medians, got[len(got)/2])
		caller.request(ctx, t, wire.TypeCallEnd, wire.RoomRequest{RoomID: created.Call.RoomID}, nil)
		time.Sleep(500 * time.Millisecond)
	}
	slices.Sort(lasts)
	t.Logf("ring to %d tabs on three instances: last tab p50 %v (range %v–%v), median tab %v", 3*n,
		lasts[len(lasts)/2].Round(time.Millisecond), lasts[0].Round(time.Millisecond),
		lasts[len(lasts)-1].Round(time.Millisecond), medians[len(medians)/2].Round(time.Millisecond))
}
