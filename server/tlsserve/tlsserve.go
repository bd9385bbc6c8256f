// Package tlsserve is the TLS side of Parley's one binary: where its
// certificate comes from, and the few HTTP handlers that go with HTTPS.
//
// A certificate comes from one of three places:
//
//   - PEM files (FilePair), reloaded when they change on disk, for a
//     certificate renewed by something else (certbot, a secret mount);
//   - an ACME CA such as Let's Encrypt (golang.org/x/crypto/acme/autocert),
//     obtained on the first handshake for a configured name, cached in a
//     directory and renewed before it expires;
//   - a private CA made on first start (SelfSigned), for a LAN with no
//     domain name: devices trust its certificate once.
//
// Frontend ties one of them to a tls.Config, wraps the HTTPS handler (HSTS,
// /ca.crt) and makes the plain-HTTP handler that redirects to HTTPS and
// answers ACME http-01 challenges. Nothing here reads flags or globals.
package tlsserve

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// LetsEncrypt is the directory of Let's Encrypt's production ACME CA.
const LetsEncrypt = autocert.DefaultACMEDirectory

// HSTSValue is the Strict-Transport-Security header HTTPS responses carry
// (except in the self-signed mode): one year, and neither includeSubDomains
// nor preload, which would reach beyond this one server.
const HSTSValue = "max-age=31536000"

// CAPath is where the self-signed mode serves its CA certificate.
const CAPath = "/ca.crt"

// Mode names where the certificate comes from.
type Mode string

// The modes.
const (
	ModeFiles      Mode = "files"
	ModeACME       Mode = "acme"
	ModeSelfSigned Mode = "self-signed"
)

// Config chooses the certificate's source: exactly one of CertFile and
// KeyFile together, ACMEDomains, or SelfSigned.
type Config struct {
	// CertFile and KeyFile name a PEM certificate (its chain may follow it)
	// and its private key.
	CertFile, KeyFile string

	// ACMEDomains are the names to obtain certificates for from an ACME CA;
	// each needs a dot (autocert refuses single-label names). The Terms of
	// Service of the CA are accepted on the operator's behalf.
	ACMEDomains []string
	// ACMEEmail is the contact address of the ACME account (optional).
	ACMEEmail string
	// ACMEDirectory is the CA's directory URL; empty means LetsEncrypt.
	ACMEDirectory string
	// ACMERoots, when set, are the only roots trusted for the ACME
	// directory's own HTTPS (a private or test CA); nil means the system's.
	ACMERoots *x509.CertPool

	// SelfSigned uses a private CA kept under Dir/tls.
	SelfSigned bool
	// ExtraNames are DNS names or IPs the self-signed certificate holds
	// beside the machine's own.
	ExtraNames []string

	// Dir is the data directory: the ACME cache goes in Dir/acme, the
	// private CA in Dir/tls.
	Dir string
	// Logger receives reloads, issuance and errors; nil discards them.
	Logger *slog.Logger
}

// Frontend is a configured certificate source and the HTTP pieces that go
// with it.
type Frontend struct {
	mode    Mode
	getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	acme    *autocert.Manager
	self    *SelfSigned
}

// New checks cfg and sets up its certificate source: it loads the files,
// makes or loads the private CA, or prepares the ACME manager (which asks
// the CA for nothing until the first handshake).
func New(cfg Config) (*Frontend, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	files := cfg.CertFile != "" || cfg.KeyFile != ""
	n := 0
	for _, on := range []bool{files, len(cfg.ACMEDomains) > 0, cfg.SelfSigned} {
		if on {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("tls: configure exactly one of certificate files, ACME domains, or self-signed")
	}
	switch {
	case files:
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, errors.New("tls: a certificate file needs a key file and the other way round")
		}
		p, err := NewFilePair(cfg.CertFile, cfg.KeyFile, DefaultReloadInterval, logger)
		if err != nil {
			return nil, err
		}
		return &Frontend{mode: ModeFiles, getCert: p.GetCertificate}, nil
	case cfg.SelfSigned:
		if cfg.Dir == "" {
			return nil, errors.New("tls: self-signed needs a data directory")
		}
		s, err := NewSelfSigned(filepath.Join(cfg.Dir, "tls"), cfg.ExtraNames, logger)
		if err != nil {
			return nil, err
		}
		return &Frontend{mode: ModeSelfSigned, getCert: s.GetCertificate, self: s}, nil
	}
	m, err := newACME(cfg)
	if err != nil {
		return nil, err
	}
	return &Frontend{mode: ModeACME, getCert: m.GetCertificate, acme: m}, nil
}

