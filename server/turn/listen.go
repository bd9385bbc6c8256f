package turn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// listenShared listens on addr over UDP and TCP with the same port. For
// port 0 it lets the system pick a UDP port and then takes TCP on it,
// retrying with another pick if that TCP port is taken.
func listenShared(ctx context.Context, addr string, v6 bool) (net.PacketConn, net.Listener, error) {
	udpNet, tcpNet := "udp4", "tcp4"
	if v6 {
		udpNet, tcpNet = "udp6", "tcp6"
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("turn: listen address: %w", err)
	}
	var lc net.ListenConfig
	var lastErr error
	for range 10 {
		pc, err := lc.ListenPacket(ctx, udpNet, addr)
		if err != nil {
			return nil, nil, fmt.Errorf("turn: listen UDP: %w", err)
		}
		got := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := lc.Listen(ctx, tcpNet, net.JoinHostPort(host, strconv.Itoa(got)))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
		if p != "0" || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, nil, fmt.Errorf("turn: listen TCP: %w", lastErr)
}

// connSet tracks the TCP and TLS connections pion accepted: pion closes its
// listeners on Close but not these.
type connSet struct {
	mu     sync.Mutex
	m      map[*trackedConn]struct{}
	closed bool
}

func (s *connSet) add(c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return tc
	}
	if s.m == nil {
		s.m = map[*trackedConn]struct{}{}
	}
	s.m[tc] = struct{}{}
	return tc
}

func (s *connSet) remove(c *trackedConn) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

func (s *connSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// closeAll closes every connection, and any accepted later.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*trackedConn, 0, len(s.m))
	for c := range s.m {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// tcpIdleTimeout closes a TCP or TLS connection that has sent nothing for
// this long: longer than an allocation lives unrefreshed (10 minutes), so
// only connections of clients that vanished without closing are cut.
const tcpIdleTimeout = 11 * time.Minute

// trackedConn removes itself from its set when closed, and times out when
// idle.
type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(tcpIdleTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.set.remove(c) })
	return err
}

// trackedListener adds the connections it accepts to set.
type trackedListener struct {
	net.Listener
	set *connSet
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.set.add(c), nil
}

// detectIP guesses the address other hosts reach this one by, for a server
// listening on all interfaces: the source address of the route to a
// public address (connecting a UDP socket sends nothing), else the first
// global unicast IPv4 address of an interface, else loopback.
func detectIP(log *slog.Logger) netip.Addr {
	if c, err := net.Dial("udp4", "192.0.2.1:9"); err == nil {
		ap, perr := netip.ParseAddrPort(c.LocalAddr().String())
		c.Close()
		if ip := ap.Addr().Unmap(); perr == nil && ip.IsGlobalUnicast() {
			return ip
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil {
				if ip := pfx.Addr().Unmap(); ip.Is4() && ip.IsGlobalUnicast() {
					return ip
				}
			}
		}
	}
	log.Warn("turn: no address found for relay candidates; using 127.0.0.1, set the public IP")
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}
