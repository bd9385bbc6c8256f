package turntest

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// maxDatagram is the largest UDP payload the proxy forwards.
const maxDatagram = 65535

// LossyProxy is a UDP forwarder on 127.0.0.1 in front of a UDP server (a
// TURN server's UDP port): every client address gets its own socket to the
// server, and each datagram, either way, is dropped with the probability
// set by SetLoss. Put it between browsers and their TURN server, with relay
// as the ICE transport policy, and the only media path loses packets: a bad
// line, on loopback. Its methods are safe for concurrent use.
type LossyProxy struct {
	t        testing.TB
	listener *net.UDPConn
	upstream *net.UDPAddr
	loss     atomic.Uint32 // drop probability in millionths
	dropped  atomic.Uint64
	passed   atomic.Uint64

	mu      sync.Mutex
	clients map[string]*net.UDPConn // by client address
	closed  bool
	wg      sync.WaitGroup
}

// NewLossyProxy forwards datagrams between a port it listens on and
// upstream ("host:port"), losing none until SetLoss; it is closed when the
// test ends.
func NewLossyProxy(t testing.TB, upstream string) *LossyProxy {
	t.Helper()
	up, err := net.ResolveUDPAddr("udp", upstream)
	if err != nil {
		t.Fatalf("turntest: lossy proxy upstream %q: %v", upstream, err)
	}
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("turntest: lossy proxy: %v", err)
	}
	p := &LossyProxy{t: t, listener: l, upstream: up, clients: map[string]*net.UDPConn{}}
	p.wg.Add(1)
	go p.fromClients()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's address, "127.0.0.1:port": give it to the clients
// instead of the upstream's.
func (p *LossyProxy) Addr() string { return p.listener.LocalAddr().String() }

// SetLoss makes the proxy drop each datagram with probability loss (0 to
// 1), in both directions. A packet between two clients crosses the proxy
// twice (to the relay and back out), so it is lost with 1-(1-loss)².
func (p *LossyProxy) SetLoss(loss float64) {
	loss = min(max(loss, 0), 1)
	p.loss.Store(uint32(loss * 1e6))
}

// Counts are the datagrams dropped and forwarded so far.
func (p *LossyProxy) Counts() (dropped, passed uint64) { return p.dropped.Load(), p.passed.Load() }

// drop decides one datagram's fate.
func (p *LossyProxy) drop() bool {
	if l := p.loss.Load(); l > 0 && rand.Uint32N(1e6) < l {
		p.dropped.Add(1)
		return true
	}
	p.passed.Add(1)
	return false
}

// fromClients forwards what clients send to the upstream, each client
// through its own socket.
func (p *LossyProxy) fromClients() {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := p.listener.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		c := p.client(from)
		if c == nil {
			return // closed
		}
		if p.drop() {
			continue
		}
		_, _ = c.Write(buf[:n])
	}
}

// client is the upstream socket of client address from, opened at its
// first datagram; nil once the proxy is closed.
func (p *LossyProxy) client(from *net.UDPAddr) *net.UDPConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if c := p.clients[from.String()]; c != nil {
		return c
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, p.upstream)
	if err != nil {
		p.t.Errorf("turntest: lossy proxy: dial upstream: %v", err)
		return nil
	}
	p.clients[from.String()] = c
	p.wg.Add(1)
	go p.toClient(c, from)
	return c
}

// toClient forwards what the upstream sends on c back to client address to.
func (p *LossyProxy) toClient(c *net.UDPConn, to *net.UDPAddr) {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error of an earlier write: go on
		}
		if p.drop() {
			continue
		}
		_, _ = p.listener.WriteToUDP(buf[:n], to)
	}
}

// Close stops forwarding and waits for its goroutines. It is safe to call
// twice.
func (p *LossyProxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	conns := make([]*net.UDPConn, 0, len(p.clients))
	for _, c := range p.clients {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	_ = p.listener.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}
