package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// tryDial opens a WebSocket from loopback address ip ("" for any) and
// returns it, or the HTTP status the upgrade was refused with.
func (e *env) tryDial(ip string) (*websocket.Conn, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, e.url, e.fromIP(ip))
	if err != nil {
		if resp == nil {
			e.t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode
	}
	e.t.Cleanup(func() { ws.CloseNow() })
	return ws, http.StatusSwitchingProtocols
}

// waitFor polls cond until it holds; the deadline only guards against a hang.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(4 * waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMaxConnections: over the server-wide cap an upgrade is refused with
// 503 before the WebSocket exists, and the open ones keep working; a closed
// one frees its place.
func TestMaxConnections(t *testing.T) {
	fm := newFakeMetrics()
	e := newEnv(t, Config{MaxConnections: 3, Metrics: fm})
	alice := e.register("alice")
	bob := e.register("bob")
	third, code := e.tryDial("")
	if third == nil {
		t.Fatalf("third connection refused with %d", code)
	}
	if ws, code := e.tryDial(""); ws != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("fourth connection: %v, status %d; want 503", ws != nil, code)
	}
	fm.expect(t, map[string]int{"closed:" + ClosedServerFull: 1})
	// The third is accepted on the client's side before the hub lists it.
	waitFor(t, "3 connections listed", func() bool { return e.hub.Stats().Connections == 3 })
	create(t, alice, wire.TypeAudio, "bob")
	bob.callEvent(wire.EventIncoming)

	third.CloseNow()
	waitFor(t, "a free place", func() bool {
		ws, _ := e.tryDial("")
		if ws != nil {
			ws.CloseNow()
		}
		return ws != nil
	})
}

// TestMaxConnectionsPerIP: one address gets at most its cap (429 beyond),
// another address still connects.
func TestMaxConnectionsPerIP(t *testing.T) {
	fm := newFakeMetrics()
	e := newEnv(t, Config{MaxConnectionsPerIP: 2, Metrics: fm})
	a := e.dialFrom("a1", "127.0.0.2")
	a.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "A"}, nil)
	e.dialFrom("a2", "127.0.0.2")
	if ws, code := e.tryDial("127.0.0.2"); ws != nil || code != http.StatusTooManyRequests {
		t.Fatalf("third connection from one address: %v, status %d; want 429", ws != nil, code)
	}
	fm.expect(t, map[string]int{"closed:" + ClosedIPFull: 1})
	b := e.dialFrom("b", "127.0.0.3")
	b.must(wire.TypePing, nil, nil)
	a.must(wire.TypePing, nil, nil)
}

// TestSessionCap: a sign-in over MaxSessionsPerUser signs out the user's
// oldest session with CloseSessionLimit; that session cannot be resumed.
func TestSessionCap(t *testing.T) {
	fm := newFakeMetrics()
	e := newEnv(t, Config{MaxSessionsPerUser: 2, Metrics: fm})
	first := e.register("alice")
	second := e.tab(first, "alice2")
	third := e.tab(first, "alice3")
	first.expectClose(CloseSessionLimit)
	second.must(wire.TypePing, nil, nil)
	third.must(wire.TypePing, nil, nil)
	if st := e.hub.Stats(); st.Sessions != 2 {
		t.Fatalf("%d sessions, want 2", st.Sessions)
	}

	// The signed-out session is gone: asking to resume it gets a new
	// session, which in turn signs out the oldest one left.
	again := e.dial("alice4")
	again.must(wire.TypeAuth, wire.AuthRequest{Token: first.auth.Token, Resume: first.auth.Session, LastSeq: 1}, &again.auth)
	if again.auth.Resumed || again.auth.Session == first.auth.Session {
		t.Fatalf("the signed-out session was resumed: %+v", again.auth)
	}
	second.expectClose(CloseSessionLimit)
	third.must(wire.TypePing, nil, nil)
	waitFor(t, "the closes counted", func() bool { return fm.get("closed:"+ClosedSessionLimit) == 2 })

	// Another user is not affected.
	bob := e.register("bob")
	e.tab(bob, "bob2").must(wire.TypePing, nil, nil)
	bob.must(wire.TypePing, nil, nil)
}

