package main

// HTTPS: the TLS flags, and the wiring of package tlsserve into serve().

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"parley/server/tlsserve"
)

// TLS modes in tlsSettings.mode.
const (
	tlsOff        = "off"
	tlsFiles      = "files"
	tlsACME       = "acme"
	tlsSelfSigned = "self-signed"
)

// tlsSettings is the TLS part of config.
type tlsSettings struct {
	mode          string // tlsOff, tlsFiles, tlsACME or tlsSelfSigned
	certFile      string
	keyFile       string
	acmeDomains   []string
	acmeEmail     string
	acmeDirectory string
	acmeCA        string
	names         []string // extra names for the self-signed certificate
	httpAddr      string   // plain HTTP that redirects to HTTPS; "" for none
}

// tlsFlags holds the TLS flags between registration and parsing.
type tlsFlags struct {
	mode, cert, key, acmeDomains, acmeEmail, acmeDirectory, acmeCA, names, httpAddr *string
}

// registerTLSFlags adds the TLS flags to fs, their defaults from envOr.
func registerTLSFlags(fs *flag.FlagSet, envOr func(key, def string) string) *tlsFlags {
	return &tlsFlags{
		mode: fs.String("tls", envOr("PARLEY_TLS", ""),
			"`mode` off or self-signed; off unless -tls-cert or -acme-domain is given (PARLEY_TLS)"),
		cert: fs.String("tls-cert", envOr("PARLEY_TLS_CERT", ""),
			"PEM certificate `file` (chain) to serve HTTPS with, reloaded when it changes (PARLEY_TLS_CERT)"),
		key: fs.String("tls-key", envOr("PARLEY_TLS_KEY", ""),
			"PEM private key `file` of -tls-cert (PARLEY_TLS_KEY)"),
		names: fs.String("tls-names", envOr("PARLEY_TLS_NAMES", ""),
			"extra DNS `names` or IPs for the self-signed certificate, comma-separated (PARLEY_TLS_NAMES)"),
		acmeDomains: fs.String("acme-domain", envOr("PARLEY_ACME_DOMAIN", ""),
			"`domains` to get certificates for by ACME, comma-separated (PARLEY_ACME_DOMAIN)"),
		acmeEmail: fs.String("acme-email", envOr("PARLEY_ACME_EMAIL", ""),
			"contact `address` for the ACME account (PARLEY_ACME_EMAIL)"),
		acmeDirectory: fs.String("acme-directory", envOr("PARLEY_ACME_DIRECTORY", tlsserve.LetsEncrypt),
			"ACME directory `URL` (PARLEY_ACME_DIRECTORY)"),
		acmeCA: fs.String("acme-ca", envOr("PARLEY_ACME_CA", ""),
			"PEM `file` of the roots to trust for the ACME directory instead of the system's (PARLEY_ACME_CA)"),
		httpAddr: fs.String("http-addr", envOr("PARLEY_HTTP_ADDR", ""),
			"plain HTTP listen `address` that redirects to HTTPS and answers ACME http-01 (PARLEY_HTTP_ADDR)"),
	}
}

