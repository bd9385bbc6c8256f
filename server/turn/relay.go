package turn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	pionturn "github.com/pion/turn/v5"
	"golang.org/x/time/rate"
)

// Errors of relay allocation.
var (
	errQuota        = errors.New("turn: allocation quota reached")
	errTCPRelay     = errors.New("turn: TCP relaying (RFC 6062) is disabled; WebRTC relays UDP")
	errNoRelayPorts = errors.New("turn: no free relay port")
)

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT), as
// internal as RFC 1918 space though net/netip does not call it private.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// thisNetwork is 0.0.0.0/8, "this host on this network".
var thisNetwork = netip.MustParsePrefix("0.0.0.0/8")

// internal reports whether ip is an address a public relay must not reach:
// loopback, private (RFC 1918, fc00::/7), shared (RFC 6598), link-local,
// unspecified, multicast or broadcast.
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		sharedAddressSpace.Contains(ip) || thisNetwork.Contains(ip) || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// relays is the shared state of one server's relay sockets: the peer
// address rules, the per-user quota, the bandwidth cap and the counters.
type relays struct {
	ownIPs       []netip.Addr // the relay addresses' IPs: public, and bound if specific
	bindIP       netip.Addr   // relay sockets bind here; unspecified for all
	publicIP     netip.Addr   // put in relay candidates
	portMin      int          // 0: ports chosen by the system
	portMax      int
	allowPrivate bool
	quota        int
	bandwidth    int64 // bytes/s per direction per allocation; 0: uncapped
	stats        *counters

	mu    sync.RWMutex
	ports map[int]int    // live relay ports (counts: a port may serve udp4 and udp6)
	users map[string]int // live allocations per JID
}

// own reports whether ip is one of this server's relay IPs.
func (r *relays) own(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, o := range r.ownIPs {
		if o == ip {
			return true
		}
	}
	return false
}

// permit is the PermissionHandler: may a client relay to and from peerIP?
// Internal addresses are refused, except this server's own relay IPs,
// whose ports the relay sockets check packet by packet (two clients of this
// server on one machine or LAN relay to each other's relay addresses).
func (r *relays) permit(_ net.Addr, peerIP net.IP) bool {
	if r.allowPrivate {
		return true
	}
	ip, ok := netip.AddrFromSlice(peerIP)
	if !ok {
		r.stats.refusedPeer.Add(1)
		return false
	}
	if r.own(ip) || !internal(ip) {
		return true
	}
	r.stats.refusedPeer.Add(1)
	return false
}

// peerAllowed reports whether a packet may go to or come from addr: on one
// of this server's relay IPs only live relay ports qualify (not the TURN
// port, not SSH), and internal addresses not at all, unless allowPrivate.
func (r *relays) peerAllowed(addr net.Addr) bool {
	if r.allowPrivate {
		return true
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return false
	}
	if r.own(ip) {
		r.mu.RLock()
		live := r.ports[ua.Port] > 0
		r.mu.RUnlock()
		return live
	}
	return !internal(ip)
}

// quotaOK is the QuotaHandler: userID is the JID the AuthHandler returned.
// The authoritative check is in AllocatePacketConn, which counts in the
// same step; this one answers 486 (Allocation Quota Reached) as RFC 8656
// asks for the common case.
func (r *relays) quotaOK(userID, _ string, _ net.Addr) bool {
	if r.quota <= 0 {
		return true
	}
	r.mu.RLock()
	n := r.users[userID]
	r.mu.RUnlock()
	if n >= r.quota {
		r.stats.refusedQuota.Add(1)
		return false
	}
	return true
}

// Validate implements pionturn.RelayAddressGenerator.
func (r *relays) Validate() error {
	if !r.publicIP.IsValid() {
		return errors.New("turn: no public IP")
	}
	return nil
}

