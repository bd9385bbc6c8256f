// Package turntest runs Parley's TURN server (server/turn) inside a test on
// loopback, as the only path between two peers that use relayed candidates,
// and lets the test kill it and start it again on the same port: a network
// path that dies under a call and comes back, as when a phone moves from
// Wi-Fi to mobile data. The allocations die with the server, so media flows
// again only after the peers gather new candidates (an ICE restart).
package turntest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"parley/server/turn"
)

// Relay is a TURN server on 127.0.0.1 whose port stays the same across
// Kill and Start. Its methods are safe for concurrent use.
type Relay struct {
	t      testing.TB
	secret []byte

	mu   sync.Mutex
	addr string // "127.0.0.1:port" once first started
	srv  *turn.Server
}

// Start starts a relay on a loopback port the system picks, with a fresh
// secret; it is closed when the test ends.
func Start(t testing.TB) *Relay {
	t.Helper()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	r := &Relay{t: t, secret: []byte(hex.EncodeToString(b))}
	r.start("127.0.0.1:0")
	t.Cleanup(r.Kill)
	return r
}

// Secret is the shared secret of the relay's TURN REST credentials (32
// characters), as bin/parley's -turn-secret takes it.
func (r *Relay) Secret() string { return string(r.secret) }

// Addr is the relay's UDP address, "127.0.0.1:port".
func (r *Relay) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

// URL is the relay's TURN-over-UDP URL.
func (r *Relay) URL() string { return "turn:" + r.Addr() + "?transport=udp" }

// Provider hands out the relay's URL with credentials signed by its secret,
// with the ICE transport policy given (wire.ICEPolicyRelay forces media
// through it); it is a hub.ICEProvider.
func (r *Relay) Provider(policy string) *turn.Provider {
	r.t.Helper()
	return r.ProviderTTL(policy, 0)
}

// ProviderTTL is Provider with credentials that expire after ttl (the
// relay refuses them for new allocations after that).
func (r *Relay) ProviderTTL(policy string, ttl time.Duration) *turn.Provider {
	r.t.Helper()
	p, err := turn.NewProvider(turn.Signer{Secret: r.secret, TTL: ttl}, []string{r.URL()}, policy)
	if err != nil {
		r.t.Fatalf("turntest: provider: %v", err)
	}
	return p
}

// Running reports whether the relay is serving now.
func (r *Relay) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srv != nil
}

// Kill closes the relay: its allocations and the relayed paths through them
// die. It does nothing when the relay is not running.
func (r *Relay) Kill() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		if err := srv.Close(); err != nil {
			r.t.Errorf("turntest: close relay: %v", err)
		}
	}
}

// Restart starts a new relay on the same port, with no allocations. It
// fails the test if the port cannot be had again within 10 s.
func (r *Relay) Restart() {
	r.t.Helper()
	r.start(r.Addr())
}

func (r *Relay) start(addr string) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv, err := turn.New(turn.Config{
			Addr:   addr,
			Secret: r.secret,
			// Two peers on one machine relay to each other's relay
			// addresses on loopback: the server's own, which it allows.
			BandwidthPerAllocation: -1,
			Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			r.t.Fatalf("turntest: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Start(ctx)
		cancel()
		if err == nil {
			r.mu.Lock()
			r.srv, r.addr = srv, srv.Addr()
			r.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("turntest: start relay on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
