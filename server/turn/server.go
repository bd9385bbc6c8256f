// Package turn is Parley's embedded TURN server (RFC 8656, built on
// pion/turn) and the ICE configuration it hands to signed-in users.
//
// Credentials are short-lived and minted per user in the "TURN REST API"
// form (see Signer), so no account database is shared with the relay and an
// external coturn configured with use-auth-secret and the same secret
// accepts them too (see Provider).
//
// A TURN server on a public address relays for whoever holds credentials,
// so the Server refuses what a relay must not do: forged, expired or
// malformed credentials; more live allocations per user than the quota;
// peers on loopback, private, link-local, multicast or unspecified
// addresses (except this server's own relay addresses, so that two clients
// on one machine or LAN can meet through it); TCP relaying; and traffic
// over a per-allocation bandwidth cap, which is dropped.
package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	pionturn "github.com/pion/turn/v5"
)

// Defaults of Config.
const (
	// DefaultRealm is the TURN realm.
	DefaultRealm = "parley"
	// DefaultMaxAllocationsPerUser: a user in an 8-person mesh call holds
	// one allocation per peer connection it relays, per tab; 10 covers a
	// full call with room for an ICE restart.
	DefaultMaxAllocationsPerUser = 10
	// DefaultBandwidthPerAllocation is 2.5 MB/s (20 Mbit/s) each way: a
	// 1080p video stream with margin.
	DefaultBandwidthPerAllocation = 2_500_000
)

// drainTimeout bounds how long Close waits for pion to close the
// allocations and connections it was serving.
const drainTimeout = 5 * time.Second

// Config configures a Server. Zero fields take the documented defaults.
type Config struct {
	// Addr is where TURN listens over UDP and TCP, on the same port
	// (e.g. ":3478", or "127.0.0.1:0" for a port the system picks).
	Addr string
	// TLSAddr, if set, is where TURN listens over TLS (e.g. ":5349"); it
	// needs TLSConfig or GetCertificate.
	TLSAddr string
	// TLSConfig is the TLS configuration of TLSAddr.
	TLSConfig *tls.Config
	// GetCertificate, used when TLSConfig is nil, supplies the certificate
	// of TLSAddr (typically the HTTPS server's).
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// PublicIP is the address put in relay candidates. Default: Addr's IP
	// if it is specific, else the source address of the default route, else
	// the first global unicast address of an interface. Behind 1:1 NAT (most
	// clouds) set it to the public address.
	PublicIP netip.Addr
	// Realm is the TURN realm, DefaultRealm if empty.
	Realm string
	// PortMin and PortMax bound the relay ports (inclusive); both zero lets
	// the system pick.
	PortMin, PortMax int
	// Secret is the HMAC key of the credentials; required.
	Secret []byte
	// CredentialTTL is how long minted credentials last,
	// DefaultCredentialTTL if zero.
	CredentialTTL time.Duration
	// MaxAllocationsPerUser is the quota of live allocations per JID,
	// DefaultMaxAllocationsPerUser if zero; negative for none.
	MaxAllocationsPerUser int
	// BandwidthPerAllocation caps each allocation's relayed bytes per second
	// in each direction; packets over it are dropped.
	// DefaultBandwidthPerAllocation if zero; negative for no cap.
	BandwidthPerAllocation int64
	// AllowPrivate lets clients relay to internal addresses (loopback,
	// private, link-local...): only for a server that serves a private
	// network, never on the Internet.
	AllowPrivate bool
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
}

// Stats are a Server's counters since Start.
type Stats struct {
	// ActiveAllocations is the number of live allocations.
	ActiveAllocations int64
	// TotalAllocations counts the allocations made.
	TotalAllocations uint64
	// BytesToPeers and BytesFromPeers count relayed payload bytes.
	BytesToPeers, BytesFromPeers uint64
	// DroppedPeer counts packets dropped because their peer address is
	// forbidden; DroppedBandwidth those over the bandwidth cap.
	DroppedPeer, DroppedBandwidth uint64
	// Refused counts refused requests by reason: RefusedMalformed and
	// RefusedExpired usernames, RefusedCredentials (wrong password:
	// forged, another secret, or another user's), RefusedQuota,
	// RefusedPeer (permissions to forbidden peers), RefusedTCPRelay.
	RefusedMalformed, RefusedExpired, RefusedCredentials uint64
	RefusedQuota, RefusedPeer, RefusedTCPRelay           uint64
}

// BytesRelayed is the payload relayed in both directions.
func (s Stats) BytesRelayed() uint64 { return s.BytesToPeers + s.BytesFromPeers }

