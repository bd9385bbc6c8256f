package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"parley/server/cluster/natstest"
)

// testLease keeps failover quicker in tests (what they assert does not
// depend on it) while long enough not to change hands under a loaded
// machine's pauses.
const testLease = time.Second

func join(t *testing.T, url string) *Node {
	t.Helper()
	return joinWith(t, Config{URL: url, Lease: testLease})
}

func joinWith(t *testing.T, cfg Config) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Logger = log
	n, err := Join(ctx, cfg)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// leader runs n's campaign; while n leads it serves echo on its listener.
// The returned function stops the campaign (releasing the lease) and waits.
func leader(t *testing.T, n *Node, serve func(net.Listener)) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.Lead(ctx, func(lctx context.Context) {
			ln, err := n.Listen()
			if err != nil {
				t.Errorf("Listen: %v", err)
				return
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				serve(ln)
			}()
			<-lctx.Done()
			ln.Close()
			<-done
		})
	}()
	stop := func() {
		cancel()
		wg.Wait()
	}
	t.Cleanup(stop)
	return stop
}

// echo copies every accepted stream back to its writer.
func echo(ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dial(t *testing.T, n *Node) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := n.Dial(ctx)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() }) // before the leader's echo stops
	return c
}

// TestStreamCarriesBytesInOrder: 3 MB written in uneven pieces through a
// stream to the leader come back whole and in order, and closing one side
// ends the other's reads with EOF.
func TestStreamCarriesBytesInOrder(t *testing.T) {
	nats := natstest.Start(t)
	a, b := join(t, nats.URL()), join(t, nats.URL())
	leader(t, a, echo)
	waitFor(t, "a to lead", a.Leading)

	c := dial(t, b)
	want := make([]byte, 3<<20)
	rand.Read(want)
	go func() {
		for p := want; len(p) > 0; {
			k := min(len(p), 1+len(p)%70000)
			if _, err := c.Write(p[:k]); err != nil {
				t.Errorf("Write: %v", err)
				return
			}
			p = p[k:]
		}
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("ReadFull: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the echoed bytes differ from those written")
	}
	c.Close()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("Read after Close succeeded")
	}

	// The leader's side sees EOF when the gateway closes: a second stream
	// whose peer closes right after writing gets its echo and then EOF.
	c2 := dial(t, b)
	c2.Write([]byte("bye"))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "bye" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	c2.(*stream).send(kindFin, nil) // half-close: the echo loop ends and closes
	if _, err := c2.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("after the half-close, Read = %v, want EOF", err)
	}
	c2.Close()
}

// TestReadDeadline: a read with nothing to read fails at its deadline and
// a later one succeeds once bytes arrive.
func TestReadDeadline(t *testing.T) {
	nats := natstest.Start(t)
	a, b := join(t, nats.URL()), join(t, nats.URL())
	leader(t, a, echo)
	c := dial(t, b)
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want a deadline error", err)
	}
	c.SetReadDeadline(time.Time{})
	c.Write([]byte("x"))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("Read after clearing the deadline: %v", err)
	}
}

// TestHTTPOverStream: an http.Server on the leader's listener answers a
// gateway's http.Transport that dials through the cluster.
func TestHTTPOverStream(t *testing.T) {
	nats := natstest.Start(t)
	a, b := join(t, nats.URL()), join(t, nats.URL())
	leader(t, a, func(ln net.Listener) {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello from "+a.ID()+" to "+r.RemoteAddr)
		})}
		srv.Serve(ln)
	})
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return b.Dial(ctx) }}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	for range 3 {
		res, err := client.Get("http://leader/x")
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := "hello from " + a.ID() + " to nats:" + b.ID(); string(body) != want {
			t.Fatalf("body %q, want %q", body, want)
		}
	}
}

