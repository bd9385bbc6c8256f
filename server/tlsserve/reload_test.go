package tlsserve

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPair makes a self-signed certificate for 127.0.0.1 named cn and
// returns it and its key, PEM-encoded.
func testPair(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// stamp counts file writes, so that every write has a later modification
// time than the one before whatever the file system's clock resolution.
type stamp struct{ n int }

func (s *stamp) write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s.n++
	at := time.Date(2030, 1, 1, 0, 0, s.n, 0, time.UTC)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// servedCN does a real TLS handshake with a server using getCert and returns
// the common name of the certificate it presented.
func servedCN(t *testing.T, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: getCert})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.(*tls.Conn).Handshake()
		c.Close()
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	conn.Close()
	<-done
	return cn
}

func TestFilePairReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	var st stamp
	write := func(cn string) (certPEM, keyPEM []byte) {
		certPEM, keyPEM = testPair(t, cn)
		st.write(t, certFile, certPEM)
		st.write(t, keyFile, keyPEM)
		return
	}
	write("first")
	logs := &syncBuffer{}
	p, err := NewFilePair(certFile, keyFile, 0, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if cn := servedCN(t, p.GetCertificate); cn != "first" {
		t.Fatalf("served %q, want first", cn)
	}

	// A renewal is served at the next handshake.
	write("second")
	if cn := servedCN(t, p.GetCertificate); cn != "second" {
		t.Fatalf("after the files changed, served %q, want second", cn)
	}
	if !strings.Contains(logs.String(), "reloaded certificate") {
		t.Errorf("no reload logged:\n%s", logs)
	}

	// Half a renewal (a new certificate, the old key) keeps the old pair and
	// says so; the key arriving completes it.
	thirdCert, thirdKey := testPair(t, "third")
	st.write(t, certFile, thirdCert)
	if cn := servedCN(t, p.GetCertificate); cn != "second" {
		t.Fatalf("with a mismatched pair on disk, served %q, want second (kept)", cn)
	}
	if !strings.Contains(logs.String(), "do not load; keeping the certificate in use") {
		t.Errorf("the failed reload is not logged:\n%s", logs)
	}
	st.write(t, keyFile, thirdKey)
	if cn := servedCN(t, p.GetCertificate); cn != "third" {
		t.Fatalf("after the key arrived, served %q, want third", cn)
	}

	// Garbage and a missing file keep the pair too.
	st.write(t, certFile, []byte("not a certificate"))
	if cn := servedCN(t, p.GetCertificate); cn != "third" {
		t.Fatalf("with garbage on disk, served %q, want third (kept)", cn)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if cn := servedCN(t, p.GetCertificate); cn != "third" {
		t.Fatalf("with the key gone, served %q, want third (kept)", cn)
	}
}

// TestFilePairInterval: the files are looked at no more than once per
// interval (the clock is the test's).
func TestFilePairInterval(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	var st stamp
	c, k := testPair(t, "old")
	st.write(t, certFile, c)
	st.write(t, keyFile, k)
	p, err := NewFilePair(certFile, keyFile, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p.now = func() time.Time { return now }
	p.checked = now
	c, k = testPair(t, "new")
	st.write(t, certFile, c)
	st.write(t, keyFile, k)
	if cn := p.Certificate().Leaf.Subject.CommonName; cn != "old" {
		t.Fatalf("within the interval: %q, want old", cn)
	}
	now = now.Add(time.Minute)
	if cn := p.Certificate().Leaf.Subject.CommonName; cn != "new" {
		t.Fatalf("after the interval: %q, want new", cn)
	}
}

func TestNewFilePairErrors(t *testing.T) {
	dir := t.TempDir()
	c, _ := testPair(t, "a")
	_, k := testPair(t, "b")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := NewFilePair(certFile, keyFile, 0, nil); err == nil || !strings.Contains(err.Error(), "cert.pem") {
		t.Errorf("missing files: err = %v, want one naming cert.pem", err)
	}
	os.WriteFile(certFile, c, 0o600)
	os.WriteFile(keyFile, k, 0o600)
	if _, err := NewFilePair(certFile, keyFile, 0, nil); err == nil || !strings.Contains(err.Error(), "load") {
		t.Errorf("mismatched pair: err = %v", err)
	}
}
