package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// rawClient is a minimal client for benchmarks: no bookkeeping per frame.
type rawClient struct {
	ws *websocket.Conn
	id uint64
}

func rawDial(ctx context.Context, url, token string) (*rawClient, error) {
	return rawDialWith(ctx, url, token, nil)
}

// rawDialWith is rawDial with dial options.
func rawDialWith(ctx context.Context, url, token string, opts *websocket.DialOptions) (*rawClient, error) {
	ws, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	c := &rawClient{ws: ws}
	if err := c.send(ctx, wire.TypeAuth, wire.AuthRequest{Token: token}); err != nil {
		ws.CloseNow()
		return nil, err
	}
	f, err := c.read(ctx)
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	if f.Type != wire.TypeResult {
		ws.CloseNow()
		return nil, fmt.Errorf("auth: %v", f.Error)
	}
	return c, nil
}

func (c *rawClient) send(ctx context.Context, typ string, payload any) error {
	c.id++
	f, err := wire.Request(typ, c.id, payload)
	if err != nil {
		return err
	}
	b, err := wire.Encode(f)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *rawClient) read(ctx context.Context) (wire.Frame, error) {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return wire.Frame{}, err
	}
	return wire.Decode(b)
}

// BenchmarkRelay measures call.signal round trips over loopback WebSockets:
// A -> server -> B, and B's answer -> server -> A, with an ICE-candidate
// sized payload. It reports the p50 and p99 round-trip latency.
func BenchmarkRelay(b *testing.B) {
	e := newEnv(b, Config{RateLimit: 1e9, RateBurst: 1 << 30})
	alice, bob := e.register("alice"), e.register("bob")
	call := create(b, alice, wire.TypeAudio, "bob")
	bob.must(wire.TypeCallAnswer, room(call), nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Resume both sessions on raw connections, which do no bookkeeping.
	a, err := rawResume(ctx, e.url, alice)
	if err != nil {
		b.Fatal(err)
	}
	defer a.ws.CloseNow()
	bb, err := rawResume(ctx, e.url, bob)
	if err != nil {
		b.Fatal(err)
	}
	defer bb.ws.CloseNow()

	mid, idx := "0", uint16(0)
	candidate := func(to string) wire.SignalRequest {
		return wire.SignalRequest{RoomID: call.RoomID, To: to, Payload: wire.Payload{Candidate: &wire.Candidate{
			Candidate: "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0",
			SDPMid:    &mid, SDPMLineIndex: &idx}}}
	}
	// Bob echoes every signal back.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f, err := bb.read(ctx)
			if err != nil {
				return
			}
			if f.Type == wire.EventSignal {
				if bb.send(ctx, wire.TypeCallSignal, candidate("alice")) != nil {
					return
				}
			}
		}
	}()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := a.send(ctx, wire.TypeCallSignal, candidate("bob")); err != nil {
			b.Fatal(err)
		}
		for {
			f, err := a.read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if f.Type == wire.TypeError {
				b.Fatalf("relay error: %v", f.Error)
			}
			if f.Type == wire.EventSignal {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
	cancel()
	a.ws.CloseNow()
	bb.ws.CloseNow()
	wg.Wait()
}

// rawResume moves c's session to a raw connection (the old one is replaced).
func rawResume(ctx context.Context, url string, c *client) (*rawClient, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	r := &rawClient{ws: ws}
	if err := r.send(ctx, wire.TypeAuth, wire.AuthRequest{Token: c.auth.Token, Resume: c.auth.Session, LastSeq: 1 << 62}); err != nil {
		return nil, err
	}
	f, err := r.read(ctx)
	if err != nil {
		return nil, err
	}
	var res wire.AuthResult
	if f.Type != wire.TypeResult || json.Unmarshal(f.Data, &res) != nil || !res.Resumed {
		return nil, fmt.Errorf("resume failed: %+v", f)
	}
	return r, nil
}

// raiseFileLimit lifts this process's open-file limit to 200,000 where it
// may (raising the hard limit needs CAP_SYS_RESOURCE), else to its hard
// limit, and returns the limit it got.
func raiseFileLimit() uint64 {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return 0
	}
	const want = 200_000
	if lim.Max < want && syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}) == nil {
		return want
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	return lim.Cur
}

// loopbackDialers are dial options that connect from the loopback addresses
// 127.0.0.10, .11, …: one source address has about 28,000 ephemeral ports
// towards one server port, too few for 50,000 connections.
func loopbackDialers(n int) []*websocket.DialOptions {
	var out []*websocket.DialOptions
	for i := range n {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))}}
		out = append(out, &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}})
	}
	return out
}

func serverMemory() (heap, stack uint64, goroutines int) {
	var ms runtime.MemStats
	for range 5 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine()
}

