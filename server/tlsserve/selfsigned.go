package tlsserve

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Lifetimes and thresholds of the self-signed mode.
const (
	// CALifetime is how long the private CA is valid.
	CALifetime = 10 * 365 * 24 * time.Hour
	// ServerLifetime is how long a server certificate is valid: 397 days,
	// the most browsers accept for a server certificate.
	ServerLifetime = 397 * 24 * time.Hour
	// RenewBefore is how long before it expires a server certificate is
	// issued again.
	RenewBefore = 30 * 24 * time.Hour
	// DefaultRecheckInterval is how often, at most, a running server looks
	// whether its certificate still covers the machine's addresses.
	DefaultRecheckInterval = time.Minute
)

// File names under the self-signed directory.
const (
	CACertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	serverCertFile = "server.crt"
	serverKeyFile  = "server.key"
)

// SelfSigned is a private certificate authority kept in a directory, and the
// server certificate it issues for this machine: for a LAN without a domain
// name. The CA is made once (ECDSA P-256, valid for ten years) and reused by
// every restart, so a device that trusts it keeps trusting the server. The
// server certificate names every address of the machine, localhost, the host
// name (and name.local) and any extra names; it is issued again when it
// nears its end or when the machine's addresses or names change, which a
// running server notices at most once per DefaultRecheckInterval.
type SelfSigned struct {
	dir      string
	extra    []string
	logger   *slog.Logger
	machine  machine
	interval time.Duration

	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
	caHash [sha256.Size]byte

	mu      sync.Mutex
	cert    *tls.Certificate
	checked time.Time
}

// machine is what SelfSigned asks of the machine; tests replace it.
type machine struct {
	now      func() time.Time
	addrs    func() ([]net.Addr, error)
	hostname func() (string, error)
}

// realMachine is the machine the server runs on.
func realMachine() machine {
	return machine{now: time.Now, addrs: net.InterfaceAddrs, hostname: os.Hostname}
}

// NewSelfSigned loads the CA from dir or makes it (dir is created with mode
// 0700, keys are written 0600), then loads the server certificate or issues
// one. extraNames are DNS names or IP addresses to add to the certificate.
func NewSelfSigned(dir string, extraNames []string, logger *slog.Logger) (*SelfSigned, error) {
	return newSelfSigned(dir, extraNames, logger, realMachine())
}