// Server is an embedded TURN server. Make it with New, then Start it.
type Server struct {
	cfg    Config
	signer Signer
	log    *slog.Logger
	stats  counters
	conns  connSet

	mu       sync.Mutex
	started  bool
	closed   bool
	pion     *pionturn.Server
	relays   *relays
	udp      net.PacketConn
	tcp, tls net.Listener
	publicIP netip.Addr
}

// New checks cfg and returns a Server that is not listening yet.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Addr == "":
		return nil, errors.New("turn: no listen address")
	case len(cfg.Secret) == 0:
		return nil, errors.New("turn: no secret")
	case cfg.PortMin == 0 && cfg.PortMax == 0:
	case cfg.PortMin < 1 || cfg.PortMax > 65535 || cfg.PortMin > cfg.PortMax:
		return nil, fmt.Errorf("turn: bad relay port range %d-%d", cfg.PortMin, cfg.PortMax)
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("turn: listen address: %w", err)
	}
	if cfg.TLSAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.TLSAddr); err != nil {
			return nil, fmt.Errorf("turn: TLS listen address: %w", err)
		}
		if cfg.TLSConfig == nil && cfg.GetCertificate == nil {
			return nil, errors.New("turn: TURN over TLS needs a certificate")
		}
	}
	if cfg.PublicIP.IsValid() && (cfg.PublicIP.IsUnspecified() || cfg.PublicIP.IsMulticast()) {
		return nil, fmt.Errorf("turn: public IP %s is not a unicast address", cfg.PublicIP)
	}
	cfg.PublicIP = cfg.PublicIP.Unmap()
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if cfg.CredentialTTL <= 0 {
		cfg.CredentialTTL = DefaultCredentialTTL
	}
	if cfg.MaxAllocationsPerUser == 0 {
		cfg.MaxAllocationsPerUser = DefaultMaxAllocationsPerUser
	}
	if cfg.BandwidthPerAllocation == 0 {
		cfg.BandwidthPerAllocation = DefaultBandwidthPerAllocation
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{
		cfg:    cfg,
		signer: Signer{Secret: cfg.Secret, TTL: cfg.CredentialTTL},
		log:    cfg.Logger.With("component", "turn"),
	}, nil
}

// Start opens the listeners and starts serving. ctx bounds only the start;
// Close stops the server.
func (s *Server) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errors.New("turn: already started")
	}
	s.started = true
	defer func() {
		if err != nil {
			s.closeListeners()
		}
	}()
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	bindIP := netip.IPv4Unspecified()
	if host != "" {
		ip, perr := netip.ParseAddr(host)
		if perr != nil {
			return fmt.Errorf("turn: listen address %q: the host must be an IP address", s.cfg.Addr)
		}
		bindIP = ip.Unmap()
	}
	if s.udp, s.tcp, err = listenShared(ctx, s.cfg.Addr, bindIP.Is6()); err != nil {
		return err
	}
	listeners := []pionturn.ListenerConfig{{Listener: &trackedListener{Listener: s.tcp, set: &s.conns}}}
	if s.cfg.TLSAddr != "" {
		var lc net.ListenConfig
		ln, lerr := lc.Listen(ctx, "tcp", s.cfg.TLSAddr)
		if lerr != nil {
			return fmt.Errorf("turn: listen TLS: %w", lerr)
		}
		tc := s.cfg.TLSConfig.Clone()
		if tc == nil {
			tc = &tls.Config{GetCertificate: s.cfg.GetCertificate}
		}
		if tc.MinVersion < tls.VersionTLS12 {
			tc.MinVersion = tls.VersionTLS12
		}
		s.tls = tls.NewListener(&trackedListener{Listener: ln, set: &s.conns}, tc)
		listeners = append(listeners, pionturn.ListenerConfig{Listener: s.tls})
	}

	s.publicIP = s.cfg.PublicIP
	if !s.publicIP.IsValid() {
		if bindIP.IsUnspecified() {
			s.publicIP = detectIP(s.log)
		} else {
			s.publicIP = bindIP
		}
	}
	r := &relays{
		ownIPs:       []netip.Addr{s.publicIP},
		bindIP:       bindIP,
		publicIP:     s.publicIP,
		portMin:      s.cfg.PortMin,
		portMax:      s.cfg.PortMax,
		allowPrivate: s.cfg.AllowPrivate,
		quota:        s.cfg.MaxAllocationsPerUser,
		bandwidth:    max(s.cfg.BandwidthPerAllocation, 0),
		stats:        &s.stats,
		ports:        map[int]int{},
		users:        map[string]int{},
	}
	if !bindIP.IsUnspecified() && bindIP != s.publicIP {
		r.ownIPs = append(r.ownIPs, bindIP)
	}
	for i := range listeners {
		listeners[i].RelayAddressGenerator = r
		listeners[i].PermissionHandler = r.permit
	}
	srv, err := pionturn.NewServer(pionturn.ServerConfig{
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn: s.udp, RelayAddressGenerator: r, PermissionHandler: r.permit,
		}},
		ListenerConfigs: listeners,
		LoggerFactory:   pionLogs{s.log},
		Realm:           s.cfg.Realm,
		AuthHandler:     s.authenticate,
		QuotaHandler:    r.quotaOK,
		EventHandler: pionturn.EventHandler{
			OnAuth: func(src, _ net.Addr, _, username, _, method string, ok bool) {
				if !ok {
					s.stats.refusedAuth.Add(1)
					s.log.Debug("turn credentials refused", "client", src.String(), "username", username, "method", method)
				}
			},
			OnAllocationCreated: func(src, _ net.Addr, proto, user, _ string, relay net.Addr, _ int) {
				s.log.Debug("turn allocation", "user", user, "client", src.String(), "transport", proto, "relay", relay.String())
			},
			OnAllocationDeleted: func(src, _ net.Addr, _, user, _ string) {
				s.log.Debug("turn allocation ended", "user", user, "client", src.String())
			},
		},
	})
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	s.pion, s.relays = srv, r
	return nil
}