// newACME sets up autocert for cfg.ACMEDomains.
func newACME(cfg Config) (*autocert.Manager, error) {
	if cfg.Dir == "" {
		return nil, errors.New("tls: ACME needs a data directory for its cache")
	}
	var domains []string
	for _, d := range cfg.ACMEDomains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if !validDNSName(d) || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("tls: ACME domain %q is not a fully qualified domain name", d)
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	dir := cfg.ACMEDirectory
	if dir == "" {
		dir = LetsEncrypt
	}
	client := &acme.Client{DirectoryURL: dir, UserAgent: "parley"}
	if cfg.ACMERoots != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.ACMERoots, MinVersion: tls.VersionTLS12}
		client.HTTPClient = &http.Client{Transport: tr}
	}
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(filepath.Join(cfg.Dir, "acme")),
		HostPolicy: autocert.HostWhitelist(domains...),
		Client:     client,
		Email:      cfg.ACMEEmail,
	}, nil
}

// Mode says where the certificate comes from.
func (f *Frontend) Mode() Mode { return f.mode }

// SelfSigned is the private CA in the self-signed mode, else nil.
func (f *Frontend) SelfSigned() *SelfSigned { return f.self }

// TLSConfig is the server side TLS configuration: TLS 1.2 or later,
// HTTP/2 and HTTP/1.1, and the tls-alpn-01 challenge in the ACME mode.
func (f *Frontend) TLSConfig() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if f.acme != nil {
		protos = append(protos, acme.ALPNProto)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: f.getCert,
		NextProtos:     protos,
	}
}

// Handler wraps the HTTPS handler h: responses carry HSTS, except in the
// self-signed mode, which instead serves its CA certificate at CAPath.
//
// Why no HSTS for a private CA: HSTS takes away the browser's "proceed
// anyway", and a device that does not trust the CA yet needs it once, to
// reach /ca.crt or the app at all; and should the data directory (and so the
// CA) ever be lost, every device that saw the header would be locked out for
// a year. Browsers ignore HSTS for IP addresses anyway, which is how a LAN
// server is mostly reached.
func (f *Frontend) Handler(h http.Handler) http.Handler {
	if f.self != nil {
		ca := CAHandler(f.self.CAPEM())
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == CAPath {
				ca.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	return HSTS(h)
}

// HTTPHandler is the handler for plain HTTP while HTTPS is served on
// httpsPort: it redirects everything to HTTPS, except that it answers ACME
// http-01 challenges in the ACME mode, and serves the CA certificate at
// CAPath in the self-signed mode (a device fetching it does not trust the
// HTTPS yet; its fingerprint, printed at startup, is what to check).
func (f *Frontend) HTTPHandler(httpsPort string) http.Handler {
	redirect := Redirect(httpsPort)
	switch {
	case f.acme != nil:
		challenge := f.acme.HTTPHandler(redirect)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// autocert checks the Host header against its allowed names
			// as it is, port and all; a validation request reaching a
			// port other than 80 (forwarded, or a test CA's) carries one.
			if h := hostOnly(r.Host); h != r.Host {
				r = r.Clone(r.Context())
				r.Host = h
			}
			challenge.ServeHTTP(w, r)
		})
	case f.self != nil:
		ca := CAHandler(f.self.CAPEM())
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == CAPath {
				ca.ServeHTTP(w, r)
				return
			}
			redirect.ServeHTTP(w, r)
		})
	}
	return redirect
}

// HSTS sets Strict-Transport-Security (HSTSValue) on every response of h.
func HSTS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", HSTSValue)
		h.ServeHTTP(w, r)
	})
}

// Redirect answers every request with a redirect to the same host on
// httpsPort (left out when it is 443), path and query kept: 301 for GET and
// HEAD, 308 for other methods so that they are repeated as they were.
func Redirect(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.TrimSuffix(strings.TrimPrefix(hostOnly(r.Host), "["), "]")
		if host == "" {
			http.Error(w, "Use HTTPS, with a Host header.", http.StatusBadRequest)
			return
		}
		hostport := net.JoinHostPort(host, httpsPort)
		if httpsPort == "443" {
			hostport = host
			if strings.Contains(host, ":") {
				hostport = "[" + host + "]"
			}
		}
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		http.Redirect(w, r, "https://"+hostport+r.URL.RequestURI(), code)
	})
}

// CAHandler serves a CA certificate, PEM-encoded, as
// application/x-x509-ca-cert: what browsers and phones offer to install.
func CAHandler(pemBytes []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Header().Set("Content-Disposition", `attachment; filename="parley-ca.crt"`)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(pemBytes)
	})
}

// hostOnly is a Host header without its port, if it has one.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}
