package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"

	"parley/app/wire"
	"parley/server/turn"
)

func TestParseTURNConfig(t *testing.T) {
	defaults := turnConfig{portMin: 49152, portMax: 65535, quota: 10, bandwidth: 2_500_000,
		credentialTTL: 12 * time.Hour, icePolicy: "all"}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    turnConfig
		wantErr string
	}{
		{name: "defaults: off", want: defaults},
		{
			name: "environment",
			env: map[string]string{"PARLEY_TURN_ADDR": ":3478", "PARLEY_TURN_TLS_ADDR": "0.0.0.0:5349",
				"PARLEY_TURN_PUBLIC_IP": "203.0.113.7", "PARLEY_TURN_HOST": "turn.example.com",
				"PARLEY_TURN_RELAY_PORTS": "40000-40100", "PARLEY_TURN_SECRET": "a secret of some length",
				"PARLEY_TURN_URL":           "turns:relay.example.com:443?transport=tcp, turn:relay.example.com:3478",
				"PARLEY_TURN_ALLOW_PRIVATE": "true", "PARLEY_TURN_QUOTA": "4", "PARLEY_TURN_BANDWIDTH": "8Mbit",
				"PARLEY_TURN_CREDENTIAL_TTL": "2h", "PARLEY_ICE_TRANSPORT_POLICY": "relay"},
			want: turnConfig{addr: ":3478", tlsAddr: "0.0.0.0:5349", publicIP: netip.MustParseAddr("203.0.113.7"),
				host: "turn.example.com", portMin: 40000, portMax: 40100, secret: "a secret of some length",
				urls:         []string{"turns:relay.example.com:443?transport=tcp", "turn:relay.example.com:3478"},
				allowPrivate: true, quota: 4, bandwidth: 1_000_000, credentialTTL: 2 * time.Hour, icePolicy: "relay"},
		},
		{
			name: "flags override environment; -turn-url replaces the list",
			args: []string{"-turn-addr", "127.0.0.1:0", "-turn-url", "turn:a.test", "-turn-url", "stun:b.test:3478",
				"-turn-allow-private=false", "-turn-quota", "0", "-turn-bandwidth", "0", "-turn-relay-ports", "50000-50010",
				"-turn-public-ip", "::ffff:192.0.2.1", "-ice-transport-policy", "all", "-turn-credential-ttl", "30m"},
			env: map[string]string{"PARLEY_TURN_URL": "turn:env.test", "PARLEY_TURN_ALLOW_PRIVATE": "1",
				"PARLEY_TURN_QUOTA": "3", "PARLEY_ICE_TRANSPORT_POLICY": "relay"},
			want: turnConfig{addr: "127.0.0.1:0", urls: []string{"turn:a.test", "stun:b.test:3478"}, portMin: 50000, portMax: 50010,
				publicIP: netip.MustParseAddr("192.0.2.1"), quota: 0, bandwidth: 0, credentialTTL: 30 * time.Minute, icePolicy: "all"},
		},
		{name: "bandwidth in bytes", args: []string{"-turn-bandwidth", "2.5MB/s"}, want: defaults},
		{name: "bandwidth plain", args: []string{"-turn-bandwidth", "2500000"}, want: defaults},
		{name: "bandwidth kbit", args: []string{"-turn-bandwidth", "20000kbit"}, want: defaults},
		{name: "relay needs a server", args: []string{"-ice-transport-policy", "relay"}, wantErr: "needs a TURN server"},
		{name: "relay with external URL", args: []string{"-ice-transport-policy", "relay", "-turn-url", "turn:x.test"},
			want: func() turnConfig { d := defaults; d.icePolicy = "relay"; d.urls = []string{"turn:x.test"}; return d }()},
		{name: "bad policy", args: []string{"-ice-transport-policy", "none"}, wantErr: "ice-transport-policy"},
		{name: "bad env policy", env: map[string]string{"PARLEY_ICE_TRANSPORT_POLICY": "some"}, wantErr: "ice-transport-policy"},
		{name: "host name in addr", args: []string{"-turn-addr", "localhost:3478"}, wantErr: "must be an IP address"},
		{name: "addr without port", args: []string{"-turn-addr", "127.0.0.1"}, wantErr: "-turn-addr"},
		{name: "TLS without UDP/TCP", args: []string{"-turn-tls-addr", ":5349"}, wantErr: "needs -turn-addr"},
		{name: "bad public IP", args: []string{"-turn-public-ip", "example.com"}, wantErr: "turn-public-ip"},
		{name: "unspecified public IP", env: map[string]string{"PARLEY_TURN_PUBLIC_IP": "0.0.0.0"}, wantErr: "PARLEY_TURN_PUBLIC_IP"},
		{name: "bad range", args: []string{"-turn-relay-ports", "60000-50000"}, wantErr: "turn-relay-ports"},
		{name: "privileged range", args: []string{"-turn-relay-ports", "1-100"}, wantErr: "turn-relay-ports"},
		{name: "range not a range", env: map[string]string{"PARLEY_TURN_RELAY_PORTS": "49152"}, wantErr: "PARLEY_TURN_RELAY_PORTS"},
		{name: "bad bandwidth", args: []string{"-turn-bandwidth", "fast"}, wantErr: "turn-bandwidth"},
		{name: "tiny bandwidth", args: []string{"-turn-bandwidth", "8bit"}, wantErr: "too low"},
		{name: "bad env bandwidth", env: map[string]string{"PARLEY_TURN_BANDWIDTH": "-1"}, wantErr: "PARLEY_TURN_BANDWIDTH"},
		{name: "negative quota", args: []string{"-turn-quota", "-1"}, wantErr: "turn-quota"},
		{name: "bad env quota", env: map[string]string{"PARLEY_TURN_QUOTA": "lots"}, wantErr: "PARLEY_TURN_QUOTA"},
		{name: "bad env bool", env: map[string]string{"PARLEY_TURN_ALLOW_PRIVATE": "maybe"}, wantErr: "PARLEY_TURN_ALLOW_PRIVATE"},
		{name: "short ttl", args: []string{"-turn-credential-ttl", "10s"}, wantErr: "turn-credential-ttl"},
		{name: "bad env ttl", env: map[string]string{"PARLEY_TURN_CREDENTIAL_TTL": "a day"}, wantErr: "PARLEY_TURN_CREDENTIAL_TTL"},
		{name: "short secret", args: []string{"-turn-secret", "hunter2"}, wantErr: "turn-secret"},
		{name: "bad URL", args: []string{"-turn-url", "http://turn.example.com"}, wantErr: "turn-url"},
		{name: "bad host", args: []string{"-turn-host", "turn.example.com:3478"}, wantErr: "turn-host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ok := parseCase(t, tc.args, tc.env, tc.wantErr)
			if !ok {
				return
			}
			got, want := cfg.turn, tc.want
			if !slices.Equal(got.urls, want.urls) {
				t.Errorf("urls = %q, want %q", got.urls, want.urls)
			}
			got.urls, want.urls = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("turn config = %+v\nwant          %+v", got, want)
			}
		})
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func restPassword(secret []byte, username string) string {
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestStartTURN: the embedded server starts from flags, and the provider
// for the hub offers its URLs with credentials it accepts, signed with the
// secret generated into the data directory.
func TestStartTURN(t *testing.T) {
	cfg, err := parseConfig([]string{"-turn-addr", "127.0.0.1:0", "-ice-transport-policy", "relay",
		"-turn-url", "turns:relay.example.com:443?transport=tcp"}, envFrom(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv, ice, err := startTURN(t.Context(), cfg.turn, dir, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	secret, err := os.ReadFile(filepath.Join(dir, turn.SecretFile))
	if err != nil {
		t.Fatalf("secret file: %v", err)
	}
	secret = bytes.TrimSpace(secret)

	ic := ice.ICEConfig("alice@localhost")
	addr := srv.Addr()
	want := []string{"turn:" + addr + "?transport=udp", "turn:" + addr + "?transport=tcp", "turns:relay.example.com:443?transport=tcp"}
	if ic.Policy != wire.ICEPolicyRelay || len(ic.Servers) != 1 || !slices.Equal(ic.Servers[0].URLs, want) {
		t.Fatalf("ICE config %+v, want relay policy and URLs %q", ic, want)
	}
	user, pass := ic.Servers[0].Username, ic.Servers[0].Credential
	if !strings.HasSuffix(user, ":alice@localhost") || pass != restPassword(secret, user) {
		t.Errorf("credentials %q/%q not signed with the secret file's secret", user, pass)
	}
	if exp := time.UnixMilli(ic.Expires); exp.Before(time.Now().Add(11*time.Hour)) || exp.After(time.Now().Add(13*time.Hour)) {
		t.Errorf("expires %v, want about 12h from now", exp)
	}

	// A TURN client allocates with them over TCP, the transport a browser
	// uses for turn:...?transport=tcp.
	tcp, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn := pionturn.NewSTUNConn(tcp)
	defer conn.Close()
	if err := allocate(addr, user, pass, conn); err != nil {
		t.Fatalf("allocate with the provider's credentials: %v", err)
	}

	// Restarting keeps the secret: credentials minted before still verify.
	srv2, ice2, err := startTURN(t.Context(), cfg.turn, dir, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	if again := ice2.ICEConfig("alice@localhost").Servers[0]; again.Credential != restPassword(secret, again.Username) {
		t.Error("the secret changed across restarts")
	}
}

func TestStartTURNExternalOnly(t *testing.T) {
	cfg, err := parseConfig([]string{"-turn-secret", "shared with coturn, long enough", "-turn-url", "turn:coturn.example.com:3478"},
		envFrom(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv, ice, err := startTURN(t.Context(), cfg.turn, dir, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if srv != nil {
		t.Error("an embedded server started without -turn-addr")
	}
	ic := ice.ICEConfig("bob@localhost")
	if len(ic.Servers) != 1 || !slices.Equal(ic.Servers[0].URLs, []string{"turn:coturn.example.com:3478"}) || ic.Policy != "all" {
		t.Fatalf("ICE config %+v", ic)
	}
	if s := ic.Servers[0]; s.Credential != restPassword([]byte("shared with coturn, long enough"), s.Username) {
		t.Error("external URL not signed with -turn-secret")
	}
	if _, err := os.Stat(filepath.Join(dir, turn.SecretFile)); err == nil {
		t.Error("a secret file was generated although -turn-secret was given")
	}
}

func TestStartTURNOff(t *testing.T) {
	cfg, err := parseConfig(nil, envFrom(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv, ice, err := startTURN(t.Context(), cfg.turn, t.TempDir(), nil, quietLog())
	if srv != nil || ice != nil || err != nil {
		t.Errorf("startTURN with no TURN flags = %v, %v, %v; want nothing", srv, ice, err)
	}
}

func TestStartTURNTLSNeedsCertificate(t *testing.T) {
	cfg, err := parseConfig([]string{"-turn-addr", "127.0.0.1:0", "-turn-tls-addr", "127.0.0.1:0"}, envFrom(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := startTURN(t.Context(), cfg.turn, t.TempDir(), nil, quietLog()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("TURN over TLS without a certificate: %v", err)
	}
	getCert := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }
	srv, ice, err := startTURN(t.Context(), cfg.turn, t.TempDir(), getCert, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	urls := ice.ICEConfig("a@localhost").Servers[0].URLs
	if len(urls) != 3 || !strings.HasPrefix(urls[2], "turns:") || !strings.HasSuffix(urls[2], srv.TLSAddr()[strings.LastIndex(srv.TLSAddr(), ":"):]+"?transport=tcp") {
		t.Errorf("URLs with TLS = %q (TLS at %s)", urls, srv.TLSAddr())
	}
}

// pionQuiet discards pion's logs.
type pionQuiet struct{}

func (pionQuiet) NewLogger(string) logging.LeveledLogger { return quietPion{} }

type quietPion struct{}

func (quietPion) Trace(string)          {}
func (quietPion) Tracef(string, ...any) {}
func (quietPion) Debug(string)          {}
func (quietPion) Debugf(string, ...any) {}
func (quietPion) Info(string)           {}
func (quietPion) Infof(string, ...any)  {}
func (quietPion) Warn(string)           {}
func (quietPion) Warnf(string, ...any)  {}
func (quietPion) Error(string)          {}
func (quietPion) Errorf(string, ...any) {}

// allocate makes a TURN allocation at addr with these credentials over conn
// (a UDP socket, or a TCP connection wrapped with pionturn.NewSTUNConn) and
// releases it again.
func allocate(addr, user, pass string, conn net.PacketConn) error {
	c, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: addr, Username: user, Password: pass,
		Realm: turn.DefaultRealm, Conn: conn, LoggerFactory: pionQuiet{}})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		return err
	}
	relay, err := c.Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}

// TestServeOffersTURN runs serve with the embedded TURN server: a user
// signing in over /ws gets its URLs with working credentials, and the
// shutdown closes the TURN ports.
func TestServeOffersTURN(t *testing.T) {
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-turn-addr", "127.0.0.1:0",
		"-ice-transport-policy", "relay"}, envFrom(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil))) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	httpRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	turnRE := regexp.MustCompile(`msg="turn listening" addr=(\S+) public=127\.0\.0\.1`)
	var httpAddr, turnAddr string
	deadline := time.Now().Add(30 * time.Second)
	for httpAddr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no listening log:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
		if m := httpRE.FindStringSubmatch(logs.String()); m != nil {
			httpAddr = m[1]
		}
	}
	if m := turnRE.FindStringSubmatch(logs.String()); m != nil {
		turnAddr = m[1]
	} else {
		t.Fatalf("no turn listening log:\n%s", logs)
	}

	wctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(wctx, "ws://"+httpAddr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	req, _ := json.Marshal(wire.Frame{Type: wire.TypeRegister, V: wire.Version, ID: 1,
		Data: json.RawMessage(`{"username":"erin","password":"password-erin"}`)})
	if err := ws.Write(wctx, websocket.MessageText, req); err != nil {
		t.Fatal(err)
	}
	var res wire.AuthResult
	for {
		_, b, err := ws.Read(wctx)
		if err != nil {
			t.Fatal(err)
		}
		var f wire.Frame
		if json.Unmarshal(b, &f) == nil && f.ID == 1 {
			if f.Type != wire.TypeResult || json.Unmarshal(f.Data, &res) != nil {
				t.Fatalf("register reply %s", b)
			}
			break
		}
	}
	want := []string{"turn:" + turnAddr + "?transport=udp", "turn:" + turnAddr + "?transport=tcp"}
	if res.ICE.Policy != wire.ICEPolicyRelay || len(res.ICE.Servers) != 1 || !slices.Equal(res.ICE.Servers[0].URLs, want) ||
		!strings.HasSuffix(res.ICE.Servers[0].Username, ":erin@localhost") {
		t.Fatalf("ICE config %+v, want relay via %q for erin", res.ICE, want)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := allocate(turnAddr, res.ICE.Servers[0].Username, res.ICE.Servers[0].Credential, pc); err != nil {
		t.Fatalf("allocate with the sign-in credentials: %v", err)
	}

	ws.CloseNow() // not reading: the shutdown's close handshake would wait for it
	stop()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	served <- nil
	if ln, err := net.Listen("tcp4", turnAddr); err != nil {
		t.Errorf("TURN TCP port still open after shutdown: %v", err)
	} else {
		ln.Close()
	}
}

// TestTURNOverTLSUsesTheHTTPSCertificate: with -tls self-signed and
// -turn-tls-addr, TURN over TLS presents the HTTPS certificate (verified
// against the server's own private CA) and allocates with REST credentials
// signed by the server's secret.
func TestTURNOverTLSUsesTheHTTPSCertificate(t *testing.T) {
	data := t.TempDir()
	_, logs := serveInProcess(t, []string{"-addr", "127.0.0.1:0", "-data", data, "-tls", "self-signed",
		"-turn-addr", "127.0.0.1:0", "-turn-tls-addr", "127.0.0.1:0"})
	m := regexp.MustCompile(`msg="turn listening".* tls=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no TURN TLS address in the log:\n%s", logs.String())
	}
	caPEM, err := os.ReadFile(filepath.Join(data, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	secret, err := os.ReadFile(filepath.Join(data, "turn-secret"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", m[1], &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS to TURN at %s, verified with the server's CA: %v", m[1], err)
	}
	pc := pionturn.NewSTUNConn(conn)
	defer pc.Close()
	user, pass, _ := turn.Signer{Secret: bytes.TrimSpace(secret)}.Credentials("alice@localhost", time.Now())
	if err := allocate(m[1], user, pass, pc); err != nil {
		t.Fatalf("allocate over TURN/TLS: %v", err)
	}
}