// authenticate is the AuthHandler: it accepts well-formed unexpired REST
// API usernames and returns their key; pion then checks the request's
// message integrity with it, which fails unless the client knew the
// password, i.e. the HMAC of exactly this username. The user ID it returns,
// which the quota counts, is the JID.
func (s *Server) authenticate(ra *pionturn.RequestAttributes) (string, []byte, bool) {
	jid, password, err := s.signer.Verify(ra.Username, time.Now())
	if err != nil {
		if errors.Is(err, ErrExpired) {
			s.stats.refusedExpired.Add(1)
		} else {
			s.stats.refusedMalformed.Add(1)
		}
		s.log.Debug("turn username refused", "client", ra.SrcAddr.String(), "username", ra.Username, "err", err)
		return "", nil, false
	}
	return jid, pionturn.GenerateAuthKey(ra.Username, ra.Realm, password), true
}

// Close stops the server: it closes the listeners, the client connections
// and every allocation, and waits (boundedly) until they are gone.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.pion
	s.mu.Unlock()
	if srv == nil {
		s.closeListeners()
		return nil
	}
	// TCP clients first: pion does not close the connections it accepted,
	// and each one's read loop deletes its allocation when it ends.
	s.conns.closeAll()
	err := srv.Close()
	deadline := time.Now().Add(drainTimeout)
	for (s.stats.active.Load() > 0 || s.conns.len() > 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("turn: close: %w", err)
	}
	return nil
}

// closeListeners closes what Start opened before pion took it over.
func (s *Server) closeListeners() {
	for _, c := range []interface{ Close() error }{s.udp, s.tcp, s.tls} {
		if c != nil {
			c.Close()
		}
	}
}

// Addr is the UDP and TCP listen address, with the real port, once started.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp == nil {
		return ""
	}
	return s.udp.LocalAddr().String()
}

// TLSAddr is the TLS listen address, once started with TLS.
func (s *Server) TLSAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tls == nil {
		return ""
	}
	return s.tls.Addr().String()
}

// PublicIP is the address in relay candidates, once started.
func (s *Server) PublicIP() netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicIP
}

// Signer is the server's credential signer.
func (s *Server) Signer() Signer { return s.signer }

// Credentials mints credentials for jid valid from now; see Signer.
func (s *Server) Credentials(jid string, now time.Time) (username, password string, expires time.Time) {
	return s.signer.Credentials(jid, now)
}

// URLs are the server's ICE URLs with host (a name its TLS certificate
// covers, or an IP address; the public IP if empty), once started.
func (s *Server) URLs(host string) []string {
	if host == "" {
		host = s.PublicIP().String()
	}
	return URLs(host, port(s.Addr()), port(s.TLSAddr()))
}

// port is the port of the address a, 0 if none.
func port(a string) int {
	_, p, err := net.SplitHostPort(a)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		ActiveAllocations:  c.active.Load(),
		TotalAllocations:   c.total.Load(),
		BytesToPeers:       c.bytesToPeers.Load(),
		BytesFromPeers:     c.bytesFromPeers.Load(),
		DroppedPeer:        c.droppedPeer.Load(),
		DroppedBandwidth:   c.droppedBandwidth.Load(),
		RefusedMalformed:   c.refusedMalformed.Load(),
		RefusedExpired:     c.refusedExpired.Load(),
		RefusedCredentials: c.refusedAuth.Load(),
		RefusedQuota:       c.refusedQuota.Load(),
		RefusedPeer:        c.refusedPeer.Load(),
		RefusedTCPRelay:    c.refusedTCPRelay.Load(),
	}
}