// TestFailover: when the leader dies without a word (its NATS connection
// just drops), another node takes the lease, a stream to the dead leader
// is reset, and a new Dial reaches the new leader.
func TestFailover(t *testing.T) {
	nats := natstest.Start(t)
	a, b, c := join(t, nats.URL()), join(t, nats.URL()), join(t, nats.URL())
	leader(t, a, echo)
	waitFor(t, "a to lead", a.Leading)
	leader(t, b, echo)
	s := dial(t, c)
	s.Write([]byte("1"))
	io.ReadFull(s, make([]byte, 1))

	died := time.Now()
	a.nc.Close() // kill -9, as NATS and the others see it
	waitFor(t, "b to lead", b.Leading)
	t.Logf("b leads %v after a died (lease %v)", time.Since(died).Round(time.Millisecond), testLease)
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, errLeaderChanged) {
		t.Fatalf("a stream to the dead leader reads %v, want errLeaderChanged", err)
	}
	s2 := dial(t, c)
	defer s2.Close()
	if got := s2.RemoteAddr().String(); got != "nats:"+b.ID() {
		t.Fatalf("the new stream goes to %s, want b (%s)", got, b.ID())
	}
	s2.Write([]byte("2"))
	if _, err := io.ReadFull(s2, make([]byte, 1)); err != nil {
		t.Fatalf("echo through the new leader: %v", err)
	}
}

// TestHandover: a leader that stops on purpose releases the lease, and
// the next node leads; only one node leads at any moment.
func TestHandover(t *testing.T) {
	nats := natstest.Start(t)
	a, b := join(t, nats.URL()), join(t, nats.URL())
	stopA := leader(t, a, echo)
	waitFor(t, "a to lead", a.Leading)
	leader(t, b, echo)
	both := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if a.Leading() && b.Leading() {
				both <- true
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	handed := time.Now()
	stopA()
	waitFor(t, "b to lead", b.Leading)
	t.Logf("b leads %v after a stopped (lease %v)", time.Since(handed).Round(time.Millisecond), testLease)
	close(done)
	select {
	case <-both:
		t.Fatalf("a and b led at once")
	default:
	}
	if id, err := b.Leader(context.Background()); err != nil || id != b.ID() {
		t.Fatalf("Leader() = %q, %v; want b", id, err)
	}
}

// TestOpenRefusedWhenNotLeading: a stream opened to a node that does not
// listen is refused, and Dial keeps trying only while no leader answers.
func TestOpenRefusedWhenNotLeading(t *testing.T) {
	nats := natstest.Start(t)
	a, b := join(t, nats.URL()), join(t, nats.URL())
	if _, err := b.open(context.Background(), a.ID()); !errors.Is(err, errRefused) {
		t.Fatalf("open to a node that does not lead = %v, want errRefused", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := b.Dial(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial with no leader = %v, want the context's deadline", err)
	}
}

// TestLeaseAfterNATSRestarts: the NATS server restarts and forgets the
// lease's bucket (kept in memory); the leader, unable to renew, steps
// down, and once NATS is back a node makes the bucket again and leads.
func TestLeaseAfterNATSRestarts(t *testing.T) {
	nats := natstest.Start(t)
	a, b := join(t, nats.URL()), join(t, nats.URL())
	leader(t, a, echo)
	waitFor(t, "a to lead", a.Leading)
	leader(t, b, echo)
	nats.Restart(t)
	waitFor(t, "a node to lead after the restart", func() bool {
		id, err := b.Leader(context.Background())
		return err == nil && id != "" && (a.Leading() || b.Leading())
	})
	s := dial(t, b)
	defer s.Close()
	s.Write([]byte("x"))
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
		t.Fatalf("echo through the leader after the restart: %v", err)
	}
}

// TestDialSelf: the leader itself may dial the lease's holder (a gateway
// route racing its own election) and get a working stream.
func TestDialSelf(t *testing.T) {
	nats := natstest.Start(t)
	a := join(t, nats.URL())
	leader(t, a, echo)
	c := dial(t, a)
	defer c.Close()
	c.Write([]byte("self"))
	buf := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "self" {
		t.Fatalf("echo to itself = %q, %v", buf, err)
	}
}

// TestDeadGatewayStreams: the leader resets the streams of a gateway that
// went silent (died) after PeerTimeout, so that their server side ends.
func TestDeadGatewayStreams(t *testing.T) {
	nats := natstest.Start(t)
	a := joinWith(t, Config{URL: nats.URL(), Lease: testLease, PeerTimeout: 500 * time.Millisecond})
	b := join(t, nats.URL())
	accepted := make(chan net.Conn, 1)
	leader(t, a, func(ln net.Listener) {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		accepted <- c
	})
	dial(t, b)
	c := <-accepted
	b.nc.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, errPeerGone) {
		t.Fatalf("the dead gateway's stream reads %v, want errPeerGone", err)
	}
}
