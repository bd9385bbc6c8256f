package hub

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// BenchmarkRingFanout: a user with PARLEY_BENCH_TABS (default 5000)
// signed-in tabs that all read is rung b.N times (call.create; call.end once
// every tab has the ring), while an unrelated user sends a ping every
// millisecond. It reports how long the ring took to reach the last tab
// (call.create sent → the last tab's call.incoming read), median and worst,
// and the unrelated user's ping round trips over the whole run: worst, p99,
// p50, and the server process's CPU time per ring and end (the caller's
// requests included), which the machine's load does not inflate. The tabs and the pinging user are clients in two other processes
// (this test binary re-executed as TestFanoutClientHelper), as they would be
// on other machines; they share the two cores with the server. Run it with:
//
//	go test -run '^$' -bench RingFanout -benchtime 20x ./server/hub
func BenchmarkRingFanout(b *testing.B) {
	tabs := benchEnvInt(b, "PARLEY_BENCH_TABS", 5000)
	raiseFileLimit()
	cfg := Config{RateLimit: 1e6, RateBurst: 1 << 20, RingsPerMinute: 1 << 20, PairRingBurst: 1 << 20}
	benchLimits(&cfg, tabs+10) // the per-user tab cap, raised for this benchmark only
	e := newEnv(b, cfg)
	many := e.register("many")
	caller := e.register("caller")
	other := e.register("other")

	tabProc := startFanoutHelper(b, e.url, "tabs", many.auth.Token, tabs)
	pingProc := startFanoutHelper(b, e.url, "ping", other.auth.Token, 1)

	var deliver []time.Duration
	cpu0 := processCPU()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		call := create(b, caller, wire.TypeAudio, "many")
		var line string
		select {
		case line = <-tabProc.lines:
		case <-time.After(waitTimeout):
			b.Fatalf("ring %d did not reach all %d tabs", i, tabs)
		}
		var k int
		var ns int64
		if _, err := fmt.Sscanf(line, "ALL %d %d", &k, &ns); err != nil || k != i+1 {
			b.Fatalf("tab helper said %q at ring %d", line, i+1)
		}
		deliver = append(deliver, time.Unix(0, ns).Sub(start.Round(0)))
		caller.must(wire.TypeCallEnd, room(call), nil)
		time.Sleep(100 * time.Millisecond) // the end reaches the tabs before the next ring
	}
	b.StopTimer()
	cpu := (processCPU() - cpu0) / time.Duration(b.N)
	pingLines := pingProc.stop(b) // before the tabs close, which is no ring
	tabProc.stop(b)
	var pings []time.Duration
	for _, l := range pingLines {
		var ns int64
		if _, err := fmt.Sscanf(l, "PING %d", &ns); err == nil {
			pings = append(pings, time.Duration(ns))
		}
	}
	if len(pings) == 0 {
		b.Fatal("no pings")
	}
	caller.settle()
	b.ReportMetric(float64(pct(deliver, 50).Microseconds())/1000, "ring-all-tabs-p50-ms")
	b.ReportMetric(float64(pct(deliver, 100).Microseconds())/1000, "ring-all-tabs-worst-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000, "server-cpu-ms/ring+end")
	b.ReportMetric(float64(pct(pings, 100).Microseconds())/1000, "ping-worst-ms")
	b.ReportMetric(float64(pct(pings, 99).Microseconds())/1000, "ping-p99-ms")
	b.ReportMetric(float64(pct(pings, 50).Microseconds())/1000, "ping-p50-ms")
	b.Logf("%d tabs rung %d times: last tab after p50 %v, worst %v; server CPU %v per ring and end; other user's %d pings p50 %v, p99 %v, worst %v",
		tabs, b.N, pct(deliver, 50), pct(deliver, 100), cpu.Round(time.Millisecond/10), len(pings), pct(pings, 50), pct(pings, 99), pct(pings, 100))
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fanoutHelper is a running TestFanoutClientHelper.
type fanoutHelper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its output after READY
	done  chan struct{}
}

// startFanoutHelper starts a client process in role ("tabs" or "ping") with
// n connections signed in with token, and waits until they are.
func startFanoutHelper(b *testing.B, url, role, token string, n int) *fanoutHelper {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutClientHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "PARLEY_FANOUT_URL="+url, "PARLEY_FANOUT_ROLE="+role,
		"PARLEY_FANOUT_TOKEN="+token, "PARLEY_BENCH_TABS="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	h := &fanoutHelper{cmd: cmd, stdin: stdin, lines: make(chan string, 1<<16), done: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() {
		defer close(h.done)
		sc := bufio.NewScanner(stdout)
		seen := false
		for sc.Scan() {
			if !seen {
				if strings.HasPrefix(sc.Text(), "READY") {
					seen = true
					ready <- true
				}
				continue
			}
			select {
			case h.lines <- sc.Text():
			default:
			}
		}
		if !seen {
			ready <- false
		}
		close(h.lines)
	}()
	b.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		<-h.done
		cmd.Wait()
	})
	if !<-ready {
		b.Fatalf("%s helper failed", role)
	}
	return h
}

