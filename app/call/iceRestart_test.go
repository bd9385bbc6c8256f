//go:build !(js && wasm)

package call_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/app/call"
	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
	"parley/server/turn/turntest"
)

// offerLog records the ICE credentials (a=ice-ufrag) of every offer one
// engine receives: an offer with new ones is an ICE restart.
type offerLog struct {
	mu     sync.Mutex
	ufrags []string
}

func watchOffers(e *call.Engine) *offerLog {
	l := &offerLog{}
	call.SetSignalHook(e, func(_ string, p wire.Payload) {
		if p.SDP == nil || p.SDP.Type != "offer" {
			return
		}
		l.mu.Lock()
		l.ufrags = append(l.ufrags, iceUfrag(p.SDP.SDP))
		l.mu.Unlock()
	})
	return l
}

// restarts counts the offers whose ICE credentials differ from the offer
// before them.
func (l *offerLog) restarts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i := 1; i < len(l.ufrags); i++ {
		if l.ufrags[i] != l.ufrags[i-1] {
			n++
		}
	}
	return n
}

func iceUfrag(sdp string) string {
	for line := range strings.SplitSeq(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// waitSince waits for the first event after mark for which match is true
// and returns the index just past it.
func waitSince[T any](t *testing.T, r *recorder, mark int, what string, match func(T) bool) int {
	t.Helper()
	_, next := waitAt(t, r, mark, what, match)
	return next
}

// statusSince waits for c to report jid's status after mark and returns the
// index just past that event.
func (c *client) statusSince(t *testing.T, mark int, jid, status string) int {
	t.Helper()
	return waitSince(t, c.rec, mark, c.name+" sees "+jid+" "+status, func(v event.CallStatus) bool {
		return v.UserJID == jid && v.Status == status
	})
}

// TestICERestartAfterPathDies puts a video call through a TURN relay only
// (the server's policy is relay), then kills the relay: every relayed path
// dies with its allocations, as when a phone leaves its Wi-Fi. Each side
// sees the other reconnecting. The relay stays down through the first
// restart offer, which therefore cannot help, and comes back on the same
// port before the second: the engines keep restarting with backoff until
// one restart gathers candidates on the new relay, media flows again both
// ways and both sides see the other connected.
func TestICERestartAfterPathDies(t *testing.T) {
	relay := turntest.Start(t)
	srv := startServer(t, hub.Config{ICE: relay.Provider(wire.ICEPolicyRelay)})
	a := register(t, srv, "alice") // alice < bob: alice makes the offers
	b := register(t, srv, "bob")
	offers := watchOffers(b.Engine)
	connectCall(t, a, b, true)
	a.waitPackets(t, b.jid, rtc.KindVideo, 20)
	b.waitPackets(t, a.jid, rtc.KindVideo, 20)
	if n := offers.restarts(); n != 0 {
		t.Fatalf("%d ICE restarts before the path died", n)
	}

	markA, markB := a.rec.mark(), b.rec.mark()
	relay.Kill()
	markA = a.statusSince(t, markA, b.jid, wire.StatusReconnecting)
	markB = b.statusSince(t, markB, a.jid, wire.StatusReconnecting)

	// The first restart goes nowhere: there is no relay to gather on.
	// Wait for the second (after the backoff) before bringing it back.
	waitFor(t, "a second ICE restart offer while the relay is down", func() bool { return offers.restarts() >= 2 })
	relay.Restart()

	a.statusSince(t, markA, b.jid, wire.StatusConnected)
	b.statusSince(t, markB, a.jid, wire.StatusConnected)
	a.waitPackets(t, b.jid, rtc.KindVideo, 20)
	b.waitPackets(t, a.jid, rtc.KindVideo, 20)
	a.waitPackets(t, b.jid, rtc.KindAudio, 20)
	b.waitPackets(t, a.jid, rtc.KindAudio, 20)
	t.Logf("recovered after %d ICE restart offers", offers.restarts())
}

// TestICERestartGathersWithFreshCredentials: the TURN credentials a call's
// peer connections were made with have expired (the engine has fresh ones
// from ice.refresh) when the relay dies. The restart must gather with the
// fresh ones, or the new relay refuses the allocations and the call stays
// silent.
func TestICERestartGathersWithFreshCredentials(t *testing.T) {
	relay := turntest.Start(t)
	// Credentials that expire during the call, but not before it connects:
	// with 3 s a starved CI machine connected too late, and the relay
	// refused the first allocations (CI11).
	srv := startServer(t, hub.Config{ICE: relay.ProviderTTL(wire.ICEPolicyRelay, 10*time.Second)})
	a := register(t, srv, "alice")
	b := register(t, srv, "bob")
	connectCall(t, a, b, true)
	a.waitPackets(t, b.jid, rtc.KindVideo, 20)
	b.waitPackets(t, a.jid, rtc.KindVideo, 20)
	// TURN REST usernames carry their expiry in whole seconds: wait until
	// the credentials of both peers' allocations are past it.
	made := max(a.ICE().Expires, b.ICE().Expires)
	waitFor(t, "the call's first credentials to expire", func() bool { return time.Now().UnixMilli() > made+1500 })

	markA, markB := a.rec.mark(), b.rec.mark()
	relay.Kill()
	relay.Restart()
	start := time.Now()
	markA = a.statusSince(t, markA, b.jid, wire.StatusReconnecting)
	markB = b.statusSince(t, markB, a.jid, wire.StatusReconnecting)
	a.statusSince(t, markA, b.jid, wire.StatusConnected)
	b.statusSince(t, markB, a.jid, wire.StatusConnected)
	t.Logf("connected again %v after the relay died", time.Since(start).Round(time.Millisecond))
	a.waitPackets(t, b.jid, rtc.KindVideo, 20)
	b.waitPackets(t, a.jid, rtc.KindVideo, 20)
}

// TestICERestartAskedByAnswerer: the offerer of the pair (alice) does not
// restart on its own; the answerer's requests ({"restart": true}) alone
// bring the call back after the relay dies.
func TestICERestartAskedByAnswerer(t *testing.T) {
	relay := turntest.Start(t)
	srv := startServer(t, hub.Config{ICE: relay.Provider(wire.ICEPolicyRelay)})
	a := register(t, srv, "alice")
	b := register(t, srv, "bob")
	call.DisableICERestart(a.Engine)
	var asked atomic.Int64
	call.SetSignalHook(a.Engine, func(_ string, p wire.Payload) {
		if p.Restart {
			asked.Add(1)
		}
	})
	offers := watchOffers(b.Engine)
	connectCall(t, a, b, true)
	a.waitPackets(t, b.jid, rtc.KindVideo, 20)

	markA, markB := a.rec.mark(), b.rec.mark()
	relay.Kill()
	relay.Restart()
	markA = a.statusSince(t, markA, b.jid, wire.StatusReconnecting)
	markB = b.statusSince(t, markB, a.jid, wire.StatusReconnecting)
	a.statusSince(t, markA, b.jid, wire.StatusConnected)
	b.statusSince(t, markB, a.jid, wire.StatusConnected)
	a.waitPackets(t, b.jid, rtc.KindVideo, 20)
	b.waitPackets(t, a.jid, rtc.KindVideo, 20)
	if asked.Load() == 0 || offers.restarts() == 0 {
		t.Fatalf("bob asked %d times and alice made %d restart offers; want both", asked.Load(), offers.restarts())
	}
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