// BenchmarkIdleConnections holds N (PARLEY_BENCH_CONNS, default 10000)
// authenticated idle connections and reports the server's heap and stack
// bytes per connection. The clients run in a child process (this test binary
// re-executed as TestIdleClientHelper), so their memory is not counted: the
// numbers are the hub's sessions, connections, goroutines and the WebSocket
// library's buffers. Both processes raise their open-file limit (as far as
// the system lets them: see raiseFileLimit), and the clients connect from
// several loopback addresses past 20,000. Run it once:
//
//	go test -run '^$' -bench IdleConnections -benchtime 1x ./server/hub
//	PARLEY_BENCH_CONNS=50000 go test -run '^$' -bench IdleConnections -benchtime 1x ./server/hub
func BenchmarkIdleConnections(b *testing.B) {
	n := 10000
	if v := os.Getenv("PARLEY_BENCH_CONNS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("PARLEY_BENCH_CONNS=%q", v)
		}
	}
	if lim := raiseFileLimit(); uint64(n)+500 > lim {
		b.Fatalf("%d connections need more open files than this process may have (%d, and the hard limit could not be raised)", n, lim)
	}
	cfg := Config{}
	benchLimits(&cfg, n)
	e := newEnv(b, cfg)
	const users = 100
	var tokens []string
	ctx := context.Background()
	for i := range users {
		u, err := e.st.Register(ctx, fmt.Sprintf("idle%03d", i), "password1", "")
		if err != nil {
			b.Fatal(err)
		}
		tok, err := e.st.NewSession(ctx, u.ID)
		if err != nil {
			b.Fatal(err)
		}
		tokens = append(tokens, tok)
	}

	for range b.N {
		heap0, stack0, g0 := serverMemory()
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientHelper$", "-test.v")
		cmd.Env = append(os.Environ(),
			"PARLEY_IDLE_CLIENT_URL="+e.url,
			"PARLEY_IDLE_CLIENT_TOKENS="+strings.Join(tokens, ","),
			"PARLEY_BENCH_CONNS="+strconv.Itoa(n))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY") {
				ready = true
				break
			}
		}
		if !ready {
			cmd.Wait()
			b.Fatal("client helper failed")
		}
		connectTime := time.Since(start)
		// The last connections' readers are still on their grown stacks
		// for readLinger after their sign-in (conn.readEach).
		time.Sleep(2 * readLinger)
		heap1, stack1, g1 := serverMemory()
		if path := os.Getenv("PARLEY_BENCH_HEAPPROFILE"); path != "" {
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		e.hub.mu.Lock()
		sessions := len(e.hub.sessions)
		e.hub.mu.Unlock()
		if sessions < n {
			b.Fatalf("%d sessions for %d connections", sessions, n)
		}
		stdin.Close()
		go func() {
			for sc.Scan() {
			}
		}()
		cmd.Wait()

		b.ReportMetric(float64(heap1-heap0)/float64(n), "heap-B/conn")
		b.ReportMetric(float64(stack1-stack0)/float64(n), "stack-B/conn")
		b.ReportMetric(float64(heap1+stack1-heap0-stack0)/float64(n), "B/conn")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
		b.ReportMetric(float64(n)/connectTime.Seconds(), "conns/s")
		b.Logf("%d idle connections: heap +%d KiB, stacks +%d KiB, goroutines +%d, connected in %v",
			n, (heap1-heap0)>>10, (stack1-stack0)>>10, g1-g0, connectTime.Round(time.Millisecond))
	}
}

// TestIdleClientHelper is the client side of BenchmarkIdleConnections; it
// does nothing unless the benchmark started it.
func TestIdleClientHelper(t *testing.T) {
	url := os.Getenv("PARLEY_IDLE_CLIENT_URL")
	if url == "" {
		t.Skip("run by BenchmarkIdleConnections")
	}
	raiseFileLimit()
	tokens := strings.Split(os.Getenv("PARLEY_IDLE_CLIENT_TOKENS"), ",")
	n, _ := strconv.Atoi(os.Getenv("PARLEY_BENCH_CONNS"))
	conns := make([]*rawClient, n)
	var (
		wg   sync.WaitGroup
		next = make(chan int)
		mu   sync.Mutex
		errs []error
	)
	ctx := context.Background()
	const perSource = 20000
	dialers := loopbackDialers((n + perSource - 1) / perSource)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				c, err := rawDialWith(dctx, url, tokens[i%len(tokens)], dialers[i/perSource])
				cancel()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d connections failed, first: %v", len(errs), n, errs[0])
	}
	fmt.Println("READY")
	bufio.NewReader(os.Stdin).ReadString('\n') // until the benchmark closes stdin
	for _, c := range conns {
		c.ws.CloseNow()
	}
}