// TestSessionCapSparesCalls: sessions in a call are never signed out for
// the cap; when all are, the new sign-in is refused and nothing changes.
func TestSessionCapSparesCalls(t *testing.T) {
	e := newEnv(t, Config{MaxSessionsPerUser: 2})
	alice := e.register("alice")
	idle := e.tab(alice, "alice-idle")
	bob := e.register("bob")
	call := create(t, alice, wire.TypeAudio, "bob")
	bob.callEvent(wire.EventIncoming)
	answer(t, bob, call)
	alice.update(statusIs("bob", wire.StatusConnecting))

	// The idle tab gives way, not the one in the call.
	busy := e.tab(alice, "alice3")
	idle.expectClose(CloseSessionLimit)
	busy.settle()

	// With the cap lowered to 1, a sign-in would need two sessions to give
	// way and only one is idle: it is refused and nothing changes.
	e.hub.mu.Lock()
	e.hub.cfg.MaxSessionsPerUser = 1
	e.hub.mu.Unlock()
	refused := e.dial("alice4")
	refused.fails(wire.TypeAuth, wire.AuthRequest{Token: alice.auth.Token}, wire.CodeConflict, wire.ReasonTooManySessions)
	refused.fails(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, wire.CodeConflict, wire.ReasonTooManySessions)
	if st := e.hub.Stats(); st.Sessions != 3 {
		t.Fatalf("%d sessions, want 3 (2 alice, bob)", st.Sessions)
	}
	busy.must(wire.TypePing, nil, nil)
	// The call goes on.
	alice.must(wire.TypeCallSignal, offer(call.RoomID, jid("bob")), nil)
	bob.event(wire.EventSignal, nil)
}

