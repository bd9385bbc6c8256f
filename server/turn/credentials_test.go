package turn

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/app/wire"
)

// restPassword is the TURN REST API password, computed here independently
// of Signer: base64(HMAC-SHA1(secret, username)).
func restPassword(secret []byte, username string) string {
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignerCredentials(t *testing.T) {
	now := time.Unix(1_700_000_000, 500_000_000)
	s := Signer{Secret: testSecret, TTL: time.Hour}
	user, pass, expires := s.Credentials("alice@example.com", now)
	if want := "1700003600:alice@example.com"; user != want {
		t.Errorf("username %q, want %q", user, want)
	}
	if pass != restPassword(testSecret, user) {
		t.Errorf("password %q is not the REST API HMAC", pass)
	}
	if !expires.Equal(time.Unix(1_700_003_600, 0)) {
		t.Errorf("expires %v", expires)
	}
	jid, vpass, err := s.Verify(user, now)
	if err != nil || jid != "alice@example.com" || vpass != pass {
		t.Errorf("Verify = %q %q %v", jid, vpass, err)
	}
	if _, _, err := s.Verify(user, expires); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify at expiry: %v, want ErrExpired", err)
	}
	if u, _, _ := (Signer{Secret: testSecret}).Credentials("a@b", now); !strings.HasPrefix(u, strconv.FormatInt(now.Add(DefaultCredentialTTL).Unix(), 10)+":") {
		t.Errorf("default TTL username %q", u)
	}
	for _, bad := range []string{"", "alice", ":alice", "123:", "-5:alice", "+99999999999:alice", "0x10:alice", "1e10:alice", strings.Repeat("9", 600) + ":a"} {
		if _, _, err := s.Verify(bad, now); !errors.Is(err, ErrMalformedUsername) {
			t.Errorf("Verify(%q): %v, want ErrMalformedUsername", bad, err)
		}
	}
	// A JID containing ':' stays whole: the expiry is before the first one.
	if jid, _, err := s.Verify("99999999999:a:b@c", now); err != nil || jid != "a:b@c" {
		t.Errorf("Verify with ':' in the JID = %q, %v", jid, err)
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 64 {
		t.Errorf("secret of %d bytes, want 64 hex digits (32 random bytes)", len(first))
	}
	fi, err := os.Stat(filepath.Join(dir, SecretFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Error("secret changed on reload")
	}
	other, err := LoadOrCreateSecret(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, other) {
		t.Error("two data directories got the same secret")
	}
	// A secret written by hand (coturn's static-auth-secret) is taken as is.
	hand := t.TempDir()
	os.WriteFile(filepath.Join(hand, SecretFile), []byte("  my shared coturn secret  \n"), 0o600)
	if got, err := LoadOrCreateSecret(hand); err != nil || string(got) != "my shared coturn secret" {
		t.Errorf("hand-written secret: %q %v", got, err)
	}
	os.WriteFile(filepath.Join(hand, SecretFile), []byte("short\n"), 0o600)
	if _, err := LoadOrCreateSecret(hand); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
	if _, err := LoadOrCreateSecret(filepath.Join(dir, "missing", "dir")); err == nil {
		t.Error("no error for a missing directory")
	}
}

func TestProvider(t *testing.T) {
	urls := URLs("turn.example.com", 3478, 5349)
	want := []string{
		"turn:turn.example.com:3478?transport=udp",
		"turn:turn.example.com:3478?transport=tcp",
		"turns:turn.example.com:5349?transport=tcp",
	}
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Errorf("URLs = %q, want %q", urls, want)
	}
	if got := URLs("2001:db8::1", 3478, 0); len(got) != 2 || got[0] != "turn:[2001:db8::1]:3478?transport=udp" {
		t.Errorf("IPv6 URLs = %q", got)
	}

	p, err := NewProvider(Signer{Secret: testSecret, TTL: time.Hour}, urls, wire.ICEPolicyRelay)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	p.now = func() time.Time { return now }
	cfg := p.ICEConfig("alice@localhost")
	if cfg.Policy != wire.ICEPolicyRelay {
		t.Errorf("policy %q", cfg.Policy)
	}
	if cfg.Expires != now.Add(time.Hour).UnixMilli() {
		t.Errorf("expires %d, want %d", cfg.Expires, now.Add(time.Hour).UnixMilli())
	}
	if len(cfg.Servers) != 1 || strings.Join(cfg.Servers[0].URLs, " ") != strings.Join(want, " ") {
		t.Fatalf("servers %+v", cfg.Servers)
	}
	srv := cfg.Servers[0]
	if srv.Username != "1700003600:alice@localhost" || srv.Credential != restPassword(testSecret, srv.Username) {
		t.Errorf("credentials %q / %q are not REST API credentials for alice", srv.Username, srv.Credential)
	}
	now = now.Add(time.Minute)
	if later := p.ICEConfig("alice@localhost"); later.Expires <= cfg.Expires || later.Servers[0].Username == srv.Username {
		t.Errorf("a later config is not fresher: %d vs %d", later.Expires, cfg.Expires)
	}

	empty, err := NewProvider(Signer{Secret: testSecret}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := empty.ICEConfig("a@b"); got.Policy != wire.ICEPolicyAll || got.Servers != nil || got.Expires != 0 {
		t.Errorf("provider without URLs gave %+v", got)
	}

	bad := []struct {
		secret []byte
		urls   []string
		policy string
	}{
		{nil, want, ""},
		{testSecret, want, "none"},
		{testSecret, nil, wire.ICEPolicyRelay},
		{testSecret, []string{"http://turn.example.com"}, ""},
		{testSecret, []string{"turn:"}, ""},
		{testSecret, []string{"turn:host:99999"}, ""},
		{testSecret, []string{"turn:host?transport=sctp"}, ""},
		{testSecret, []string{"stun:host?transport=udp"}, ""},
		{testSecret, []string{"turn:user@host"}, ""},
	}
	for _, b := range bad {
		if _, err := NewProvider(Signer{Secret: b.secret}, b.urls, b.policy); err == nil {
			t.Errorf("NewProvider accepted secret %q urls %q policy %q", b.secret, b.urls, b.policy)
		}
	}
	for _, good := range []string{"turn:host", "turns:host:443?transport=tcp", "stun:[::1]:3478", "turn:10.0.0.1:3478?transport=udp"} {
		if err := CheckURL(good); err != nil {
			t.Errorf("CheckURL(%q): %v", good, err)
		}
	}
}

// TestProviderCredentialsWork: what the provider hands out allocates on a
// server with the same secret, and not on one with another.
func TestProviderCredentialsWork(t *testing.T) {
	s := startServer(t, Config{})
	p, err := NewProvider(s.Signer(), s.URLs(""), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.ICEConfig("alice@localhost")
	dial(t, s, overUDP, cfg.Servers[0].Username, cfg.Servers[0].Credential).mustAllocate(t)

	other := startServer(t, Config{Secret: []byte("a different secret of 32 bytes!!")})
	if _, err := dial(t, other, overUDP, cfg.Servers[0].Username, cfg.Servers[0].Credential).allocate(); !isCode(err, 401) {
		t.Errorf("credentials of another secret: %v, want 401", err)
	}
}
