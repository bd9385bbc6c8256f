package e2e

import (
	"strings"
	"testing"
	"time"

	"parley/server/cluster/natstest"
	"parley/server/store/pgtest"
)

// waitLog waits until the server's log has a line containing text.
func (s *server) waitLog(t *testing.T, text string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(s.log.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log of %s within %v:\n%s", text, s.Addr, timeout, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

// TestClusterCallSurvivesLeaderKill runs three bin/parley instances on one
// PostgreSQL and one NATS. The first leads (runs the calls) and has no
// client; Alice's page is served by the second, Bob's phone by the third
// and Bob's desktop by the second. Alice's call rings both of Bob's tabs
// across instances, he answers on his phone, and the desktop stops ringing.
// Then the leader is killed (SIGKILL): another instance takes over from
// PostgreSQL, both pages resume their sessions through the instances they
// are on, the video keeps playing throughout, and the call goes on: a mute
// shows on the other side and hanging up ends it for both.
func TestClusterCallSurvivesLeaderKill(t *testing.T) {
	dsn := pgtest.Start(t).DSN(t)
	nats := natstest.Start(t)
	args := []string{"-database", dsn, "-nats", nats.URL()}
	first := startServerWith(t, serverOptions{Args: args})
	first.waitLog(t, "this instance runs the calls", 30*time.Second)
	second := startServerWith(t, serverOptions{Args: args})
	third := startServerWith(t, serverOptions{Args: args})

	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	bobDesk := newPWAUser(t, b, "bob", "Bob Marley", "desktop")
	alice.signUp(second.URL)
	bob.signUp(third.URL)
	bobDesk.signIn(second.URL)

	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-video")
	bob.wait(`document.querySelector('#answer-call')`, 15*time.Second)
	bobDesk.wait(`document.querySelector('#answer-call')`, 15*time.Second)
	click(t, bob.ctx, "#answer-call")
	bobDesk.wait(`!document.querySelector('#incoming-card')`, 15*time.Second)
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	bob.wait(`document.querySelector('.incall')`, 20*time.Second)
	alice.remoteVideoPlays()
	bob.remoteVideoPlays()

	killed := time.Now()
	first.halt(true)
	var next *server
	for next == nil {
		for _, s := range []*server{second, third} {
			if strings.Contains(s.log.String(), "this instance runs the calls") {
				next = s
			}
		}
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("no instance took over within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s leads %v after the leader was killed", next.Addr, time.Since(killed).Round(time.Millisecond))
	next.waitLog(t, "call restored", 10*time.Second)
	for _, u := range []*pwaUser{alice, bob} {
		u.framesKeepGrowing("while the cluster fails over")
	}
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`!!document.querySelector('.incall') && !document.querySelector('#server-reconnecting') && !document.querySelector('#shell-connection .banner')`, 30*time.Second)
	}
	t.Logf("both pages connected to the new leader %v after the kill", time.Since(killed).Round(time.Millisecond))
	bob.shot("k1-after-failover")

	click(t, alice.ctx, "#toggle-mic")
	bob.wait(`document.querySelector('[id^="remote-mic-muted-"]')`, 15*time.Second)
	bob.framesKeepGrowing("after the failover")
	click(t, bob.ctx, "#end-call")
	alice.wait(`document.querySelector('#call-ended')`, 15*time.Second)
}
