package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// TestBenchSlowReadersRSS measures the resident memory of a real bin/parley
// while 21 sockets stop reading and three senders relay 64 KiB custom data
// to them as fast as the request rate lets them (three calls, one sender
// and seven such receivers each), for PARLEY_BENCH_SECONDS (default 20).
// It reports the process's peak VmRSS from /proc, sampled every 50 ms, with
// the default -max-queued-bytes and with PARLEY_BENCH_BUDGET (default
// 64MiB given as bytes) when set. A measurement, not a test:
//
//	PARLEY_BENCH=1 go test -run TestBenchSlowReadersRSS -v ./server/e2e
func TestBenchSlowReadersRSS(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("measurement: set PARLEY_BENCH=1")
	}
	seconds := benchInt(t, "PARLEY_BENCH_SECONDS", 20)
	for _, budget := range []string{"", strconv.Itoa(64 << 20)} {
		name := "default budget (256 MiB)"
		var args []string
		if budget != "" {
			name = "budget " + budget + " bytes"
			args = []string{"-max-queued-bytes", budget}
		}
		t.Run(name, func(t *testing.T) {
			srv := startServerWith(t, serverOptions{Args: args})
			pid := srv.cmd.Process.Pid
			idle := rss(t, pid)
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+60)*time.Second)
			defer cancel()
			url := wire.WSURL(srv.URL)

			var rooms []string
			var senders []*rawWS
			for g := range 3 {
				sender := dialRaw(ctx, t, url)
				sender.register(ctx, t, fmt.Sprintf("sender%d", g))
				var names []string
				var receivers []*rawWS
				for r := range 7 {
					n := fmt.Sprintf("recv%d_%d", g, r)
					rc := dialRaw(ctx, t, url)
					rc.register(ctx, t, n)
					names = append(names, n)
					receivers = append(receivers, rc)
				}
				var res wire.CallResult
				sender.request(ctx, t, wire.TypeCallCreate, wire.CallCreateRequest{To: names, Type: wire.TypeAudio}, &res)
				for _, rc := range receivers {
					rc.awaitEvent(ctx, t, wire.EventIncoming)
					rc.request(ctx, t, wire.TypeCallAnswer, wire.RoomRequest{RoomID: res.Call.RoomID}, nil)
					// From here on rc reads nothing: its socket fills up.
				}
				rooms = append(rooms, res.Call.RoomID)
				senders = append(senders, sender)
			}
			joined := rss(t, pid)

			blob, _ := json.Marshal(strings.Repeat("x", wire.MaxCustomDataBytes-16))
			var peak atomic.Int64
			var sent atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if v := rssOrZero(pid); v > peak.Load() {
							peak.Store(v)
						}
					}
				}
			}()
			end := time.Now().Add(time.Duration(seconds) * time.Second)
			for i, s := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(end) {
						// 40 a second: under the per-connection request rate.
						if s.send(ctx, wire.TypeCallData, wire.DataRequest{RoomID: rooms[i], Data: blob}) != nil {
							return
						}
						sent.Add(1)
						time.Sleep(25 * time.Millisecond)
					}
				}()
			}
			time.Sleep(time.Until(end))
			close(stop)
			wg.Wait()
			after := rss(t, pid)
			t.Logf("%s: RSS idle %d MiB, with 24 signed-in sockets in 3 calls %d MiB, peak while %d custom-data sends (%d MiB relayed to slow readers) %d MiB, after %d MiB",
				name, idle>>20, joined>>20, sent.Load(), sent.Load()*7*int64(len(blob))>>20, peak.Load()>>20, after>>20)
		})
	}
}

// rawWS is a WebSocket client that reads only when asked to, so it can stop
// reading like a stalled or hostile client.
type rawWS struct {
	ws *websocket.Conn
	id uint64
}

func dialRaw(ctx context.Context, t *testing.T, url string) *rawWS {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(wire.MaxFrameBytes)
	t.Cleanup(func() { ws.CloseNow() })
	return &rawWS{ws: ws}
}

// send writes a request without waiting for its reply.
func (c *rawWS) send(ctx context.Context, typ string, payload any) error {
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

// request sends a request and reads frames until its reply, which must be
// a result (decoded into out when set).
func (c *rawWS) request(ctx context.Context, t *testing.T, typ string, payload, out any) {
	t.Helper()
	if err := c.send(ctx, typ, payload); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	for {
		f := c.read(ctx, t)
		if f.ID != c.id || (f.Type != wire.TypeResult && f.Type != wire.TypeError) {
			continue
		}
		if f.Type == wire.TypeError {
			t.Fatalf("%s: %+v", typ, f.Error)
		}
		if out != nil {
			if err := json.Unmarshal(f.Data, out); err != nil {
				t.Fatalf("%s result: %v", typ, err)
			}
		}
		return
	}
}

func (c *rawWS) awaitEvent(ctx context.Context, t *testing.T, typ string) {
	t.Helper()
	for c.read(ctx, t).Type != typ {
	}
}

func (c *rawWS) read(ctx context.Context, t *testing.T) wire.Frame {
	t.Helper()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	f, err := wire.Decode(b)
	if err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return f
}

func (c *rawWS) register(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	c.request(ctx, t, wire.TypeRegister, wire.RegisterRequest{Username: name, Password: "correct horse battery"}, nil)
}

// benchInt is the positive integer in the environment variable name, or def
// when it is unset; anything else fails the benchmark.
func benchInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// rss is the resident set size of process pid, in bytes.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	v := rssOrZero(pid)
	if v == 0 {
		t.Fatalf("no VmRSS for process %d", pid)
	}
	return v
}

func rssOrZero(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
