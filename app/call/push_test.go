//go:build !(js && wasm)

package call_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/hub"
	"parley/server/push"
	"parley/server/push/pushtest"
)

// TestEnginePush: the engine's push methods against the real server: the
// key, a registration that makes a call to the closed app push (and show
// ringing to the caller), visibility reports, and removal; bad
// subscriptions are refused before or by the server.
func TestEnginePush(t *testing.T) {
	svc := pushtest.New()
	defer svc.Close()
	keys, err := push.LoadOrCreateKeys(filepath.Join(t.TempDir(), "vapid.pem"))
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, hub.Config{Push: push.New(push.Config{Keys: keys, AllowPrivate: true}), PushAllowHTTP: true})
	alice := register(t, srv, "alice")
	bob := register(t, srv, "bob")
	c := context.Background()

	key, err := bob.PushPublicKey(c)
	if err != nil || key != keys.PublicKey() {
		t.Fatalf("PushPublicKey = %q, %v", key, err)
	}
	if err := bob.RegisterPush(c, wire.PushSubscriptionJSON{}); err == nil {
		t.Fatal("registered an empty subscription")
	}
	d, err := svc.NewDevice("bob")
	if err != nil {
		t.Fatal(err)
	}
	var sub wire.PushSubscriptionJSON
	sub.Endpoint, sub.Keys.P256dh, sub.Keys.Auth = d.Endpoint, d.P256dh, "short"
	if err := bob.RegisterPush(c, sub); err == nil {
		t.Fatal("the server took a bad auth secret")
	}
	sub.Keys.Auth = d.Auth
	if err := bob.RegisterPush(c, sub); err != nil {
		t.Fatal(err)
	}
	if s := bob.PushSession(); s["type"] != "parley.push.session" || s["token"] != bob.Token() || s["server"] != srv.URL {
		t.Fatalf("PushSession = %v", s)
	}
	if err := bob.ReportVisibility(c, true); err != nil {
		t.Fatal(err)
	}
	bob.Close() // the app closes
	// A ring reaches a tab the server still holds (one that closes as the
	// call comes in is rung there, not by push): wait until the server has
	// seen bob's socket go, leaving alice's.
	for deadline := time.Now().Add(10 * time.Second); srv.Hub.Stats().Connections > 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server still holds %d connections 10 s after bob's app closed", srv.Hub.Stats().Connections)
		}
	}

	if _, err := alice.MakeVoiceCall(c, []string{"bob"}, ""); err != nil {
		t.Fatal(err)
	}
	alice.waitStatus(t, bob.jid, wire.StatusRinging)
	m, err := svc.Wait(10 * time.Second)
	if err != nil || m.Err != nil {
		t.Fatalf("push: %v %v", err, m.Err)
	}
	if err := alice.EndCall(c); err != nil {
		t.Fatal(err)
	}

	bob2 := login(t, srv, "bob", nil)
	if removed, err := bob2.UnregisterPush(c); err != nil || removed {
		t.Fatalf("UnregisterPush on a session without one = %v, %v", removed, err)
	}
}