// TestQueuedBytesBudget: connections that stop reading while custom data is
// relayed to them fill the hub's queued-bytes budget; the accounted bytes
// never exceed it, the slow connections are closed with CloseOverloaded
// (biggest first), and a well-behaved call and pings keep working.
func TestQueuedBytesBudget(t *testing.T) {
	const budgetBytes = 512 << 10
	fm := newFakeMetrics()
	// A long grace keeps the cut members in the call while the others fill up.
	e := newEnv(t, Config{MaxQueuedBytes: budgetBytes, RateLimit: 1e6, RateBurst: 1 << 20, Metrics: fm, ResumeGrace: 5 * time.Minute})
	// Only the budget may cut the slow readers here: under -race on a loaded
	// machine a send takes up to a third of a second, and the 10 s write
	// timeout closed the last of them first (close code 0) in CI.
	e.hub.mu.Lock()
	e.hub.writeTimeout = 10 * time.Minute
	e.hub.mu.Unlock()
	alice := e.register("alice")
	const slow = 4
	names := make([]string, slow)
	tokens := make([]string, slow)
	for i := range slow {
		names[i] = string(rune('p'+i)) + "slow"
		c := e.register(names[i])
		tokens[i] = c.auth.Token
		c.ws.CloseNow()
	}
	call := groupCall(t, alice, wire.TypeAudio, "", names...)

	// Raw connections for the slow users that answer and never read. Their
	// sockets take in little (small kernel buffers at both ends, the hub's
	// set below), so that the hub's writes to them block within a few
	// sends: left to grow, the buffers took in 4 MB per connection first,
	// and under CI load the 60-odd sends that took were so slow that the
	// last slow connection's write timeout (10 s) closed it, without a
	// code, before the budget could cut it.
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitTimeout)
	defer cancel()
	smallBuffers := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			if cerr := rc.Control(func(fd uintptr) {
				err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			}); cerr != nil {
				return cerr
			}
			return err
		},
	}).DialContext}}
	for i := range slow {
		ws, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPClient: smallBuffers})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		for id, req := range []struct {
			typ     string
			payload any
		}{{wire.TypeAuth, wire.AuthRequest{Token: tokens[i]}}, {wire.TypeCallAnswer, room(call)}} {
			f, _ := wire.Request(req.typ, uint64(id+1), req.payload)
			b, _ := wire.Encode(f)
			if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	alice.update(func(ce wire.CallEvent) bool {
		for _, n := range names {
			if statusOf(ce.Call, jid(n)) != wire.StatusConnecting {
				return false
			}
		}
		return true
	})

	// A well-behaved pair in its own call.
	bob, carol := e.register("bob"), e.register("carol")
	other := create(t, bob, wire.TypeAudio, "carol")
	carol.callEvent(wire.EventIncoming)
	answer(t, carol, other)

	// Sample the accounted bytes as often as possible while it runs.
	var most atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if u := e.hub.bud.used.Load(); u > most.Load() {
				most.Store(u)
			}
			// Yield between samples: a loop that never does holds one of
			// a 2-core machine's processors for the whole test.
			runtime.Gosched()
		}
	}()

	blob, _ := json.Marshal(strings.Repeat("x", wire.MaxCustomDataBytes-16))
	// The slow users' connections, held here: a cut one may leave the hub
	// at once or after its close handshake gives up, so the cuts are read
	// from the connections themselves, not from who is still in the hub (a
	// cut that came and went between two looks was missed, and the loop ran
	// on until the call ended).
	var slowConns []*conn
	e.hub.mu.Lock()
	for c := range e.hub.conns {
		if c.sess != nil && slices.Contains(names, c.sess.user.Username) {
			slowConns = append(slowConns, c)
		}
	}
	e.hub.mu.Unlock()
	if len(slowConns) != slow {
		t.Fatalf("%d connections of the slow users, want %d", len(slowConns), slow)
	}
	for _, c := range slowConns {
		// The hub's side of them likewise: a send buffer left to grow
		// took in megabytes.
		tc, ok := c.nc.(*net.TCPConn)
		if !ok {
			t.Fatalf("a slow connection's socket is a %T, not TCP", c.nc)
		}
		if err := tc.SetWriteBuffer(4096); err != nil {
			t.Fatalf("sizing a slow connection's send buffer: %v", err)
		}
	}
	overloaded := func() int {
		n := 0
		for _, c := range slowConns {
			if c.closeCode() == CloseOverloaded {
				n++
			}
		}
		return n
	}
	codes := func() []string {
		var cs []string
		for _, c := range slowConns {
			c.mu.Lock()
			cs = append(cs, fmt.Sprintf("%d %q", c.code, c.reason))
			c.mu.Unlock()
		}
		return cs
	}
	loopAt := time.Now()
	defer func() {
		t.Logf("%d slow connections cut in %v", overloaded(), time.Since(loopAt).Round(time.Millisecond))
	}()
	for i := 0; overloaded() < slow; i++ {
		if i == 5000 {
			t.Fatalf("only %d of %d slow connections closed (codes %v)", overloaded(), slow, codes())
		}
		if err := alice.do(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: blob}, nil); err != nil {
			t.Fatalf("data %d: %v (the slow connections' close codes: %v)", i, err, codes())
		}
		if q := e.hub.Stats().QueuedBytes; q > budgetBytes {
			t.Fatalf("%d bytes queued, over the budget of %d", q, budgetBytes)
		}
	}
	close(stop)
	wg.Wait()
	if m := most.Load(); m > budgetBytes {
		t.Fatalf("up to %d bytes queued, over the budget of %d", m, budgetBytes)
	}

	// Relays to the cut connections stop; the rest works.
	alice.must(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: blob}, nil)
	if q := e.hub.Stats().QueuedBytes; q > 64<<10 {
		t.Fatalf("%d bytes still queued after the slow connections were cut", q)
	}
	bob.must(wire.TypePing, nil, nil)
	bob.must(wire.TypeCallData, wire.DataRequest{RoomID: other.RoomID, Data: blob}, nil)
	carol.event(wire.EventData, nil)
	alice.must(wire.TypePing, nil, nil)
	if alice.isClosedNow() || bob.isClosedNow() || carol.isClosedNow() {
		t.Fatal("a reading connection was closed")
	}
	// Every byte counted was given back: nothing is left queued once the
	// readers have read.
	waitFor(t, "no bytes queued", func() bool { return e.hub.Stats().QueuedBytes == 0 })
}