// stop closes the helper's stdin, which ends it, and returns the lines it
// wrote that were not read yet.
func (h *fanoutHelper) stop(b *testing.B) []string {
	h.stdin.Close()
	var rest []string
	for l := range h.lines {
		rest = append(rest, l)
	}
	<-h.done
	if err := h.cmd.Wait(); err != nil {
		b.Fatalf("helper: %v", err)
	}
	return rest
}

// TestFanoutClientHelper is the client side of BenchmarkRingFanout; it does
// nothing unless the benchmark started it. Role "tabs" signs
// PARLEY_BENCH_TABS tabs in and prints "ALL k <unix ns>" when the k-th ring
// has reached every tab; role "ping" pings every millisecond and prints
// "PING <round trip ns>" for each ping. Both run until stdin closes.
func TestFanoutClientHelper(t *testing.T) {
	url := os.Getenv("PARLEY_FANOUT_URL")
	if url == "" {
		t.Skip("run by BenchmarkRingFanout")
	}
	raiseFileLimit()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, _ := strconv.Atoi(os.Getenv("PARLEY_BENCH_TABS"))
	conns := dialTabs(t, ctx, url, os.Getenv("PARLEY_FANOUT_TOKEN"), n)
	var (
		out     = bufio.NewWriter(os.Stdout)
		outMu   sync.Mutex
		readers sync.WaitGroup
	)
	println := func(s string) {
		outMu.Lock()
		out.WriteString(s + "\n")
		out.Flush()
		outMu.Unlock()
	}
	println("READY")
	switch os.Getenv("PARLEY_FANOUT_ROLE") {
	case "tabs":
		var rings atomic.Int64
		incoming := []byte(`"type":"` + wire.EventIncoming + `"`)
		for _, c := range conns {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					_, f, err := c.ws.Read(ctx)
					if err != nil {
						return
					}
					if bytes.Contains(f, incoming) {
						if k := rings.Add(1); k%int64(n) == 0 {
							println(fmt.Sprintf("ALL %d %d", k/int64(n), time.Now().UnixNano()))
						}
					}
				}
			}()
		}
	case "ping":
		readers.Add(1)
		go func() {
			defer readers.Done()
			p := startPacedPinger(ctx, conns[0], time.Millisecond)
			<-p.done
			for _, l := range p.lat {
				println(fmt.Sprintf("PING %d", l.Nanoseconds()))
			}
		}()
	}
	bufio.NewReader(os.Stdin).ReadString('\n') // until the benchmark closes stdin
	cancel()
	for _, c := range conns {
		c.ws.CloseNow()
	}
	readers.Wait()
}

// dialTabs signs n raw connections in with token, 32 at a time.
func dialTabs(b testing.TB, ctx context.Context, url, token string, n int) []*rawClient {
	b.Helper()
	var (
		wg    sync.WaitGroup
		next  = make(chan int)
		mu    sync.Mutex
		conns []*rawClient
		errs  []error
	)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				dctx, dcancel := context.WithTimeout(ctx, 60*time.Second)
				c, err := rawDial(dctx, url, token)
				dcancel()
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		for _, c := range conns {
			c.ws.CloseNow()
		}
		b.Fatalf("%d tabs failed to sign in, first: %v", len(errs), errs[0])
	}
	return conns
}

// startPacedPinger is startPinger with a pause of every between pings, so
// that the pings measure the server without loading it.
func startPacedPinger(ctx context.Context, c *rawClient, every time.Duration) *pinger {
	p := &pinger{c: c, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			start := time.Now()
			if err := c.send(ctx, wire.TypePing, nil); err != nil {
				if ctx.Err() == nil {
					p.err = err
				}
				return
			}
			for {
				_, f, err := c.ws.Read(ctx)
				if err != nil {
					if ctx.Err() == nil && websocket.CloseStatus(err) == -1 {
						p.err = err
					}
					return
				}
				if bytes.HasPrefix(f, []byte(`{"type":"`+wire.TypeResult+`"`)) || bytes.HasPrefix(f, []byte(`{"type":"`+wire.TypeError+`"`)) {
					break
				}
			}
			p.lat = append(p.lat, time.Since(start))
		}
	}()
	return p
}
