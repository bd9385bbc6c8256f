package hub

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/push"
	"parley/server/push/pushtest"
)

// pushEnv is a hub with Web Push on, sending to a fake push service, and
// its HTTP decline endpoint.
type pushEnv struct {
	*env
	svc     *pushtest.Service
	keys    *push.Keys
	decline *httptest.Server
}

func newPushEnv(t *testing.T, cfg Config) *pushEnv {
	t.Helper()
	svc := pushtest.New()
	t.Cleanup(svc.Close)
	keys, err := push.LoadOrCreateKeys(filepath.Join(t.TempDir(), "vapid.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Push = push.New(push.Config{Keys: keys, Subject: "mailto:ops@example.com", AllowPrivate: true})
	cfg.PushAllowHTTP = true // the fake push service is plain HTTP on loopback
	e := newEnv(t, cfg)
	dec := httptest.NewServer(e.hub.PushDeclineHandler())
	t.Cleanup(dec.Close)
	return &pushEnv{env: e, svc: svc, keys: keys, decline: dec}
}

// subscribe registers a new device of the fake service for c's session.
func (pe *pushEnv) subscribe(t *testing.T, c *client, device string) *pushtest.Device {
	t.Helper()
	d, err := pe.svc.NewDevice(device)
	if err != nil {
		t.Fatal(err)
	}
	c.must(wire.TypePushRegister, subJSON(d), nil)
	return d
}

func subJSON(d *pushtest.Device) wire.PushSubscriptionJSON {
	var s wire.PushSubscriptionJSON
	s.Endpoint, s.Keys.P256dh, s.Keys.Auth = d.Endpoint, d.P256dh, d.Auth
	return s
}

// next is the next push message, checked to be a valid Web Push request,
// and its decrypted payload.
func (pe *pushEnv) next(t *testing.T) (pushtest.Message, wire.PushMessage) {
	t.Helper()
	m, err := pe.svc.Wait(waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if m.Err != nil {
		t.Fatalf("push request to %s: %v", m.Path, m.Err)
	}
	if m.Key != pe.keys.PublicKey() || m.Urgency != "high" || m.Encoding != "aes128gcm" {
		t.Fatalf("push request %+v", m)
	}
	var pm wire.PushMessage
	if err := json.Unmarshal(m.Plain, &pm); err != nil {
		t.Fatalf("push payload %q: %v", m.Plain, err)
	}
	return m, pm
}

// offline closes c's connection and waits until the hub sees its user with
// no open tab.
func (pe *pushEnv) offline(t *testing.T, c *client, name string) {
	t.Helper()
	c.ws.CloseNow()
	deadline := time.Now().Add(waitTimeout)
	for {
		pe.hub.mu.Lock()
		u := pe.hub.core.users[name]
		on := u != nil && u.online()
		pe.hub.mu.Unlock()
		if !on {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still online", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// postDecline calls the decline endpoint and returns the HTTP status and
// the decoded error, if any.
func (pe *pushEnv) postDecline(t *testing.T, token, body string) (int, wire.Error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, pe.decline.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e wire.Error
	if resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("decline answered %s without a JSON error: %v", resp.Status, err)
		}
	}
	return resp.StatusCode, e
}

// TestPushRing: a callee with no open tab but a push subscription shows as
// ringing and gets an encrypted, VAPID-signed ring push with the ring
// timeout as TTL; a second push follows when the ring stops (cancelled,
// missed, declined from the service worker over HTTP, answered on a tab
// opened meanwhile). A callee with an open tab gets no push.
func TestPushRing(t *testing.T) {
	pe := newPushEnv(t, Config{RingTimeout: 2 * time.Second, PairRingBurst: 10})
	alice := pe.register("alice")
	bob := pe.register("bob")
	token := bob.auth.Token

	var key wire.PushKey
	bob.must(wire.TypePushKey, nil, &key)
	if key.PublicKey != pe.keys.PublicKey() {
		t.Fatalf("push.key = %q, want %q", key.PublicKey, pe.keys.PublicKey())
	}
	pe.subscribe(t, bob, "bob")

	// Bob has a tab open: rung there, nothing pushed.
	c0 := create(t, alice, wire.TypeVideo, jid("bob"))
	bob.callEvent(wire.EventIncoming)
	bob.must(wire.TypeCallDecline, room(c0), nil)
	alice.update(stateIs(wire.CallStateEnded))

	pe.offline(t, bob, "bob")

	// 1. Rung by push; the caller cancels.
	c1 := create(t, alice, wire.TypeVideo, jid("bob"))
	if st := statusOf(c1, jid("bob")); st != wire.StatusRinging {
		t.Fatalf("callee with a push subscription and no tab is %q, want ringing", st)
	}
	m, pm := pe.next(t) // the first push: so none was sent for c0
	if pm.Type != wire.PushRing || pm.RoomID != c1.RoomID || pm.CallType != wire.TypeVideo ||
		pm.From != jid("alice") || pm.Title != "alice is calling (video)" || m.TTL != 2 || m.Topic == "" {
		t.Fatalf("ring push %+v, request %+v", pm, m)
	}
	alice.must(wire.TypeCallEnd, room(c1), nil)
	if _, pm = pe.next(t); pm.Type != wire.PushStop || pm.RoomID != c1.RoomID || pm.Reason != wire.PushReasonCancelled || pm.Title != "" {
		t.Fatalf("stop push after the caller gave up: %+v", pm)
	}

	// 2. Nobody answers: a missed-call push.
	c2 := create(t, alice, wire.TypeAudio, jid("bob"))
	if _, pm = pe.next(t); pm.Type != wire.PushRing || pm.Title != "alice is calling (voice)" {
		t.Fatalf("ring push %+v", pm)
	}
	alice.update(statusIs("bob", wire.StatusNoAnswer))
	if _, pm = pe.next(t); pm.Type != wire.PushStop || pm.RoomID != c2.RoomID || pm.Reason != wire.PushReasonMissed ||
		pm.Title != "Missed call from alice" {
		t.Fatalf("stop push after the ring timed out: %+v", pm)
	}

	// 3. Declined from the notification, over HTTP with the session token.
	c3 := create(t, alice, wire.TypeVideo, jid("bob"))
	pe.next(t)
	for _, bad := range []struct {
		token, body string
		status      int
	}{
		{"", `{"roomId":"` + c3.RoomID + `"}`, 401},
		{"not-a-token", `{"roomId":"` + c3.RoomID + `"}`, 401},
		{token, `{"roomId":`, 400},
		{token, `{"roomId":""}`, 400},
		{token, `{"roomId":"no-such-room"}`, 404},
	} {
		if status, e := pe.postDecline(t, bad.token, bad.body); status != bad.status || e.Code != bad.status || e.Message == "" {
			t.Errorf("decline with token %q body %s: %d %+v, want %d", bad.token, bad.body, status, e, bad.status)
		}
	}
	// A user with no part in the call cannot decline it.
	carol := pe.register("carol")
	if status, e := pe.postDecline(t, carol.auth.Token, `{"roomId":"`+c3.RoomID+`"}`); status != 404 || e.Reason != wire.ReasonNotFound {
		t.Errorf("a stranger declining: %d %+v", status, e)
	}
	alice.settle()
	if st := statusOf(c3, jid("bob")); st != wire.StatusRinging {
		t.Fatalf("status %q before the decline", st)
	}
	if status, e := pe.postDecline(t, token, `{"roomId":"`+c3.RoomID+`"}`); status != http.StatusNoContent {
		t.Fatalf("decline: %d %+v", status, e)
	}
	alice.update(statusIs("bob", wire.StatusDeclined))
	if _, pm = pe.next(t); pm.Type != wire.PushStop || pm.Reason != wire.PushReasonDeclined {
		t.Fatalf("stop push after the decline: %+v", pm)
	}
	if status, _ := pe.postDecline(t, token, `{"roomId":"`+c3.RoomID+`"}`); status == http.StatusNoContent {
		t.Fatal("declined an ended call again")
	}

	// 4. The notification opens the app, which answers on its new tab.
	c4 := create(t, alice, wire.TypeVideo, jid("bob"))
	pe.next(t)
	bob2 := pe.tab(&client{auth: wire.AuthResult{Token: token}}, "bob")
	answer(t, bob2, c4)
	if _, pm = pe.next(t); pm.Type != wire.PushStop || pm.Reason != wire.PushReasonAnswered || pm.RoomID != c4.RoomID {
		t.Fatalf("stop push after the answer: %+v", pm)
	}
}

// TestPushSubscriptionLifecycle: bad subscriptions are refused with a typed
// error and save nothing; a 410 from the push service forgets the device;
// unregister and sign-out remove it; with push off, push.key is 404.
func TestPushSubscriptionLifecycle(t *testing.T) {
	pe := newPushEnv(t, Config{})
	ctx := context.Background()
	alice := pe.register("alice")
	bob := pe.register("bob")
	d, err := pe.svc.NewDevice("bob")
	if err != nil {
		t.Fatal(err)
	}
	good := subJSON(d)
	bad := func(mut func(*wire.PushSubscriptionJSON)) wire.PushSubscriptionJSON {
		s := good
		mut(&s)
		return s
	}
	for name, s := range map[string]wire.PushSubscriptionJSON{
		"no endpoint":   bad(func(s *wire.PushSubscriptionJSON) { s.Endpoint = "" }),
		"ftp endpoint":  bad(func(s *wire.PushSubscriptionJSON) { s.Endpoint = "ftp://x/y" }),
		"long endpoint": bad(func(s *wire.PushSubscriptionJSON) { s.Endpoint = "https://x/" + strings.Repeat("a", 2000) }),
		"short p256dh":  bad(func(s *wire.PushSubscriptionJSON) { s.Keys.P256dh = "BAAA" }),
		"p256dh off-curve": bad(func(s *wire.PushSubscriptionJSON) {
			s.Keys.P256dh = "BA" + strings.Repeat("A", 85)
		}),
		"bad auth": bad(func(s *wire.PushSubscriptionJSON) { s.Keys.Auth = "!!" }),
	} {
		bob.fails(wire.TypePushRegister, s, wire.CodeBadRequest, wire.ReasonBadRequest)
		if subs, _ := pe.st.PushSubscriptions(ctx, bobID(t, pe)); len(subs) != 0 {
			t.Fatalf("%s: saved %v", name, subs)
		}
	}
	bob.must(wire.TypePushRegister, good, nil)
	guest := pe.dial("guest")
	guest.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "G"}, &guest.auth)
	guest.fails(wire.TypePushRegister, good, wire.CodeForbidden, wire.ReasonForbidden)

	// The push service says the subscription is gone: forgotten.
	pe.offline(t, bob, "bob")
	pe.svc.SetStatus("bob", http.StatusGone)
	c := create(t, alice, wire.TypeVideo, jid("bob"))
	pe.next(t)
	uid := bobID(t, pe)
	waitFor(t, "the gone subscription to be forgotten", func() bool {
		subs, err := pe.st.PushSubscriptions(ctx, uid)
		return err == nil && len(subs) == 0
	})
	alice.must(wire.TypeCallEnd, room(c), nil)

	// Unregister, then sign-out, remove the session's subscription.
	bob2 := pe.tab(&client{auth: wire.AuthResult{Token: bob.auth.Token}}, "bob")
	d2, _ := pe.svc.NewDevice("bob2")
	bob2.must(wire.TypePushRegister, subJSON(d2), nil)
	var un wire.PushUnregisterResult
	bob2.must(wire.TypePushUnregister, nil, &un)
	if !un.Removed {
		t.Fatal("push.unregister removed nothing")
	}
	bob2.must(wire.TypePushRegister, subJSON(d2), nil)
	bob2.must(wire.TypeLogout, nil, nil)
	if subs, _ := pe.st.PushSubscriptions(ctx, uid); len(subs) != 0 {
		t.Fatalf("after sign-out: %v", subs)
	}

	// Push off: push.key and push.register are 404.
	off := newEnv(t, Config{})
	carol := off.register("carol")
	carol.fails(wire.TypePushKey, nil, wire.CodeNotFound, wire.ReasonNotFound)
	carol.fails(wire.TypePushRegister, good, wire.CodeNotFound, wire.ReasonNotFound)
}

func bobID(t *testing.T, pe *pushEnv) int64 {
	t.Helper()
	u, err := pe.st.UserByUsername(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestPushWhenHidden: with PushWhenHidden, a callee whose open tabs all
// reported their page hidden is rung on the tabs and by push; once a tab is
// visible again, only on the tabs. Without it, hidden tabs get no push.
func TestPushWhenHidden(t *testing.T) {
	for _, when := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[when], func(t *testing.T) {
			pe := newPushEnv(t, Config{PushWhenHidden: when, PairRingBurst: 10})
			alice := pe.register("alice")
			bob := pe.register("bob")
			pe.subscribe(t, bob, "bob")
			bob.must(wire.TypeTabVisibility, wire.TabVisibilityRequest{Hidden: true}, nil)
			c1 := create(t, alice, wire.TypeVideo, jid("bob"))
			bob.callEvent(wire.EventIncoming) // the hidden tab still rings
			alice.must(wire.TypeCallEnd, room(c1), nil)
			bob.must(wire.TypeTabVisibility, wire.TabVisibilityRequest{Hidden: false}, nil)
			c2 := create(t, alice, wire.TypeVideo, jid("bob"))
			alice.must(wire.TypeCallEnd, room(c2), nil)
			// A sync point: with no tab at all, bob is rung by push.
			pe.offline(t, bob, "bob")
			c3 := create(t, alice, wire.TypeVideo, jid("bob"))
			_, pm := pe.next(t)
			if when {
				if pm.Type != wire.PushRing || pm.RoomID != c1.RoomID {
					t.Fatalf("first push %+v, want the ring of the call to the hidden tab", pm)
				}
				if _, pm = pe.next(t); pm.Type != wire.PushStop || pm.RoomID != c1.RoomID {
					t.Fatalf("second push %+v, want its stop", pm)
				}
				_, pm = pe.next(t) // nothing for c2, whose tab was visible
			}
			if pm.Type != wire.PushRing || pm.RoomID != c3.RoomID {
				t.Fatalf("push %+v, want the ring of the call with no tab open", pm)
			}
		})
	}
}

// TestPushInvite: a user invited into a call while no tab of theirs is open
// is rung by push and shows as ringing to the members.
func TestPushInvite(t *testing.T) {
	pe := newPushEnv(t, Config{})
	alice := pe.register("alice")
	carol := pe.register("carol")
	bob := pe.register("bob")
	pe.subscribe(t, bob, "bob")
	pe.offline(t, bob, "bob")
	c := create(t, alice, wire.TypeAudio, jid("carol"))
	carol.callEvent(wire.EventIncoming)
	answer(t, carol, c)
	alice.must(wire.TypeCallInvite, wire.InviteRequest{RoomID: c.RoomID, To: []string{jid("bob")}}, nil)
	alice.update(statusIs("bob", wire.StatusRinging))
	if _, pm := pe.next(t); pm.Type != wire.PushRing || pm.RoomID != c.RoomID || pm.Title != "alice is calling (voice)" {
		t.Fatalf("ring push for the invite: %+v", pm)
	}
}

// TestPushWhenTheLastTabGoes: a call that rings while the callee's tabs go
// away is then rung by push, with the ring's time left as TTL: not when one
// of two tabs closes, but when the last does (a closed app, or a phone whose
// network went), or, with PushWhenHidden, when the last visible one hides.
// The stop push follows when the ring ends.
func TestPushWhenTheLastTabGoes(t *testing.T) {
	pe := newPushEnv(t, Config{RingTimeout: 20 * time.Second, PushWhenHidden: true, PairRingBurst: 10})
	alice := pe.register("alice")
	bob := pe.register("bob")
	second := pe.tab(bob, "bob")
	pe.subscribe(t, bob, "bob")

	c1 := create(t, alice, wire.TypeVideo, jid("bob"))
	bob.callEvent(wire.EventIncoming)
	second.callEvent(wire.EventIncoming)
	// One tab closes: the other still rings, nothing is pushed (the next
	// push is c1's ring only once the second tab has gone too).
	bob.ws.CloseNow()
	waitFor(t, "the first tab dropped", func() bool {
		pe.hub.mu.Lock()
		defer pe.hub.mu.Unlock()
		n := 0
		for _, tb := range pe.hub.core.users["bob"].tabs {
			if tb.online {
				n++
			}
		}
		return n == 1
	})
	second.ws.CloseNow()
	m, pm := pe.next(t)
	if pm.Type != wire.PushRing || pm.RoomID != c1.RoomID || pm.Title != "alice is calling (video)" {
		t.Fatalf("push after the last tab closed: %+v, want c1's ring", pm)
	}
	if m.TTL <= 0 || m.TTL > 20 {
		t.Errorf("ring push TTL %d s, want the ring's time left (at most 20 s)", m.TTL)
	}
	// The caller still sees bob ringing, and hanging up stops the push.
	pe.hub.mu.Lock()
	st := statusOf(pe.hub.core.calls[c1.RoomID].snapshot(), jid("bob"))
	pe.hub.mu.Unlock()
	if st != wire.StatusRinging {
		t.Errorf("bob is %q in the call, want ringing", st)
	}
	alice.must(wire.TypeCallEnd, room(c1), nil)
	if _, pm = pe.next(t); pm.Type != wire.PushStop || pm.RoomID != c1.RoomID || pm.Reason != wire.PushReasonCancelled {
		t.Fatalf("push after the caller hung up: %+v, want c1's stop (cancelled)", pm)
	}

	// A visible tab that hides while it rings: rung by push too.
	back := pe.tab(bob, "bob")
	c2 := create(t, alice, wire.TypeAudio, jid("bob"))
	back.callEvent(wire.EventIncoming)
	back.must(wire.TypeTabVisibility, wire.TabVisibilityRequest{Hidden: true}, nil)
	if _, pm = pe.next(t); pm.Type != wire.PushRing || pm.RoomID != c2.RoomID {
		t.Fatalf("push after the tab hid: %+v, want c2's ring", pm)
	}
	// Answered on that tab: the push is withdrawn.
	back.must(wire.TypeCallAnswer, room(c2), nil)
	if _, pm = pe.next(t); pm.Type != wire.PushStop || pm.RoomID != c2.RoomID || pm.Reason != wire.PushReasonAnswered {
		t.Fatalf("push after answering: %+v, want c2's stop (answered)", pm)
	}
}
