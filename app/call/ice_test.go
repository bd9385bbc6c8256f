//go:build !(js && wasm)

package call_test

import (
	"sync/atomic"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/hub"
)

// countingICE mints a new credential at each call, valid for ttl.
type countingICE struct {
	ttl    time.Duration
	policy string
	n      atomic.Int64
}

func (p *countingICE) ICEConfig(jid string) wire.ICEConfig {
	n := p.n.Add(1)
	return wire.ICEConfig{
		Servers: []wire.ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp"}, Username: jid, Credential: "c" + string(rune('0'+n%10))}},
		Policy:  p.policy,
		Expires: time.Now().Add(p.ttl).UnixMilli(),
	}
}

// The server's ICE servers reach the engine at sign-in, and the engine asks
// for fresh credentials before they expire.
func TestICEConfigArrivesAndRefreshes(t *testing.T) {
	ice := &countingICE{ttl: 1500 * time.Millisecond}
	srv := startServer(t, hub.Config{ICE: ice})
	a := register(t, srv, "alice")
	first := a.ICE()
	if len(first.Servers) != 1 || first.Servers[0].Username != a.jid || first.Expires == 0 {
		t.Fatalf("ICE after sign-in = %+v, want the provider's server for %s", first, a.jid)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.ICE().Expires == first.Expires {
		if time.Now().After(deadline) {
			t.Fatalf("credentials never refreshed: still %+v after %d mints", a.ICE(), ice.n.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := a.ICE(); got.Expires <= first.Expires {
		t.Fatalf("refreshed credentials expire at %d, not after the first ones' %d", got.Expires, first.Expires)
	}
}

// A page may ask for relay-only even when the server allows all; it cannot
// ask for anything else.
func TestICEPagePolicy(t *testing.T) {
	srv := startServer(t, hub.Config{ICE: &countingICE{ttl: time.Hour, policy: wire.ICEPolicyAll}})
	a := register(t, srv, "alice")
	if p := a.ICE().Policy; p != wire.ICEPolicyAll {
		t.Fatalf("policy = %q, want the server's %q", p, wire.ICEPolicyAll)
	}
	if err := a.SetICEPolicy(wire.ICEPolicyRelay); err != nil {
		t.Fatal(err)
	}
	if p := a.ICE().Policy; p != wire.ICEPolicyRelay {
		t.Fatalf("policy = %q after SetICEPolicy(relay)", p)
	}
	err := a.SetICEPolicy("nohost")
	isErrCode(t, err, wire.CodeBadRequest)
	if p := a.ICE().Policy; p != wire.ICEPolicyRelay {
		t.Fatalf("a refused policy changed it to %q", p)
	}
}
