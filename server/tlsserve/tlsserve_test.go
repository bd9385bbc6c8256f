package tlsserve

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/acme"
)

func TestRedirect(t *testing.T) {
	for _, tc := range []struct {
		method, target, host, port string
		code                       int
		location                   string
	}{
		{"GET", "/call/abc?x=1&y=2", "192.168.1.5:8080", "8443", 301, "https://192.168.1.5:8443/call/abc?x=1&y=2"},
		{"HEAD", "/", "example.com", "443", 301, "https://example.com/"},
		{"GET", "/a%20b", "example.com:80", "443", 301, "https://example.com/a%20b"},
		{"POST", "/ws?t=1", "example.com:80", "8443", 308, "https://example.com:8443/ws?t=1"},
		{"GET", "/x", "[::1]:80", "8443", 301, "https://[::1]:8443/x"},
		{"GET", "/x", "[fd00::2]", "443", 301, "https://[fd00::2]/x"},
	} {
		t.Run(tc.method+" "+tc.host+tc.target, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			Redirect(tc.port).ServeHTTP(w, r)
			if w.Code != tc.code || w.Header().Get("Location") != tc.location {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tc.code, tc.location)
			}
		})
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = ""
	w := httptest.NewRecorder()
	Redirect("443").ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("no Host: %d, want 400", w.Code)
	}
}

// filesFrontend is a Frontend serving a generated pair from files.
func filesFrontend(t *testing.T) *Frontend {
	t.Helper()
	dir := t.TempDir()
	c, k := testPair(t, "files")
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, c, 0o600)
	os.WriteFile(keyFile, k, 0o600)
	f, err := New(Config{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") })

// TestHandlerOverTLS serves the wrapped handler over real HTTPS: with
// certificate files it sends HSTS; in the self-signed mode it does not, and
// serves the CA at /ca.crt.
func TestHandlerOverTLS(t *testing.T) {
	get := func(t *testing.T, f *Frontend, path string) *http.Response {
		t.Helper()
		ln, err := tls.Listen("tcp", "127.0.0.1:0", f.TLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: f.Handler(ok)}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		// The client checks nothing of the certificate: the test looks at
		// which one was served.
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		t.Cleanup(client.CloseIdleConnections)
		res, err := client.Get("https://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	t.Run("files", func(t *testing.T) {
		f := filesFrontend(t)
		if f.Mode() != ModeFiles || f.SelfSigned() != nil {
			t.Fatalf("mode %s", f.Mode())
		}
		res := get(t, f, "/")
		if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("HSTS %q", got)
		}
		if res.TLS == nil || res.TLS.PeerCertificates[0].Subject.CommonName != "files" {
			t.Errorf("not served over TLS with the files' certificate")
		}
		if res := get(t, f, "/ca.crt"); res.Header.Get("Content-Type") == "application/x-x509-ca-cert" {
			t.Error("/ca.crt served outside the self-signed mode")
		}
	})
	t.Run("self-signed", func(t *testing.T) {
		f, err := New(Config{SelfSigned: true, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		res := get(t, f, "/")
		if got := res.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("HSTS %q in the self-signed mode", got)
		}
		if res.TLS == nil || res.TLS.PeerCertificates[0].Issuer.CommonName != f.SelfSigned().ca.Subject.CommonName {
			t.Errorf("not served over TLS with a certificate from the private CA")
		}
		res = get(t, f, "/ca.crt")
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-x509-ca-cert" || string(body) != string(f.SelfSigned().CAPEM()) {
			t.Errorf("/ca.crt: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	})
}

func TestHTTPHandler(t *testing.T) {
	do := func(h http.Handler, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Host = "chat.example.org"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	t.Run("files", func(t *testing.T) {
		h := filesFrontend(t).HTTPHandler("443")
		if w := do(h, "/ca.crt"); w.Code != 301 || w.Header().Get("Location") != "https://chat.example.org/ca.crt" {
			t.Errorf("/ca.crt: %d %s", w.Code, w.Header().Get("Location"))
		}
	})
	t.Run("self-signed", func(t *testing.T) {
		f, err := New(Config{SelfSigned: true, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		h := f.HTTPHandler("8443")
		if w := do(h, "/ca.crt"); w.Code != 200 || w.Body.String() != string(f.SelfSigned().CAPEM()) {
			t.Errorf("/ca.crt over http: %d", w.Code)
		}
		if w := do(h, "/"); w.Code != 301 || w.Header().Get("Location") != "https://chat.example.org:8443/" {
			t.Errorf("/: %d %s", w.Code, w.Header().Get("Location"))
		}
	})
	t.Run("acme", func(t *testing.T) {
		f, err := New(Config{ACMEDomains: []string{"chat.example.org"}, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(f.TLSConfig().NextProtos, acme.ALPNProto) {
			t.Errorf("NextProtos %v lack %s", f.TLSConfig().NextProtos, acme.ALPNProto)
		}
		h := f.HTTPHandler("443")
		// An unknown token is autocert's 404, not a redirect: the challenge
		// path is answered here.
		if w := do(h, "/.well-known/acme-challenge/unknown"); w.Code != http.StatusNotFound {
			t.Errorf("challenge path: %d, want 404", w.Code)
		}
		if w := do(h, "/x?y"); w.Code != 301 || w.Header().Get("Location") != "https://chat.example.org/x?y" {
			t.Errorf("/x?y: %d %s", w.Code, w.Header().Get("Location"))
		}
	})
}

func TestNewRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing", Config{Dir: dir}, "exactly one"},
		{"two sources", Config{SelfSigned: true, ACMEDomains: []string{"a.example"}, Dir: dir}, "exactly one"},
		{"cert without key", Config{CertFile: "c.pem"}, "key file"},
		{"single-label ACME domain", Config{ACMEDomains: []string{"localhost"}, Dir: dir}, "fully qualified"},
		{"ACME without a directory", Config{ACMEDomains: []string{"a.example"}}, "data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
