package turn

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"
)

// TestRelayBetweenClients: two clients of one server on loopback allocate
// and exchange data through their relays, over each transport; this is
// the case of two browsers on one machine with iceTransportPolicy "relay".
func TestRelayBetweenClients(t *testing.T) {
	for _, tr := range [][2]string{{overUDP, overUDP}, {overTCP, overTCP}, {overUDP, overTCP}, {overTLS, overUDP}} {
		t.Run(tr[0]+"-"+tr[1], func(t *testing.T) {
			s := startServer(t, Config{
				TLSAddr:        "127.0.0.1:0",
				GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &testCert, nil },
			})
			a := dialAs(t, s, tr[0], "alice@localhost")
			b := dialAs(t, s, tr[1], "bob@localhost")
			ra, rb := a.mustAllocate(t), b.mustAllocate(t)
			for _, r := range []net.PacketConn{ra, rb} {
				if ip := r.LocalAddr().(*net.UDPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
					t.Fatalf("relay address %v, want the public IP 127.0.0.1", r.LocalAddr())
				}
			}
			if err := a.c.CreatePermission(rb.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if err := b.c.CreatePermission(ra.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			msg := []byte("hello through the relay")
			if _, err := ra.WriteTo(msg, rb.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			got, from := readOne(t, rb)
			if !bytes.Equal(got, msg) || from.String() != ra.LocalAddr().String() {
				t.Fatalf("b got %q from %v, want %q from %v", got, from, msg, ra.LocalAddr())
			}
			if _, err := rb.WriteTo([]byte("and back"), ra.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if got, _ := readOne(t, ra); string(got) != "and back" {
				t.Fatalf("a got %q", got)
			}

			st := s.Stats()
			if st.ActiveAllocations != 2 || st.TotalAllocations != 2 {
				t.Errorf("allocations active %d total %d, want 2 and 2", st.ActiveAllocations, st.TotalAllocations)
			}
			// A relay socket counts a packet after writing it, which may be
			// after the other side has already read it: wait for the count.
			want := uint64(len(msg) + len("and back"))
			waitFor(t, fmt.Sprintf("%d bytes counted each way", want), func() bool {
				st := s.Stats()
				return st.BytesToPeers == want && st.BytesFromPeers == want && st.BytesRelayed() == 2*want
			})
			a.close()
			b.close()
			waitFor(t, "allocations released", func() bool { return s.Stats().ActiveAllocations == 0 })
			if st := s.Stats(); st.TotalAllocations != 2 {
				t.Errorf("total allocations %d after release, want 2", st.TotalAllocations)
			}
		})
	}
}

// TestCredentialsRefused: forged, expired, malformed and borrowed
// credentials get no allocation, and Stats says why.
func TestCredentialsRefused(t *testing.T) {
	s := startServer(t, Config{})
	now := time.Now()
	aliceUser, alicePass, _ := s.Credentials("alice@localhost", now)
	bobUser, _, _ := s.Credentials("bob@localhost", now)
	otherUser, otherPass, _ := Signer{Secret: []byte("another secret, another server!")}.Credentials("alice@localhost", now)
	expiredUser, expiredPass, _ := s.Signer().Credentials("alice@localhost", now.Add(-DefaultCredentialTTL-time.Minute))
	plain := "alice@localhost"
	cases := []struct {
		name, user, pass string
		count            func(Stats) uint64
	}{
		{"forged password", aliceUser, "bm90IHRoZSBITUFDIG9mIHRoaXMgdXNlcg==", func(s Stats) uint64 { return s.RefusedCredentials }},
		{"other secret", otherUser, otherPass, func(s Stats) uint64 { return s.RefusedCredentials }},
		{"other user's password", bobUser, alicePass, func(s Stats) uint64 { return s.RefusedCredentials }},
		{"longer expiry, same password", strconv.FormatInt(now.Add(48*time.Hour).Unix(), 10) + ":alice@localhost", alicePass, func(s Stats) uint64 { return s.RefusedCredentials }},
		{"expired", expiredUser, expiredPass, func(s Stats) uint64 { return s.RefusedExpired }},
		{"malformed: no expiry", plain, Signer{Secret: testSecret}.password(plain), func(s Stats) uint64 { return s.RefusedMalformed }},
		{"malformed: no jid", "99999999999:", Signer{Secret: testSecret}.password("99999999999:"), func(s Stats) uint64 { return s.RefusedMalformed }},
		{"malformed: not a number", "soon:alice@localhost", Signer{Secret: testSecret}.password("soon:alice@localhost"), func(s Stats) uint64 { return s.RefusedMalformed }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.count(s.Stats())
			c := dial(t, s, overUDP, tc.user, tc.pass)
			if _, err := c.allocate(); !isCode(err, 401) {
				t.Fatalf("allocate with %s: %v, want 401 Unauthorized", tc.name, err)
			}
			if got := tc.count(s.Stats()); got <= before {
				t.Errorf("refusal not counted: %d before, %d after", before, got)
			}
		})
	}
	if st := s.Stats(); st.TotalAllocations != 0 {
		t.Errorf("%d allocations made with bad credentials", st.TotalAllocations)
	}
	// The genuine credentials work on the same server.
	dial(t, s, overUDP, aliceUser, alicePass).mustAllocate(t)
}

// TestQuota: a user gets MaxAllocationsPerUser live allocations, over any
// transport; the next is refused with 486, other users are unaffected, and
// releasing one makes room again.
func TestQuota(t *testing.T) {
	const quota = 3
	s := startServer(t, Config{MaxAllocationsPerUser: quota})
	var held []*client
	for i := range quota {
		c := dialAs(t, s, []string{overUDP, overTCP}[i%2], "alice@localhost")
		c.mustAllocate(t)
		held = append(held, c)
	}
	extra := dialAs(t, s, overTCP, "alice@localhost")
	if _, err := extra.allocate(); !isCode(err, 486) {
		t.Fatalf("allocation %d: %v, want 486 Allocation Quota Reached", quota+1, err)
	}
	if st := s.Stats(); st.RefusedQuota == 0 || st.ActiveAllocations != quota {
		t.Errorf("stats %+v: want a quota refusal and %d active", st, quota)
	}
	dialAs(t, s, overUDP, "bob@localhost").mustAllocate(t)

	held[0].close()
	waitFor(t, "the released allocation", func() bool { return s.Stats().ActiveAllocations == quota })
	dialAs(t, s, overUDP, "alice@localhost").mustAllocate(t)
}

// TestPeerRules: a client may relay to another client's relay address on
// loopback, but neither to another loopback port of the server's IP nor to
// other internal addresses, unless AllowPrivate.
func TestPeerRules(t *testing.T) {
	target, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()

	t.Run("refused", func(t *testing.T) {
		s := startServer(t, Config{})
		a := dialAs(t, s, overUDP, "alice@localhost")
		b := dialAs(t, s, overUDP, "bob@localhost")
		ra, rb := a.mustAllocate(t), b.mustAllocate(t)

		// Internal addresses that are not this server's: no permission.
		for _, peer := range []string{"127.0.0.2:9", "10.1.2.3:9", "192.168.1.1:9", "169.254.169.254:80", "224.0.0.1:9", "100.64.0.1:9"} {
			addr, _ := net.ResolveUDPAddr("udp4", peer)
			if err := a.c.CreatePermission(addr); !isCode(err, 403) {
				t.Errorf("permission for %s: %v, want 403 Forbidden", peer, err)
			}
		}
		if s.Stats().RefusedPeer < 6 {
			t.Errorf("refused permissions counted %d, want 6", s.Stats().RefusedPeer)
		}

		// The server's own IP: permitted, but only its relay ports get data.
		if err := a.c.CreatePermission(target.LocalAddr(), rb.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if err := b.c.CreatePermission(ra.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if _, err := ra.WriteTo([]byte("to a local service"), target.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the packet to be dropped", func() bool { return s.Stats().DroppedPeer >= 1 })
		if _, err := ra.WriteTo([]byte("to bob"), rb.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if got, _ := readOne(t, rb); string(got) != "to bob" {
			t.Fatalf("bob got %q", got)
		}
		target.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, from, err := target.ReadFrom(make([]byte, 64)); err == nil {
			t.Fatalf("the local service got %d bytes from %v", n, from)
		}
		// Nor does the server's TURN port count as a relay address.
		turnAddr, _ := net.ResolveUDPAddr("udp4", s.Addr())
		before := s.Stats().DroppedPeer
		if _, err := ra.WriteTo([]byte("loop"), turnAddr); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the packet to the TURN port to be dropped", func() bool { return s.Stats().DroppedPeer > before })
	})

	t.Run("AllowPrivate", func(t *testing.T) {
		s := startServer(t, Config{AllowPrivate: true})
		a := dialAs(t, s, overUDP, "alice@localhost")
		ra := a.mustAllocate(t)
		peer2, _ := net.ResolveUDPAddr("udp4", "127.0.0.2:9")
		if err := a.c.CreatePermission(target.LocalAddr(), peer2); err != nil {
			t.Fatal(err)
		}
		if _, err := ra.WriteTo([]byte("to a local service"), target.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if got, from := readOne(t, target); string(got) != "to a local service" || from.String() != ra.LocalAddr().String() {
			t.Fatalf("the local service got %q from %v", got, from)
		}
	})
}

// TestBandwidthCap: an allocation sending far above its cap delivers at
// most about the cap (plus the burst); the excess is dropped and counted.
func TestBandwidthCap(t *testing.T) {
	const capBps = 200_000
	s := startServer(t, Config{BandwidthPerAllocation: capBps})
	a := dialAs(t, s, overUDP, "alice@localhost")
	b := dialAs(t, s, overUDP, "bob@localhost")
	ra, rb := a.mustAllocate(t), b.mustAllocate(t)
	if err := a.c.CreatePermission(rb.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if err := b.c.CreatePermission(ra.LocalAddr()); err != nil {
		t.Fatal(err)
	}

	received := make(chan int)
	go func() {
		total := 0
		buf := make([]byte, 2048)
		for {
			rb.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			n, _, err := rb.ReadFrom(buf)
			if err != nil {
				received <- total
				return
			}
			total += n
		}
	}()
	start := time.Now()
	pkt := make([]byte, 1000)
	sent := 0
	for time.Since(start) < 500*time.Millisecond {
		if _, err := ra.WriteTo(pkt, rb.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		sent += len(pkt)
		if sent%(50*len(pkt)) == 0 {
			time.Sleep(time.Millisecond) // let loopback buffers drain
		}
	}
	got := <-received
	elapsed := time.Since(start)
	// Each direction of each allocation has a bucket of max(cap/4, 16 KiB).
	limit := int(float64(capBps)*elapsed.Seconds()) + 2*max(capBps/4, 16<<10)
	t.Logf("sent %d bytes, received %d in %v (cap %d B/s, bound %d)", sent, got, elapsed, capBps, limit)
	if sent < 4*limit {
		t.Skipf("could only send %d bytes, not enough above the bound %d to test", sent, limit)
	}
	if got > limit*3/2 {
		t.Errorf("received %d bytes in %v, more than the cap allows (%d)", got, elapsed, limit)
	}
	if got == 0 {
		t.Error("nothing got through")
	}
	if s.Stats().DroppedBandwidth == 0 {
		t.Error("no packet counted as dropped for bandwidth")
	}
}

// TestTCPAllocationRefused: RFC 6062 TCP relaying is off.
func TestTCPAllocationRefused(t *testing.T) {
	s := startServer(t, Config{})
	c := dialAs(t, s, overTCP, "alice@localhost")
	if _, err := c.c.AllocateTCP(); err == nil {
		t.Fatal("TCP allocation accepted")
	}
	if s.Stats().RefusedTCPRelay == 0 {
		t.Error("TCP allocation refusal not counted")
	}
}

// TestEphemeralSharedPort: with port 0, UDP and TCP share the port picked,
// and Close releases it while clients are still connected.
func TestEphemeralSharedPort(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Secret: testSecret, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if port(addr) == 0 {
		t.Fatalf("Addr() = %q, want a real port", addr)
	}
	if got := s.URLs(""); len(got) != 2 || got[0] != "turn:"+addr+"?transport=udp" || got[1] != "turn:"+addr+"?transport=tcp" {
		t.Errorf("URLs = %q", got)
	}
	tcpClient := dialAs(t, s, overTCP, "alice@localhost")
	tcpClient.mustAllocate(t)
	dialAs(t, s, overUDP, "bob@localhost").mustAllocate(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.ActiveAllocations != 0 {
		t.Errorf("%d allocations live after Close", st.ActiveAllocations)
	}
	if n := s.conns.len(); n != 0 {
		t.Errorf("%d TCP connections open after Close", n)
	}
	// Both ports are free again.
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatalf("UDP port still taken: %v", err)
	}
	pc.Close()
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatalf("TCP port still taken: %v", err)
	}
	ln.Close()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Start(t.Context()); err == nil {
		t.Error("Start after Close succeeded")
	}
}

// TestSharedPortTaken: a fixed port whose TCP side is taken fails clearly.
func TestSharedPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(Config{Addr: ln.Addr().String(), Secret: testSecret, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil {
		s.Close()
		t.Fatal("Start succeeded on a taken TCP port")
	}
	// And the UDP port it opened first is released.
	pc, err := net.ListenPacket("udp4", ln.Addr().String())
	if err != nil {
		t.Fatalf("UDP port left open: %v", err)
	}
	pc.Close()
}

// TestRelayPortRange: relay ports come from the range.
func TestRelayPortRange(t *testing.T) {
	// Find a few free consecutive-ish ports: take them and release them.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	lo, hi := base, min(base+20, 65535)
	s := startServer(t, Config{PortMin: lo, PortMax: hi})
	for _, who := range []string{"alice@localhost", "bob@localhost"} {
		r := dialAs(t, s, overUDP, who).mustAllocate(t)
		if p := r.LocalAddr().(*net.UDPAddr).Port; p < lo || p > hi {
			t.Errorf("relay port %d outside %d-%d", p, lo, hi)
		}
	}
}

func TestNewValidates(t *testing.T) {
	cases := map[string]Config{
		"no address":      {Secret: testSecret},
		"no secret":       {Addr: ":0"},
		"bad range":       {Addr: ":0", Secret: testSecret, PortMin: 5000, PortMax: 4000},
		"half range":      {Addr: ":0", Secret: testSecret, PortMin: 5000},
		"TLS, no cert":    {Addr: ":0", Secret: testSecret, TLSAddr: ":0"},
		"bad address":     {Addr: "nohostport", Secret: testSecret},
		"bad TLS address": {Addr: ":0", Secret: testSecret, TLSAddr: "x", TLSConfig: &tls.Config{}},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	s, err := New(Config{Addr: "localhost:0", Secret: testSecret, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil || errors.Is(err, net.ErrClosed) {
		s.Close()
		t.Errorf("Start with a host name: %v, want an error asking for an IP", err)
	}
}
