package hub

import (
	"slices"
	"sync"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/turn"
)

// steppingICE mints real TURN REST credentials with a clock that advances a
// minute per call, so each configuration expires later than the one before.
type steppingICE struct {
	signer turn.Signer
	mu     sync.Mutex
	now    time.Time
	jids   []string
}

func (p *steppingICE) ICEConfig(jid string) wire.ICEConfig {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now = p.now.Add(time.Minute)
	p.jids = append(p.jids, jid)
	user, pass, exp := p.signer.Credentials(jid, p.now)
	return wire.ICEConfig{
		Servers: []wire.ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp"}, Username: user, Credential: pass}},
		Policy:  wire.ICEPolicyRelay,
		Expires: exp.UnixMilli(),
	}
}

// checkICE asserts that cfg carries credentials for jid that the signer
// accepts at the provider's clock.
func (p *steppingICE) checkICE(t *testing.T, cfg wire.ICEConfig, jid string) {
	t.Helper()
	if cfg.Policy != wire.ICEPolicyRelay || len(cfg.Servers) != 1 || cfg.Expires == 0 {
		t.Fatalf("ICE config %+v", cfg)
	}
	p.mu.Lock()
	now := p.now
	p.mu.Unlock()
	got, pass, err := p.signer.Verify(cfg.Servers[0].Username, now)
	if err != nil || got != jid || pass != cfg.Servers[0].Credential {
		t.Fatalf("credentials %q/%q: jid %q, %v; want valid ones for %s", cfg.Servers[0].Username, cfg.Servers[0].Credential, got, err, jid)
	}
}

func TestICEConfig(t *testing.T) {
	ice := &steppingICE{signer: turn.Signer{Secret: []byte("hub test secret, 32 bytes long.."), TTL: time.Hour}, now: time.Now()}
	e := newEnv(t, Config{ICE: ice})

	// Signing in (register, login, auth) returns the user's configuration.
	alice := e.register("alice")
	ice.checkICE(t, alice.auth.ICE, jid("alice"))
	bob := e.register("bob")
	ice.checkICE(t, bob.auth.ICE, jid("bob"))
	var login wire.AuthResult
	e.dial("alice-login").must(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: "password-alice"}, &login)
	ice.checkICE(t, login.ICE, jid("alice"))
	tab := e.tab(alice, "alice-tab")
	ice.checkICE(t, tab.auth.ICE, jid("alice"))

	// ice.refresh returns fresh credentials, expiring later.
	var fresh wire.ICEConfig
	alice.must(wire.TypeICERefresh, nil, &fresh)
	ice.checkICE(t, fresh, jid("alice"))
	if fresh.Expires <= alice.auth.ICE.Expires || fresh.Servers[0].Username == alice.auth.ICE.Servers[0].Username {
		t.Errorf("refresh expires %d, sign-in %d: want later, new credentials", fresh.Expires, alice.auth.ICE.Expires)
	}

	// A resumed session gets a configuration too.
	var res wire.AuthResult
	e.dial("bob-resumed").must(wire.TypeAuth, wire.AuthRequest{Token: bob.auth.Token, Resume: bob.auth.Session, LastSeq: bob.seq()}, &res)
	ice.checkICE(t, res.ICE, jid("bob"))

	// Not before sign-in; and nobody is minted credentials for it.
	ice.mu.Lock()
	calls := len(ice.jids)
	ice.mu.Unlock()
	anon := e.dial("anon")
	anon.fails(wire.TypeICERefresh, nil, wire.CodeUnauthorized, wire.ReasonUnauthorized)
	ice.mu.Lock()
	defer ice.mu.Unlock()
	if len(ice.jids) != calls {
		t.Errorf("credentials minted for an anonymous connection: %q", ice.jids[calls:])
	}
	for _, j := range ice.jids {
		if j != jid("alice") && j != jid("bob") {
			t.Errorf("credentials minted for %q", j)
		}
	}
}

// TestICEConfigFromTURNProvider: the TURN package's provider plugs into the
// hub as is.
func TestICEConfigFromTURNProvider(t *testing.T) {
	signer := turn.Signer{Secret: []byte("hub test secret, 32 bytes long..")}
	urls := turn.URLs("turn.example.com", 3478, 5349)
	p, err := turn.NewProvider(signer, urls, wire.ICEPolicyAll)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{ICE: p})
	carol := e.register("carol")
	cfg := carol.auth.ICE
	if cfg.Policy != wire.ICEPolicyAll || len(cfg.Servers) != 1 || !slices.Equal(cfg.Servers[0].URLs, urls) {
		t.Fatalf("ICE config %+v", cfg)
	}
	if jid, pass, err := signer.Verify(cfg.Servers[0].Username, time.Now()); err != nil || jid != "carol@localhost" || pass != cfg.Servers[0].Credential {
		t.Errorf("credentials for %q: %v", jid, err)
	}
	if exp := time.UnixMilli(cfg.Expires); exp.Before(time.Now().Add(turn.DefaultCredentialTTL - time.Minute)) {
		t.Errorf("expires %v", exp)
	}
}

// TestNoICEProvider: without a provider the configuration is empty.
func TestNoICEProvider(t *testing.T) {
	e := newEnv(t, Config{})
	dave := e.register("dave")
	if cfg := dave.auth.ICE; cfg.Servers != nil || cfg.Expires != 0 || cfg.Policy != "" {
		t.Errorf("ICE config without a provider: %+v", cfg)
	}
	var fresh wire.ICEConfig
	dave.must(wire.TypeICERefresh, nil, &fresh)
	if fresh.Servers != nil {
		t.Errorf("refresh without a provider: %+v", fresh)
	}
}