// TestEventFrame: the frames built per tab are exactly what encoding the
// wire.Frame would give, so sharing the payload changes no byte.
func TestEventFrame(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		seq  uint64
		data string
	}{
		{wire.EventUpdate, 1, `{"call":{"roomId":"r"}}`},
		{wire.EventData, 18446744073709551615, `{"roomId":"r","from":"a@localhost","data":"<&>\u2028é"}`},
		{wire.EventSignal, 42, `"x"`},
		{wire.EventDismissed, 7, ``},
	} {
		want, err := wire.Marshal(wire.Frame{Type: tc.typ, Seq: tc.seq, Data: json.RawMessage(tc.data)})
		if err != nil {
			t.Fatal(err)
		}
		f := eventFrame(tc.typ, tc.seq, json.RawMessage(tc.data))
		if got := f.bytes(); string(got) != string(want) || f.size() != len(want) {
			t.Errorf("eventFrame(%s, %d) = %s (size %d), want %s", tc.typ, tc.seq, got, f.size(), want)
		}
	}
}

func (c *client) isClosedNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// TestReplayBudget: the events sessions keep for resuming stay within
// MaxReplayBytes (plus the newest event of each session) however much is
// relayed, the oldest going first; live delivery is not affected, and a
// resume still replays what was kept.
func TestReplayBudget(t *testing.T) {
	const budgetBytes = 1 << 20
	e := newEnv(t, Config{MaxReplayBytes: budgetBytes, RateLimit: 1e6, RateBurst: 1 << 20})
	alice := e.register("alice")
	names := []string{"bob", "carol", "dave", "erin"}
	var members []*client
	for _, n := range names {
		members = append(members, e.register(n))
	}
	call := groupCall(t, alice, wire.TypeAudio, "", names...)
	for _, m := range members {
		answer(t, m, call)
	}
	blob, _ := json.Marshal(strings.Repeat("x", 60<<10))
	const sends = 60 // 3.6 MiB to each of 4 members: 14 MiB kept without the budget
	event := int64(len(blob) + 256)
	limit := int64(budgetBytes) + int64(len(names)+1)*event
	for i := range sends {
		alice.must(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: blob}, nil)
		if got := e.hub.Stats().ReplayBytes; got > limit {
			t.Fatalf("after %d sends the replay buffers hold %d bytes, over %d", i+1, got, limit)
		}
	}
	for _, m := range members {
		m.wait("every data event live", func() bool {
			k := 0
			for _, ev := range m.events {
				if ev.Type == wire.EventData {
					k++
				}
			}
			return k == sends
		})
	}
	if got := e.hub.Stats().ReplayBytes; got < budgetBytes/2 {
		t.Fatalf("the buffers hold only %d bytes: the budget dropped more than it needed", got)
	}

	// bob drops and resumes from before the data: he gets the newest events
	// that were kept, in order, not all 60.
	bob := members[0]
	bob.ws.CloseNow()
	again := e.dial("bob-again")
	var res wire.AuthResult
	again.must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: 1}, &res)
	if !res.Resumed {
		t.Fatalf("resume: %+v", res)
	}
	again.wait("the kept events replayed", func() bool {
		for _, ev := range again.events {
			if ev.Type == wire.EventData {
				return true
			}
		}
		return false
	})
	again.mu.Lock()
	var seqs []uint64
	for _, ev := range again.events {
		if ev.Type == wire.EventData {
			seqs = append(seqs, ev.Seq)
		}
	}
	again.mu.Unlock()
	if len(seqs) >= sends || !slices.IsSorted(seqs) {
		t.Fatalf("replayed %d data events (seqs %v), want fewer than %d, in order", len(seqs), seqs, sends)
	}

	// Removing sessions gives their bytes back.
	for _, c := range append([]*client{alice, again}, members[1:]...) {
		c.must(wire.TypeLogout, nil, nil)
	}
	waitFor(t, "the buffers emptied", func() bool { return e.hub.Stats().ReplayBytes == 0 })
}
