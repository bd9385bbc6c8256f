package turn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// TestMain fails the package if goroutines outlive the tests: servers,
// clients and relays must all be gone after Close.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			fmt.Fprintf(os.Stderr, "goroutines leaked: %d before, %d after\n%s\n", before, n, buf[:runtime.Stack(buf, true)])
			code = 1
		}
	}
	os.Exit(code)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer starts a server on loopback ports the system picks.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.BandwidthPerAllocation == 0 {
		cfg.BandwidthPerAllocation = -1
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// client is a pion TURN client with (at most) one allocation.
type client struct {
	c     *pionturn.Client
	conn  net.PacketConn
	relay net.PacketConn
}

// transports are the ways a client reaches the server.
const (
	overUDP = "udp"
	overTCP = "tcp"
	overTLS = "tls"
)

// dial connects a pion client to s over transport with these credentials.
func dial(t testing.TB, s *Server, transport, user, pass string) *client {
	t.Helper()
	var conn net.PacketConn
	switch transport {
	case overUDP:
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = pc
	case overTCP:
		c, err := net.Dial("tcp4", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	case overTLS:
		c, err := tls.Dial("tcp4", s.TLSAddr(), &tls.Config{ServerName: "turn.test", RootCAs: testCertPool})
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	default:
		t.Fatalf("transport %q", transport)
	}
	addr := s.Addr()
	if transport == overTLS {
		addr = s.TLSAddr()
	}
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr,
		TURNServerAddr: addr,
		Username:       user,
		Password:       pass,
		Realm:          DefaultRealm,
		Conn:           conn,
		LoggerFactory:  silentPion{},
	})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	cl := &client{c: c, conn: conn}
	t.Cleanup(cl.close)
	return cl
}

// dialAs dials with credentials the server mints for jid.
func dialAs(t testing.TB, s *Server, transport, jid string) *client {
	user, pass, _ := s.Credentials(jid, time.Now())
	return dial(t, s, transport, user, pass)
}

// allocate makes the client's allocation.
func (c *client) allocate() (net.PacketConn, error) {
	relay, err := c.c.Allocate()
	if err == nil {
		c.relay = relay
	}
	return relay, err
}

func (c *client) mustAllocate(t testing.TB) net.PacketConn {
	t.Helper()
	relay, err := c.allocate()
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	return relay
}

// close releases the allocation (a Refresh with lifetime 0), then the
// client and its socket.
func (c *client) close() {
	if c.relay != nil {
		c.relay.Close()
		c.relay = nil
	}
	c.c.Close()
	c.conn.Close()
}

// waitFor polls cond for up to 10s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readOne reads one packet from pc, failing after 5s.
func readOne(t testing.TB, pc net.PacketConn) ([]byte, net.Addr) {
	t.Helper()
	buf := make([]byte, 2048)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return buf[:n], from
}

// isCode reports whether err is a TURN error response with this code.
func isCode(err error, code int) bool {
	return err != nil && strings.Contains(err.Error(), fmt.Sprintf("%d", code))
}

// silentPion discards the pion client's logs.
type silentPion struct{}

func (silentPion) NewLogger(string) logging.LeveledLogger {
	return pionLogger{quietLogger()}
}

// testCert is a self-signed certificate for turn.test, and testCertPool
// trusts it.
var testCert, testCertPool = func() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "turn.test"},
		DNSNames:     []string{"turn.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}()