// AllocatePacketConn implements pionturn.RelayAddressGenerator: it opens a
// relay socket (in the port range if one is set), counts it against the
// user's quota and wraps it with the peer rules, the bandwidth cap and the
// byte counters. The quota is released when pion closes the socket, which
// it does whenever the allocation goes (expiry, refresh to 0, shutdown).
func (r *relays) AllocatePacketConn(conf pionturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	v6 := conf.Network == "udp6"
	if r.publicIP.Is6() != v6 {
		return nil, nil, fmt.Errorf("turn: no relay address for %s", conf.Network)
	}
	if conf.UserID != "" {
		r.mu.Lock()
		if r.quota > 0 && r.users[conf.UserID] >= r.quota {
			r.mu.Unlock()
			r.stats.refusedQuota.Add(1)
			return nil, nil, errQuota
		}
		r.users[conf.UserID]++
		r.mu.Unlock()
	}
	release := func() {
		if conf.UserID == "" {
			return
		}
		r.mu.Lock()
		if r.users[conf.UserID]--; r.users[conf.UserID] <= 0 {
			delete(r.users, conf.UserID)
		}
		r.mu.Unlock()
	}
	pc, err := r.listen(conf.Network, conf.RequestedPort)
	if err != nil {
		release()
		return nil, nil, err
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	relayAddr := &net.UDPAddr{IP: r.publicIP.AsSlice(), Port: port}
	if conf.UserID == "" {
		// pion probing for an even port (EVEN-PORT): closed at once.
		return pc, relayAddr, nil
	}
	r.mu.Lock()
	r.ports[port]++
	r.mu.Unlock()
	r.stats.active.Add(1)
	r.stats.total.Add(1)
	c := &relayConn{PacketConn: pc, r: r}
	c.release = func() {
		r.mu.Lock()
		if r.ports[port]--; r.ports[port] <= 0 {
			delete(r.ports, port)
		}
		r.mu.Unlock()
		release()
		r.stats.active.Add(-1)
	}
	if r.bandwidth > 0 {
		burst := max(int(r.bandwidth/4), 16<<10)
		c.out = rate.NewLimiter(rate.Limit(r.bandwidth), burst)
		c.in = rate.NewLimiter(rate.Limit(r.bandwidth), burst)
	}
	return c, relayAddr, nil
}

// listen opens a relay socket on port, or on a free port of the range, or
// on one the system picks.
func (r *relays) listen(network string, port int) (net.PacketConn, error) {
	bind := r.bindIP
	if bind.Is4() != (network == "udp4") {
		bind = netip.IPv4Unspecified()
		if network == "udp6" {
			bind = netip.IPv6Unspecified()
		}
	}
	open := func(port int) (net.PacketConn, error) {
		return net.ListenPacket(network, net.JoinHostPort(bind.String(), strconv.Itoa(port)))
	}
	if port != 0 || r.portMin == 0 {
		return open(port)
	}
	span := r.portMax - r.portMin + 1
	start := rand.IntN(span)
	// Random probes first, then a sweep, so a nearly full range still
	// finds its last free ports.
	for i := range 16 {
		if pc, err := open(r.portMin + (start+i*7919)%span); err == nil {
			return pc, nil
		}
	}
	for i := range span {
		if pc, err := open(r.portMin + (start+i)%span); err == nil {
			return pc, nil
		}
	}
	return nil, errNoRelayPorts
}

// AllocateListener implements pionturn.RelayAddressGenerator: TCP
// allocations are refused.
func (r *relays) AllocateListener(pionturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	r.stats.refusedTCPRelay.Add(1)
	return nil, nil, errTCPRelay
}

// AllocateConn implements pionturn.RelayAddressGenerator: TCP
// allocations are refused.
func (r *relays) AllocateConn(pionturn.AllocateConnConfig) (net.Conn, error) {
	r.stats.refusedTCPRelay.Add(1)
	return nil, errTCPRelay
}

// relayConn is one allocation's relay socket. It drops, rather than delays,
// packets to or from peers the rules forbid and packets over the bandwidth
// cap (a relay that blocks would stall every client behind the same read
// loop), and counts what it relays.
type relayConn struct {
	net.PacketConn
	r       *relays
	out, in *rate.Limiter // nil: uncapped
	release func()
	once    sync.Once
}

// WriteTo sends p to a peer. A dropped packet reports success: UDP gives no
// delivery guarantee, and an error would only make pion log it.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.r.peerAllowed(addr) {
		c.r.stats.droppedPeer.Add(1)
		return len(p), nil
	}
	if c.out != nil && !c.out.AllowN(time.Now(), len(p)) {
		c.r.stats.droppedBandwidth.Add(1)
		return len(p), nil
	}
	n, err := c.PacketConn.WriteTo(p, addr)
	c.r.stats.bytesToPeers.Add(uint64(n))
	return n, err
}

// ReadFrom returns the next packet from a peer that the rules and the cap
// let through.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		if !c.r.peerAllowed(addr) {
			c.r.stats.droppedPeer.Add(1)
			continue
		}
		if c.in != nil && !c.in.AllowN(time.Now(), n) {
			c.r.stats.droppedBandwidth.Add(1)
			continue
		}
		c.r.stats.bytesFromPeers.Add(uint64(n))
		return n, addr, nil
	}
}

// Close closes the socket and releases its port and quota once.
func (c *relayConn) Close() error {
	c.once.Do(c.release)
	return c.PacketConn.Close()
}

// counters are the server's statistics, updated atomically.
type counters struct {
	active           atomic.Int64
	total            atomic.Uint64
	bytesToPeers     atomic.Uint64
	bytesFromPeers   atomic.Uint64
	droppedPeer      atomic.Uint64
	droppedBandwidth atomic.Uint64
	refusedMalformed atomic.Uint64
	refusedExpired   atomic.Uint64
	refusedAuth      atomic.Uint64
	refusedQuota     atomic.Uint64
	refusedPeer      atomic.Uint64
	refusedTCPRelay  atomic.Uint64
}