// settings checks the parsed TLS flags against each other.
func (f *tlsFlags) settings() (tlsSettings, error) {
	s := tlsSettings{
		certFile:      *f.cert,
		keyFile:       *f.key,
		acmeDomains:   splitList(*f.acmeDomains),
		acmeEmail:     strings.TrimSpace(*f.acmeEmail),
		acmeDirectory: strings.TrimSpace(*f.acmeDirectory),
		acmeCA:        *f.acmeCA,
		names:         splitList(*f.names),
		httpAddr:      strings.TrimSpace(*f.httpAddr),
	}
	files := s.certFile != "" || s.keyFile != ""
	acme := len(s.acmeDomains) > 0
	mode := strings.TrimSpace(*f.mode)
	switch mode {
	case "", tlsOff, tlsSelfSigned:
	default:
		return s, fmt.Errorf("-tls %q: want off or self-signed", mode)
	}
	switch {
	case files && (s.certFile == "" || s.keyFile == ""):
		return s, errors.New("-tls-cert and -tls-key go together")
	case files && acme:
		return s, errors.New("-tls-cert and -acme-domain exclude each other")
	case mode != "" && (files || acme):
		return s, fmt.Errorf("-tls %s excludes -tls-cert and -acme-domain", mode)
	case !acme && (s.acmeEmail != "" || s.acmeCA != "" || s.acmeDirectory != tlsserve.LetsEncrypt):
		return s, errors.New("-acme-email, -acme-directory and -acme-ca need -acme-domain")
	case acme && s.acmeDirectory == "":
		return s, errors.New("-acme-directory is empty")
	case mode != tlsSelfSigned && len(s.names) > 0:
		return s, errors.New("-tls-names needs -tls self-signed")
	}
	switch {
	case files:
		s.mode = tlsFiles
	case acme:
		s.mode = tlsACME
	case mode == tlsSelfSigned:
		s.mode = tlsSelfSigned
	default:
		s.mode = tlsOff
	}
	if s.mode == tlsOff && s.httpAddr != "" {
		return s, errors.New("-http-addr redirects to HTTPS: it needs -tls-cert, -acme-domain or -tls self-signed")
	}
	return s, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// tlsServing is TLS at run time: the frontend (nil when TLS is off) and the
// plain-HTTP redirect server (nil without -http-addr).
type tlsServing struct {
	cfg      tlsSettings
	front    *tlsserve.Frontend
	logger   *slog.Logger
	redirect *http.Server
	served   chan error
}

// newTLSServing sets up the certificate source of cfg.tls.
func newTLSServing(cfg config, logger *slog.Logger) (*tlsServing, error) {
	t := &tlsServing{cfg: cfg.tls, logger: logger}
	if cfg.tls.mode == tlsOff || cfg.tls.mode == "" {
		return t, nil
	}
	tc := tlsserve.Config{
		CertFile:      cfg.tls.certFile,
		KeyFile:       cfg.tls.keyFile,
		ACMEDomains:   cfg.tls.acmeDomains,
		ACMEEmail:     cfg.tls.acmeEmail,
		ACMEDirectory: cfg.tls.acmeDirectory,
		SelfSigned:    cfg.tls.mode == tlsSelfSigned,
		ExtraNames:    cfg.tls.names,
		Dir:           cfg.dataDir,
		Logger:        logger,
	}
	if cfg.tls.acmeCA != "" {
		pemBytes, err := os.ReadFile(cfg.tls.acmeCA)
		if err != nil {
			return nil, fmt.Errorf("-acme-ca: %w", err)
		}
		tc.ACMERoots = x509.NewCertPool()
		if !tc.ACMERoots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("-acme-ca %s: no PEM certificate in it", cfg.tls.acmeCA)
		}
	}
	front, err := tlsserve.New(tc)
	if err != nil {
		return nil, err
	}
	t.front = front
	return t, nil
}

// getCertificate is the HTTPS certificate source, for TURN over TLS; nil
// without TLS.
func (t *tlsServing) getCertificate() func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if t.front == nil {
		return nil
	}
	return t.front.TLSConfig().GetCertificate
}

// scheme is https or http.
func (t *tlsServing) scheme() string {
	if t.front == nil {
		return "http"
	}
	return "https"
}

// handler wraps the HTTPS handler (HSTS, /ca.crt); h as is without TLS.
func (t *tlsServing) handler(h http.Handler) http.Handler {
	if t.front == nil {
		return h
	}
	return t.front.Handler(h)
}

// listener puts TLS over ln; ln as is without TLS.
func (t *tlsServing) listener(ln net.Listener) net.Listener {
	if t.front == nil {
		return ln
	}
	return tls.NewListener(ln, t.front.TLSConfig())
}

// start logs how to trust the private CA (self-signed mode) and starts the
// redirect server on -http-addr, redirecting to the port of httpsAddr. It
// runs after the "listening" log line, which tests read the address from.
func (t *tlsServing) start(httpsAddr net.Addr) error {
	if t.front == nil {
		return nil
	}
	host, port, err := net.SplitHostPort(httpsAddr.String())
	if err != nil {
		return fmt.Errorf("https address: %w", err)
	}
	if ca := t.front.SelfSigned(); ca != nil {
		var urls []string
		for _, h := range trustHosts(host) {
			urls = append(urls, "https://"+net.JoinHostPort(h, port)+tlsserve.CAPath)
		}
		t.logger.Info("tls: self-signed; to trust this server on a device, install its private CA (check the fingerprint)",
			"ca_file", ca.CAFile(), "sha256", ca.CAFingerprint(), "url", strings.Join(urls, " "))
	}
	if t.cfg.httpAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", t.cfg.httpAddr)
	if err != nil {
		return fmt.Errorf("listen -http-addr: %w", err)
	}
	t.redirect = &http.Server{
		Handler:           t.front.HTTPHandler(port),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(t.logger.Handler(), slog.LevelWarn),
	}
	t.served = make(chan error, 1)
	go func() { t.served <- t.redirect.Serve(ln) }()
	t.logger.Info("redirecting plain http to https", "http_addr", ln.Addr().String())
	return nil
}

// trustHosts are the hosts to show in the /ca.crt URL: the listen host, or
// every non-loopback address of the machine when it listens on all of them.
func trustHosts(listenHost string) []string {
	if ip := net.ParseIP(listenHost); ip == nil || !ip.IsUnspecified() {
		return []string{listenHost}
	}
	var hosts []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			hosts = append(hosts, n.IP.String())
		}
	}
	if len(hosts) == 0 {
		hosts = []string{"localhost"}
	}
	return hosts
}

// shutdown stops the redirect server.
func (t *tlsServing) shutdown(ctx context.Context) error {
	if t.redirect == nil {
		return nil
	}
	err := t.redirect.Shutdown(ctx)
	if serr := <-t.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("redirect server: %w", err)
	}
	return nil
}
