package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

// acmeDomain is the name the test gets a certificate for; pebble-challtestsrv
// answers every A query with 127.0.0.1 and no AAAA query.
const acmeDomain = "parley.test"

// freePort returns a loopback port nothing listens on, for TCP and UDP.
// pebble and pebble-challtestsrv take fixed ports in their configuration and
// do not report a port they chose, so the test picks one and closes it; a
// process taking it in between would fail the test, not pass it wrongly.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free loopback port for both TCP and UDP")
	return 0
}

// testTLSCA makes a CA and a certificate it signs for 127.0.0.1 and
// localhost, written as PEM files in dir: ca.pem, cert.pem, key.pem.
func testTLSCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble listener test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string]*pem.Block{caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile: {Type: "PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// goTool builds the packages into dir (the go command caches the build).
func goTool(t *testing.T, dir string, pkgs ...string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", pkgs, err, out)
	}
}

// startProcess runs a command until the test ends, its output kept for a
// failure.
func startProcess(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
}

// serveInProcess runs serve with args in this process until the test ends
// and returns the address it listens on and its log.
func serveInProcess(t *testing.T, args []string) (addr string, logs *syncBuffer) {
	t.Helper()
	cfg, err := parseConfig(args, envFrom(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := serve(ctx, cfg, slog.New(slog.NewTextHandler(pw, nil)))
		pw.Close()
		done <- err
	}()
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(\S+) scheme=https`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve returned before listening: %v\n%s", err, logs.String())
	}
	return addr, logs
}

// TestACMEWithPebble gets a certificate from Let's Encrypt's test CA,
// pebble, run on loopback, once by each challenge: tls-alpn-01 answered on
// the HTTPS port (autocert's first choice), and http-01 answered on
// -http-addr when pebble's tls-alpn-01 validation finds nothing listening.
// Either way the server then serves a certificate for the domain that
// chains to pebble's root, over a real handshake.
func TestACMEWithPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs pebble")
	}
	bin := t.TempDir()
	goTool(t, bin, "github.com/letsencrypt/pebble/v2/cmd/pebble", "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv")
	t.Run("tls-alpn-01", func(t *testing.T) { acmeWithPebble(t, bin, false) })
	t.Run("http-01", func(t *testing.T) { acmeWithPebble(t, bin, true) })
}

// acmeWithPebble runs pebble and its DNS server from bin and a server that
// gets its certificate from them; with http01, pebble's tls-alpn-01 port is
// one nothing listens on.
func acmeWithPebble(t *testing.T, bin string, http01 bool) {
	dir := t.TempDir()
	caFile, certFile, keyFile := testTLSCA(t, dir)
	pebblePort, mgmtPort, dnsPort, challMgmtPort := freePort(t), freePort(t), freePort(t), freePort(t)
	dirURL := fmt.Sprintf("https://127.0.0.1:%d/dir", pebblePort)

	// The server first: pebble's configuration names its port. autocert asks
	// the CA nothing before the first handshake.
	addr, logs := serveInProcess(t, []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "data"),
		"-acme-domain", acmeDomain, "-acme-email", "ops@" + acmeDomain, "-acme-directory", dirURL, "-acme-ca", caFile,
		"-http-addr", "127.0.0.1:0"})
	_, httpsPort, _ := net.SplitHostPort(addr)
	var httpPort string
	poll(t, "the redirect server's log line", func() error {
		m := regexp.MustCompile(`http_addr=127\.0\.0\.1:(\d+)`).FindStringSubmatch(logs.String())
		if m == nil {
			return errors.New("no http_addr in the log")
		}
		httpPort = m[1]
		return nil
	})

	tlsPort := mustAtoi(t, httpsPort)
	if http01 {
		tlsPort = freePort(t)
	}
	startProcess(t, nil, filepath.Join(bin, "pebble-challtestsrv"),
		"-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort), "-management", fmt.Sprintf("127.0.0.1:%d", challMgmtPort),
		"-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	var conf struct {
		Pebble map[string]any `json:"pebble"`
	}
	conf.Pebble = map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", pebblePort),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmtPort),
		"certificate":             certFile,
		"privateKey":              keyFile,
		"httpPort":                mustAtoi(t, httpPort),
		"tlsPort":                 tlsPort,
		"keyAlgorithm":            "ecdsa",
	}
	confFile := filepath.Join(dir, "pebble.json")
	if b, err := json.Marshal(conf); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(confFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, filepath.Join(bin, "pebble"),
		"-config", confFile, "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort))

	// Ready: the DNS server names the domain 127.0.0.1, pebble's
	// management interface hands out its root.
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", dnsPort))
	}}
	listenerCA := x509.NewCertPool()
	caPEM, _ := os.ReadFile(caFile)
	listenerCA.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: listenerCA}}}
	defer client.CloseIdleConnections()
	var rootPEM []byte
	poll(t, "pebble and its DNS server", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ips, err := resolver.LookupHost(ctx, acmeDomain)
		if err != nil {
			return err
		}
		if !slices.Equal(ips, []string{"127.0.0.1"}) {
			return fmt.Errorf("%s resolves to %v", acmeDomain, ips)
		}
		res, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmtPort))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		rootPEM, err = io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			return fmt.Errorf("roots/0: %d %v", res.StatusCode, err)
		}
		return nil
	})
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble root does not parse: %q", rootPEM)
	}

	// The first handshake for the domain makes the server get its
	// certificate; the client trusts pebble's root and nothing else.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: acmeDomain}}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("TLS handshake for %s verifying with pebble's root: %v", acmeDomain, err)
	}
	state := conn.(*tls.Conn).ConnectionState()
	conn.Close()
	leaf := state.PeerCertificates[0]
	if !slices.Equal(leaf.DNSNames, []string{acmeDomain}) || len(state.VerifiedChains) == 0 {
		t.Fatalf("served certificate for %v, verified chains %d", leaf.DNSNames, len(state.VerifiedChains))
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "acme", acmeDomain)); err != nil {
		t.Errorf("certificate not cached under the data directory: %v", err)
	}

	// HTTPS requests work and carry HSTS; plain HTTP redirects.
	hc := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: acmeDomain}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer hc.CloseIdleConnections()
	res, err := hc.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Errorf("/healthz over https: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+httpPort+"/join/x?y=1", nil)
	req.Host = acmeDomain
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := "https://" + acmeDomain + ":" + httpsPort + "/join/x?y=1"; res.StatusCode != 301 || res.Header.Get("Location") != want {
		t.Errorf("plain http: %d %q, want 301 %q", res.StatusCode, res.Header.Get("Location"), want)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// poll calls f until it succeeds, for at most 20 seconds.
func poll(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