func newSelfSigned(dir string, extraNames []string, logger *slog.Logger, m machine) (*SelfSigned, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &SelfSigned{dir: dir, extra: extraNames, logger: logger, machine: m, interval: DefaultRecheckInterval}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls: self-signed directory: %w", err)
	}
	if err := s.loadOrMakeCA(); err != nil {
		return nil, err
	}
	names, ips, err := s.wanted()
	if err != nil {
		return nil, err
	}
	cert, reason := s.loadServer(names, ips)
	if cert == nil {
		if cert, err = s.issue(names, ips); err != nil {
			return nil, err
		}
		logger.Info("tls: issued a server certificate from the private CA", "reason", reason,
			"names", strings.Join(names, ","), "ips", joinIPs(ips), "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	s.cert, s.checked = cert, m.now()
	return s, nil
}

// CAFile is the path of the CA certificate (PEM).
func (s *SelfSigned) CAFile() string { return filepath.Join(s.dir, CACertFile) }

// CAPEM is the CA certificate, PEM-encoded.
func (s *SelfSigned) CAPEM() []byte { return slices.Clone(s.caPEM) }

// CAFingerprint is the SHA-256 of the CA certificate's DER, as colon-separated
// upper-case hex, the way browsers and operating systems show it.
func (s *SelfSigned) CAFingerprint() string {
	parts := make([]string, len(s.caHash))
	for i, b := range s.caHash {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// Certificate returns the server certificate (with the CA after it), issuing
// a new one first when the one in use nears its end or no longer covers the
// machine's addresses and names.
func (s *SelfSigned) Certificate() *tls.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.machine.now()
	if s.interval > 0 && now.Sub(s.checked) < s.interval {
		return s.cert
	}
	s.checked = now
	names, ips, err := s.wanted()
	if err != nil {
		s.logger.Error("tls: cannot list the machine's addresses; keeping the certificate", "err", err)
		return s.cert
	}
	reason := s.stale(s.cert.Leaf, names, ips)
	if reason == "" {
		return s.cert
	}
	cert, err := s.issue(names, ips)
	if err != nil {
		s.logger.Error("tls: cannot issue a new server certificate; keeping the one in use", "reason", reason, "err", err)
		return s.cert
	}
	s.logger.Info("tls: issued a server certificate from the private CA", "reason", reason,
		"names", strings.Join(names, ","), "ips", joinIPs(ips), "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	s.cert = cert
	return cert
}

// GetCertificate is a tls.Config.GetCertificate hook serving Certificate.
func (s *SelfSigned) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.Certificate(), nil
}

// loadOrMakeCA loads ca.crt and ca.key, or makes both when neither exists.
// One without the other, or a pair that does not parse or match, is an
// error: making a new CA silently would break every device that trusts the
// old one.
func (s *SelfSigned) loadOrMakeCA() error {
	certPath, keyPath := filepath.Join(s.dir, CACertFile), filepath.Join(s.dir, caKeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	switch {
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
		return s.makeCA(certPath, keyPath)
	case cerr != nil:
		return fmt.Errorf("tls: private CA: %w", cerr)
	case kerr != nil:
		return fmt.Errorf("tls: private CA: %w", kerr)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("tls: private CA in %s: %w", s.dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !pair.Leaf.IsCA {
		return fmt.Errorf("tls: private CA in %s: not an ECDSA CA certificate", s.dir)
	}
	s.setCA(pair.Leaf, key)
	return nil
}

func (s *SelfSigned) makeCA(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls: private CA key: %w", err)
	}
	host, err := s.machine.hostname()
	if err != nil || host == "" {
		host = "unknown host"
	}
	now := s.machine.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Parley private CA (" + host + ")", Organization: []string{"Parley"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tls: private CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("tls: private CA certificate: %w", err)
	}
	// The key first: a certificate without its key is an error at the next
	// start, a key without its certificate too, but never a silent new CA.
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	if err := writeFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	s.setCA(cert, key)
	s.logger.Info("tls: made a private CA", "file", certPath, "sha256", s.CAFingerprint())
	return nil
}

func (s *SelfSigned) setCA(cert *x509.Certificate, key *ecdsa.PrivateKey) {
	s.ca, s.caKey = cert, key
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	s.caHash = sha256.Sum256(cert.Raw)
}

// wanted lists the DNS names and IP addresses the server certificate must
// hold, sorted: localhost, the host name and name.local, the extra names,
// loopback and every address of every interface but link-local ones.
func (s *SelfSigned) wanted() (names []string, ips []net.IP, err error) {
	addrs, err := s.machine.addrs()
	if err != nil {
		return nil, nil, fmt.Errorf("tls: interface addresses: %w", err)
	}
	nameSet := map[string]bool{"localhost": true}
	ipSet := map[string]net.IP{}
	addIP := func(ip net.IP) {
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		ipSet[ip.String()] = ip
	}
	addIP(net.IPv4(127, 0, 0, 1))
	addIP(net.IPv6loopback)
	for _, a := range addrs {
		var ip net.IP
		switch a := a.(type) {
		case *net.IPNet:
			ip = a.IP
		case *net.IPAddr:
			ip = a.IP
		}
		if ip == nil || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
			continue
		}
		addIP(ip)
	}
	if host, err := s.machine.hostname(); err == nil {
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		if validDNSName(host) {
			nameSet[host] = true
			if !strings.Contains(host, ".") {
				nameSet[host+".local"] = true // mDNS, how LAN devices often reach a machine
			}
		}
	}
	for _, n := range s.extra {
		if ip := net.ParseIP(n); ip != nil {
			addIP(ip)
			continue
		}
		nameSet[strings.ToLower(strings.TrimSuffix(n, "."))] = true
	}
	for n := range nameSet {
		names = append(names, n)
	}
	slices.Sort(names)
	keys := make([]string, 0, len(ipSet))
	for k := range ipSet {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ips = append(ips, ipSet[k])
	}
	return names, ips, nil
}

// validDNSName reports whether n can be a DNS name in a certificate.
func validDNSName(n string) bool {
	if n == "" || len(n) > 253 {
		return false
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// loadServer loads server.crt and server.key; it returns nil and why when
// they are missing, broken, not from this CA, near their end, or for other
// names or addresses.
func (s *SelfSigned) loadServer(names []string, ips []net.IP) (*tls.Certificate, string) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(s.dir, serverCertFile), filepath.Join(s.dir, serverKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "none yet"
	}
	if err != nil {
		return nil, err.Error()
	}
	if err := pair.Leaf.CheckSignatureFrom(s.ca); err != nil {
		return nil, "not issued by this CA"
	}
	if reason := s.stale(pair.Leaf, names, ips); reason != "" {
		return nil, reason
	}
	if len(pair.Certificate) == 1 {
		pair.Certificate = append(pair.Certificate, s.ca.Raw)
	}
	return &pair, ""
}

// stale says why leaf must be issued again, or "".
func (s *SelfSigned) stale(leaf *x509.Certificate, names []string, ips []net.IP) string {
	if left := leaf.NotAfter.Sub(s.machine.now()); left < RenewBefore {
		return fmt.Sprintf("expires in %v", left.Round(time.Hour))
	}
	have := slices.Clone(leaf.DNSNames)
	slices.Sort(have)
	if !slices.Equal(have, names) {
		return "names changed"
	}
	if joinIPs(sortedIPs(leaf.IPAddresses)) != joinIPs(ips) {
		return "addresses changed"
	}
	return ""
}

// issue makes a server certificate from the CA and stores it.
func (s *SelfSigned) issue(names []string, ips []net.IP) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tls: server key: %w", err)
	}
	cn := "localhost"
	if host, err := s.machine.hostname(); err == nil && validDNSName(strings.ToLower(host)) {
		cn = strings.ToLower(host)
	}
	notBefore := s.machine.now().Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Parley"}},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(ServerLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, &key.PublicKey, s.caKey)
	if err != nil {
		return nil, fmt.Errorf("tls: server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tls: server certificate: %w", err)
	}
	if err := writeKey(filepath.Join(s.dir, serverKeyFile), key); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(s.dir, serverCertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, s.ca.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tls: encode %s: %w", path, err)
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFileAtomic writes data to a temporary file beside path with mode perm
// and renames it over path, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("tls: write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tls: write %s: %w", path, err)
	}
	return nil
}

func sortedIPs(ips []net.IP) []net.IP {
	out := slices.Clone(ips)
	slices.SortFunc(out, func(a, b net.IP) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func joinIPs(ips []net.IP) string {
	var b bytes.Buffer
	for i, ip := range ips {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ip.String())
	}
	return b.String()
}
