package store

import (
	"context"
	"errors"
	"testing"
)

// testPushSubscriptions: one subscription per session, replaced on a new
// registration, gone with its session (logout, revoke, expiry) and by
// endpoint when its push service says it is gone.
func testPushSubscriptions(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s := openTest(t, newDB(t))
	u, err := s.Register(ctx, "alice", "password1", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	tok1, _ := s.NewSession(ctx, u.ID)
	tok2, _ := s.NewSession(ctx, u.ID)
	sub := func(ep string) PushSubscription {
		return PushSubscription{Endpoint: ep, P256dh: []byte{4, 1}, Auth: []byte{2}, VAPIDKey: "k1"}
	}
	if err := s.SavePushSubscription(ctx, "no-such-token", sub("https://x/0")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("save with an unknown token: %v, want ErrNotFound", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SavePushSubscription(ctx, tok1, sub("https://x/1")))
	must(s.SavePushSubscription(ctx, tok1, sub("https://x/1b"))) // the same device subscribes anew
	must(s.SavePushSubscription(ctx, tok2, sub("https://x/2")))
	endpoints := func() []string {
		t.Helper()
		subs, err := s.PushSubscriptions(ctx, u.ID)
		must(err)
		var eps []string
		for _, p := range subs {
			if p.UserID != u.ID || p.VAPIDKey != "k1" || len(p.P256dh) != 2 {
				t.Fatalf("subscription read back as %+v", p)
			}
			eps = append(eps, p.Endpoint)
		}
		return eps
	}
	if got := endpoints(); len(got) != 2 || got[0] != "https://x/1b" || got[1] != "https://x/2" {
		t.Fatalf("subscriptions %v, want [https://x/1b https://x/2]", got)
	}
	has, err := s.HasPushSubscriptions(ctx, "k1", u.ID, u.ID+100)
	must(err)
	if !has[u.ID] || has[u.ID+100] {
		t.Fatalf("HasPushSubscriptions = %v", has)
	}
	if has, _ := s.HasPushSubscriptions(ctx, "k2", u.ID); has[u.ID] {
		t.Fatal("a subscription made with another VAPID key counts")
	}

	must(s.DeletePushEndpoint(ctx, "https://x/2"))
	if got := endpoints(); len(got) != 1 || got[0] != "https://x/1b" {
		t.Fatalf("after the endpoint is gone: %v", got)
	}
	must(s.DeleteSession(ctx, tok1)) // sign-out
	if got := endpoints(); len(got) != 0 {
		t.Fatalf("after sign-out: %v", got)
	}
	must(s.SavePushSubscription(ctx, tok2, sub("https://x/3")))
	if ok, err := s.DeletePushSubscriptionOf(ctx, tok2); err != nil || !ok {
		t.Fatalf("DeletePushSubscriptionOf = %v, %v", ok, err)
	}
	if ok, _ := s.DeletePushSubscriptionOf(ctx, tok2); ok {
		t.Fatal("deleted a subscription twice")
	}
	must(s.SavePushSubscription(ctx, tok2, sub("https://x/4")))
	if _, err := s.DeleteOtherSessions(ctx, u.ID, "keep-nothing"); err != nil { // revoke
		t.Fatal(err)
	}
	if got := endpoints(); len(got) != 0 {
		t.Fatalf("after revocation: %v", got)
	}
}
