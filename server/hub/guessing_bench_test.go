package hub

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// TestBenchLoginUnderGuessing measures what the login throttle lets through
// (not a pass/fail timing): 40 guessers, each from its own address, hammer
// one account with wrong passwords for PARLEY_BENCH_SECONDS (default 20)
// while its owner signs in again and again from an address they used
// before. It logs the guesses per second that reached a password check
// (401) and the owner's login latency, median and p99, with and without
// the attack. Production argon2 parameters. Run with
//
//	PARLEY_BENCH=1 go test -count=1 -v -run TestBenchLoginUnderGuessing ./server/hub
func TestBenchLoginUnderGuessing(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("measurement: set PARLEY_BENCH=1")
	}
	seconds := benchEnvInt(t, "PARLEY_BENCH_SECONDS", 20)
	const guessers = 40
	url := newEnvStore(t, Config{RegisterBurst: 1000}).url // DefaultPasswordParams

	const owner = "127.0.0.9"
	if r := loginOnce(t, url, owner, wire.TypeRegister, `{"username":"alice","password":"correct horse battery"}`); r.Type != wire.TypeResult {
		t.Fatalf("register: %+v", r)
	}
	ownerLogins := func(d time.Duration) []time.Duration {
		var lat []time.Duration
		for end := time.Now().Add(d); time.Now().Before(end); {
			start := time.Now()
			r := loginOnce(t, url, owner, wire.TypeLogin, `{"username":"alice","password":"correct horse battery"}`)
			if r.Type != wire.TypeResult {
				t.Fatalf("the owner's login: %+v", r.Error)
			}
			lat = append(lat, time.Since(start))
			time.Sleep(100 * time.Millisecond)
		}
		return lat
	}
	quiet := ownerLogins(5 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
	defer cancel()
	var checked, throttled, other atomic.Int64
	var wg sync.WaitGroup
	for i := range guessers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guess(ctx, url, fmt.Sprintf("127.0.7.%d", i+1), &checked, &throttled, &other)
		}()
	}
	start := time.Now()
	attacked := ownerLogins(time.Duration(seconds) * time.Second)
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d guessers for %.1f s: %d guesses checked (%.2f/s), %d throttled with 429 (%.0f/s), %d other replies",
		guessers, elapsed.Seconds(), checked.Load(), float64(checked.Load())/elapsed.Seconds(),
		throttled.Load(), float64(throttled.Load())/elapsed.Seconds(), other.Load())
	t.Logf("owner login without attack: median %v, p99 %v (%d logins)", pct(quiet, 50), pct(quiet, 99), len(quiet))
	t.Logf("owner login under attack:   median %v, p99 %v (%d logins)", pct(attacked, 50), pct(attacked, 99), len(attacked))
}

// dialAt opens a WebSocket to url from the loopback address ip.
func dialAt(ctx context.Context, url, ip string) (*websocket.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		return nil, fmt.Errorf("dial from %s: %w", ip, err)
	}
	return ws, nil
}

// loginOnce sends one sign-in request on a new connection from ip and
// returns the reply.
func loginOnce(t *testing.T, url, ip, typ, data string) wire.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, err := dialAt(ctx, url, ip)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	c := &fuzzConn{ws: ws}
	r, err := c.roundTrip(typ, []byte(data))
	if err != nil {
		t.Fatalf("%s from %s: %v", typ, ip, err)
	}
	return r
}

// guess sends wrong passwords for alice from ip until ctx ends, redialling
// when the hub closes the connection, and counts the replies.
func guess(ctx context.Context, url, ip string, checked, throttled, other *atomic.Int64) {
	for n := 0; ctx.Err() == nil; {
		ws, err := dialAt(ctx, url, ip)
		if err != nil {
			return
		}
		for ctx.Err() == nil {
			n++
			var buf strings.Builder
			fmt.Fprintf(&buf, `{"type":"login","id":%d,"data":{"username":"alice","password":"guess number %d"}}`, n, n)
			if ws.Write(ctx, websocket.MessageText, []byte(buf.String())) != nil {
				break
			}
			_, b, err := ws.Read(ctx)
			if err != nil {
				break
			}
			f, err := wire.Decode(b)
			switch {
			case err != nil || f.Error == nil:
				other.Add(1)
			case f.Error.Code == wire.CodeUnauthorized:
				checked.Add(1)
			case f.Error.Code == wire.CodeRateLimited:
				throttled.Add(1)
			default:
				other.Add(1)
			}
		}
		ws.CloseNow()
	}
}
