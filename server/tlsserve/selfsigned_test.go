package tlsserve

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeMachine is a machine with the given addresses, host name and clock.
func fakeMachine(now *time.Time, addrs *[]net.Addr, host string) machine {
	return machine{
		now:      func() time.Time { return *now },
		addrs:    func() ([]net.Addr, error) { return *addrs, nil },
		hostname: func() (string, error) { return host, nil },
	}
}

func ipNet(s string) net.Addr { return &net.IPNet{IP: net.ParseIP(s), Mask: net.CIDRMask(24, 32)} }

// verifyFor checks that cert chains to the CA in caPEM for the name, over a
// real TLS handshake (the client verifies as a browser would).
func verifyFor(t *testing.T, s *SelfSigned, caPEM []byte, name string) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM does not parse")
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: s.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if c, err := ln.Accept(); err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: name})
	if err != nil {
		<-done
		t.Fatalf("handshake for %q verifying with the CA: %v", name, err)
	}
	conn.Close()
	<-done
}

func TestSelfSignedRealMachine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	s, err := NewSelfSigned(dir, []string{"parley.lan", "10.9.8.7"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf := s.Certificate().Leaf
	for _, name := range []string{"localhost", "parley.lan"} {
		if !slices.Contains(leaf.DNSNames, name) {
			t.Errorf("DNS names %v lack %s", leaf.DNSNames, name)
		}
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	for _, ip := range []string{"127.0.0.1", "::1", "10.9.8.7"} {
		if !slices.Contains(ips, ip) {
			t.Errorf("IPs %v lack %s", ips, ip)
		}
	}
	if host, err := os.Hostname(); err == nil && validDNSName(strings.ToLower(host)) && !slices.Contains(leaf.DNSNames, strings.ToLower(host)) {
		t.Errorf("DNS names %v lack the host name %s", leaf.DNSNames, host)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life > 397*24*time.Hour {
		t.Errorf("server certificate valid for %v, more than 397 days", life)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("no serverAuth usage")
	}
	caPEM, err := os.ReadFile(s.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || !strings.HasPrefix(ca.Subject.CommonName, "Parley private CA (") || ca.NotAfter.Sub(ca.NotBefore) < 9*365*24*time.Hour {
		t.Errorf("CA: IsCA %v, CN %q, valid %v", ca.IsCA, ca.Subject.CommonName, ca.NotAfter.Sub(ca.NotBefore))
	}
	if string(s.CAPEM()) != string(caPEM) {
		t.Error("CAPEM differs from ca.crt")
	}
	sum := sha256.Sum256(ca.Raw)
	if fp := s.CAFingerprint(); fp != strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum), " ", ":")) {
		t.Errorf("fingerprint %s", fp)
	}
	for _, f := range []string{caKeyFile, serverKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "parley.lan"} {
		verifyFor(t, s, caPEM, name)
	}

	// A restart reuses the CA and the server certificate.
	s2, err := NewSelfSigned(dir, []string{"parley.lan", "10.9.8.7"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.CAFingerprint() != s.CAFingerprint() {
		t.Error("restart made a new CA")
	}
	if got := s2.Certificate().Leaf.SerialNumber; got.Cmp(leaf.SerialNumber) != 0 {
		t.Error("restart issued a new server certificate though nothing changed")
	}
	verifyFor(t, s2, caPEM, "localhost")

	// Another extra name: a new server certificate from the same CA.
	s3, err := NewSelfSigned(dir, []string{"other.lan"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s3.CAFingerprint() != s.CAFingerprint() || s3.Certificate().Leaf.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Error("changed names: want the same CA and a new server certificate")
	}
	verifyFor(t, s3, caPEM, "other.lan")
}

// TestSelfSignedReissues: a running server issues a new certificate when
// the machine's addresses change and when the one in use nears its end,
// from the same CA, and keeps it otherwise.
func TestSelfSignedReissues(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	addrs := []net.Addr{ipNet("127.0.0.1"), ipNet("192.168.1.20"), ipNet("fe80::1")}
	s, err := newSelfSigned(dir, nil, nil, fakeMachine(&now, &addrs, "Box"))
	if err != nil {
		t.Fatal(err)
	}
	s.interval = time.Minute
	caPEM := s.CAPEM()
	first := s.Certificate().Leaf
	if !slices.Equal(first.DNSNames, []string{"box", "box.local", "localhost"}) {
		t.Errorf("DNS names %v", first.DNSNames)
	}
	if got := joinIPs(first.IPAddresses); got != "127.0.0.1,192.168.1.20,::1" {
		t.Errorf("IPs %s (link-local left out, loopback always in)", got)
	}

	// The address changes: noticed after the interval, not before.
	addrs = []net.Addr{ipNet("127.0.0.1"), ipNet("192.168.1.21")}
	now = now.Add(30 * time.Second)
	if s.Certificate().Leaf != first {
		t.Fatal("re-checked within the interval")
	}
	now = now.Add(time.Minute)
	second := s.Certificate().Leaf
	if second == first || !slices.ContainsFunc(second.IPAddresses, func(ip net.IP) bool { return ip.String() == "192.168.1.21" }) {
		t.Fatalf("after the address changed: IPs %v", second.IPAddresses)
	}
	if err := second.CheckSignatureFrom(s.ca); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if s.Certificate().Leaf != second {
		t.Fatal("nothing changed, yet a new certificate")
	}

	// Near its end: issued again.
	now = second.NotAfter.Add(-RenewBefore + time.Hour)
	third := s.Certificate().Leaf
	if third == second || !third.NotAfter.After(second.NotAfter) {
		t.Fatalf("near expiry: not re-issued (not after %v -> %v)", second.NotAfter, third.NotAfter)
	}
	if string(s.CAPEM()) != string(caPEM) {
		t.Fatal("the CA changed")
	}

	// The next start loads that one.
	s2, err := newSelfSigned(dir, nil, nil, fakeMachine(&now, &addrs, "Box"))
	if err != nil {
		t.Fatal(err)
	}
	if s2.Certificate().Leaf.SerialNumber.Cmp(third.SerialNumber) != 0 {
		t.Error("restart did not load the stored certificate")
	}
}

func TestSelfSignedBrokenCA(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewSelfSigned(dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, caKeyFile)); err != nil {
		t.Fatal(err)
	}
	_, err := NewSelfSigned(dir, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "private CA") {
		t.Fatalf("CA key gone: err = %v, want an error (never a silent new CA)", err)
	}
	if err := os.WriteFile(filepath.Join(dir, caKeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSelfSigned(dir, nil, nil); err == nil {
		t.Fatal("CA key junk: no error")
	}
}
