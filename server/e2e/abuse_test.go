package e2e

import (
	"strings"
	"testing"
)

// TestSDKAbuseLimits: the server's limits on what a client may create reach
// window.Parley as {statusCode: 429, message}: registrations from one
// address, rings of one callee, and live meet links of one account. A
// refused call rings nobody.
func TestSDKAbuseLimits(t *testing.T) {
	srv := startServerWith(t, serverOptions{Args: []string{
		"-register-burst", "2", "-pair-ring-burst", "1", "-max-meet-links-per-user", "1"}})
	b := newBrowser(t)
	alice, bob := newSeedUser(t, b, srv.URL), newSeedUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	env := alice.call(`Parley.register("carol", "correct horse battery", "Carol")`)
	if env.StatusCode != 429 || !strings.Contains(env.Message, "try again") {
		t.Fatalf("a third registration from one address: %+v, want 429 saying when to try again", env)
	}

	alice.ok(`Parley.makeVoiceCall(["bob@localhost"])`)
	bob.waitEvent("incomingCallListener", `a.userJid === "alice@localhost"`)
	alice.ok(`Parley.endCall()`)
	alice.waitEvent("callStatusListener", `a.status === "ended" && a.localUser`)
	alice.expect(429, `Parley.makeVoiceCall(["bob@localhost"])`)
	if n := eval[int](t, bob.ctx, `window.ev.filter((e) => e.name === "incomingCallListener").length`); n != 1 {
		t.Fatalf("bob was rung %d times, want once", n)
	}

	alice.ok(`Parley.createMeetLink("video")`)
	alice.expect(429, `Parley.createMeetLink("audio")`)
}
