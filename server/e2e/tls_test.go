package e2e

// HTTPS and WSS end to end. The test binary makes one test CA, in memory, at
// first use; the shared Chromium starts with
// --ignore-certificate-errors-spki-list set to the SHA-256 of that CA's
// public key, so it accepts exactly the certificates whose chain holds that
// key (the server sends the CA after its certificate). Servers started with
// serverOptions.TLS get a certificate from it for 127.0.0.1 and localhost;
// Go clients trust the CA through an ordinary x509.CertPool.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testAuthority is the test binary's CA and one server certificate from it.
type testAuthority struct {
	caPEM    []byte // the CA certificate
	chainPEM []byte // the server certificate, then the CA
	keyPEM   []byte // the server certificate's key
	spki     string // base64 SHA-256 of the CA's SubjectPublicKeyInfo
	pool     *x509.CertPool
	err      error
}

var theTestCA = sync.OnceValue(makeTestCA)

// testCA returns the test binary's CA, made at first use.
func testCA(t *testing.T) *testAuthority {
	t.Helper()
	a := theTestCA()
	if a.err != nil {
		t.Fatalf("test CA: %v", a.err)
	}
	return a
}

func makeTestCA() *testAuthority {
	a := &testAuthority{}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return &testAuthority{err: err}
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Parley e2e test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return &testAuthority{err: err}
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return &testAuthority{err: err}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return &testAuthority{err: err}
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return &testAuthority{err: err}
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return &testAuthority{err: err}
	}
	a.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	a.chainPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), a.caPEM...)
	a.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	a.spki = base64.StdEncoding.EncodeToString(sum[:])
	a.pool = x509.NewCertPool()
	a.pool.AddCert(ca)
	return a
}

// testCAServerFlags writes the test CA's server certificate and key into a
// temporary directory and returns the flags that serve them.
func testCAServerFlags(t *testing.T) []string {
	t.Helper()
	a := testCA(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, a.chainPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, a.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-tls-cert", cert, "-tls-key", key}
}

// serverTrust is the TLS client configuration that trusts a server started
// with o: the test CA with o.TLS, else the private CA the server made in its
// data directory (-tls self-signed).
func serverTrust(t *testing.T, o serverOptions, data string) *tls.Config {
	t.Helper()
	if o.TLS {
		return &tls.Config{RootCAs: testCA(t).pool}
	}
	pemBytes, err := os.ReadFile(filepath.Join(data, "tls", "ca.crt"))
	if err != nil {
		t.Fatalf("an HTTPS server without the test CA and without a private CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("the server's ca.crt does not parse")
	}
	return &tls.Config{RootCAs: pool}
}

// TestTLSVideoCall: a 1:1 video call between two Chromium users over HTTPS
// and WSS (a page served over https cannot open a ws:// socket), with media
// flowing both ways, the browser trusting the server through the test CA.
func TestTLSVideoCall(t *testing.T) {
	srv := startServerWith(t, serverOptions{TLS: true})
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("server URL %s, want https://127.0.0.1:port", srv.URL)
	}
	res, err := srv.Client.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("HSTS %q", got)
	}

	b := newBrowser(t)
	alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	for _, u := range []*sdkUser{alice, bob} {
		if got := eval[string](t, u.ctx, `location.protocol + (window.isSecureContext ? " secure" : "")`); got != "https: secure" {
			t.Fatalf("page protocol %q, want https: secure", got)
		}
	}
	alice.register("alice")
	bob.register("bob")
	alice.waitEvent("connectionListener", `a.status === "CONNECTED"`)
	alice.ok(`Parley.makeVideoCall(["bob@localhost"])`)
	bob.waitEvent("incomingCallListener", `a.userJid === "alice@localhost"`)
	bob.ok(`Parley.answerCall()`)
	alice.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === "bob@localhost"`)
	bob.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === "alice@localhost"`)
	alice.mediaFlows("bob@localhost")
	bob.mediaFlows("alice@localhost")
	var link string
	if err := json.Unmarshal(alice.ok(`Parley.getCallLink()`).Data, &link); err != nil || !strings.HasPrefix(link, srv.URL+"/join/") {
		t.Errorf("call link %q (%v), want one under %s", link, err, srv.URL)
	}
	alice.ok(`Parley.endCall()`)
	bob.waitEvent("callStatusListener", `a.status === "ended"`)
}

// TestTLSSelfSigned: the built server with -tls self-signed makes a private
// CA, prints where it is and its fingerprint, and serves it at /ca.crt over
// HTTPS whose certificate that CA verifies, and over the plain-HTTP port,
// which otherwise redirects to HTTPS.
func TestTLSSelfSigned(t *testing.T) {
	srv := startServerWith(t, serverOptions{Args: []string{"-tls", "self-signed", "-http-addr", "127.0.0.1:0"}})
	caFile := filepath.Join(srv.Data, "tls", "ca.crt")
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	if block == nil {
		t.Fatalf("ca.crt is not PEM: %q", caPEM)
	}
	sum := sha256.Sum256(block.Bytes)
	fp := strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum), " ", ":"))
	waitLog(t, srv, "http_addr=")
	log := srv.log.String()
	for _, want := range []string{"ca_file=" + caFile, "sha256=" + fp, "url=" + srv.URL + "/ca.crt"} {
		if !strings.Contains(log, want) {
			t.Errorf("startup log lacks %q:\n%s", want, log)
		}
	}

	// srv.Client trusts ca.crt and nothing else (see serverTrust).
	res, err := srv.Client.Get(srv.URL + "/ca.crt")
	if err != nil {
		t.Fatalf("GET /ca.crt over HTTPS verified by the private CA: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-x509-ca-cert" || string(body) != string(caPEM) {
		t.Fatalf("/ca.crt: %d %q, body equal to ca.crt: %v", res.StatusCode, res.Header.Get("Content-Type"), string(body) == string(caPEM))
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS in the self-signed mode")
	}

	m := regexp.MustCompile(`http_addr=(\S+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no http_addr in the log:\n%s", log)
	}
	httpAddr := m[1]
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer noFollow.CloseIdleConnections()
	res, err = noFollow.Get("http://" + httpAddr + "/join/abc?x=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := srv.URL + "/join/abc?x=1"; res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
		t.Errorf("plain http: %d %q, want 301 %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	res, err = noFollow.Get("http://" + httpAddr + "/ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != string(caPEM) {
		t.Errorf("/ca.crt over plain http: %d", res.StatusCode)
	}
}

// waitLog waits until the server's log holds s.
func waitLog(t *testing.T, srv *server, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.log.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("server log lacks %q:\n%s", s, srv.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
