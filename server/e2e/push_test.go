package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"parley/app/wire"
	"parley/server/push/pushtest"
)

// swRegistration enables the ServiceWorker domain on the user's tab and
// returns the registration ID of the worker whose scope is origin + "/".
func swRegistration(t *testing.T, ctx context.Context, origin string) serviceworker.RegistrationID {
	t.Helper()
	var (
		mu  sync.Mutex
		reg serviceworker.RegistrationID
	)
	chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range e.Registrations {
				if r.ScopeURL == origin+"/" && !r.IsDeleted {
					mu.Lock()
					reg = r.RegistrationID
					mu.Unlock()
				}
			}
		}
	})
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, serviceworker.Enable, cdp.Empty{})
	}); err != nil {
		t.Fatalf("ServiceWorker.enable: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		r := reg
		mu.Unlock()
		if r != "" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatal("no ServiceWorker.workerRegistrationUpdated for the app's scope")
		}
	}
}

// deliverPush hands a decrypted push payload to the service worker, as the
// browser does when its push service delivers a message.
func deliverPush(t *testing.T, ctx context.Context, origin string, reg serviceworker.RegistrationID, data []byte) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, serviceworker.DeliverPushMessage,
			serviceworker.DeliverPushMessageParams{Origin: origin, RegistrationID: reg, Data: string(data)})
	}); err != nil {
		t.Fatalf("ServiceWorker.deliverPushMessage: %v", err)
	}
}

// pushRig starts a fake push service, a server that may post to it (with
// ringTimeout and the extra flags), a browser, and Alice's and Bob's PWA
// pages in it: the cast of the Web Push tests. The service stops with the
// test.
func pushRig(t *testing.T, ringTimeout time.Duration, flags ...string) (*pushtest.Service, *server, *browser, *pwaUser, *pwaUser) {
	t.Helper()
	svc := pushtest.New()
	t.Cleanup(svc.Close)
	srv := startServerWith(t, serverOptions{RingTimeout: ringTimeout, Args: append([]string{"-push-allow-http"}, flags...)})
	b := newBrowser(t)
	return svc, srv, b, newPWAUser(t, b, "alice", "Alice Liddell", "desktop"), newPWAUser(t, b, "bob", "Bob Marley", "phone")
}

// pushShows delivers a push payload to the user's service worker until
// its notifications (notificationsExpr) satisfy cond (a JS predicate over
// their JSON text s). A push the browser accepted but whose event never
// ran (a worker starting on a loaded machine) is delivered again, at most
// three times in all; a payload that shows the wrong thing fails after the
// last. The worker keys its notifications by call, so a repeat replaces.
func pushShows(t *testing.T, ctx context.Context, origin string, reg serviceworker.RegistrationID, data []byte, cond string) {
	t.Helper()
	expr := "(async () => !!(await (" + notificationsExpr + ".then((s) => " + cond + "))))()"
	for try := 1; ; try++ {
		deliverPush(t, ctx, origin, reg, data)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if ok, err := evalErr[bool](ctx, expr); err == nil && ok {
				return
			}
		}
		if try == 3 {
			t.Fatalf("after 3 deliveries of %s the notifications are %s, want %s", data, eval[string](t, ctx, notificationsExpr), cond)
		}
		t.Logf("push %d not shown after 10 s; delivering it again", try)
	}
}

// nextPush waits for the server's next push at the fake push service,
// checks it is a valid Web Push request (VAPID, TTL, urgency, encryption)
// and returns its decrypted payload.
func nextPush(t *testing.T, svc *pushtest.Service, typ string) (wire.PushMessage, []byte) {
	t.Helper()
	return nextPushTTL(t, svc, typ, 60)
}

// nextPushTTL is nextPush for a server whose ring timeout is ttl seconds.
func nextPushTTL(t *testing.T, svc *pushtest.Service, typ string, ttl int) (wire.PushMessage, []byte) {
	t.Helper()
	m, err := svc.Wait(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Err != nil {
		t.Fatalf("push request: %v", m.Err)
	}
	var pm wire.PushMessage
	if err := json.Unmarshal(m.Plain, &pm); err != nil || pm.Type != typ || m.Urgency != "high" || m.TTL != ttl {
		t.Fatalf("push %s (TTL %d, urgency %q): %v; want a %s", m.Plain, m.TTL, m.Urgency, err, typ)
	}
	return pm, m.Plain
}

// workerAct asks the service worker to act on a call's notification as a
// click on its action would (a real click on a notification cannot be made
// headless; the click handler and this message run the same function).
func workerAct(t *testing.T, ctx context.Context, roomID, action string) {
	t.Helper()
	res := eval[string](t, ctx, fmt.Sprintf(`new Promise((resolve) => {
  const ch = new MessageChannel();
  ch.port1.onmessage = (e) => resolve(JSON.stringify(e.data));
  navigator.serviceWorker.ready.then((r) => r.active.postMessage({type: "parley.push.action", roomId: %q, action: %q}, [ch.port2]));
})`, roomID, action))
	if res != `{"ok":true}` {
		t.Fatalf("the worker's %s: %s", action, res)
	}
}

// notificationsExpr lists the service worker's notifications as JSON.
const notificationsExpr = `navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => JSON.stringify(ns.map((n) => ({
  title: n.title, body: n.body, tag: n.tag, requireInteraction: n.requireInteraction, actions: n.actions.map((a) => a.action + ":" + a.title)}))))`

type shownNotification struct {
	Title              string   `json:"title"`
	Body               string   `json:"body"`
	Tag                string   `json:"tag"`
	RequireInteraction bool     `json:"requireInteraction"`
	Actions            []string `json:"actions"`
}

// TestPushRingsClosedApp: Bob's app is closed (no tab signed in) but his
// device registered for push through the SDK; Alice calls him. The server
// shows him ringing and pushes to the (fake, loopback) push service; the
// push reaches his real service worker, which shows "Alice Liddell is
// calling (video)" with Answer and Decline until acted on. Decline declines
// over HTTP without a window; cancelling closes the notification; Answer
// opens the app, which signs in and answers: the call connects.
func TestPushRingsClosedApp(t *testing.T) {
	svc, srv, _, alice, bob := pushRig(t, 60*time.Second, "-pair-ring-burst", "10")
	alice.signUp(srv.URL)
	reg := closeAppWithPush(t, bob, srv, svc)

	call := func() {
		t.Helper()
		clearText(t, alice.ctx, "#dial-to")
		typeText(t, alice.ctx, "#dial-to", "bob")
		click(t, alice.ctx, "#call-video")
	}
	showRing := func() wire.PushMessage {
		t.Helper()
		pm, plain := nextPush(t, svc, wire.PushRing)
		pushShows(t, bob.ctx, srv.URL, reg, plain, `JSON.parse(s).length === 1`)
		var shown []shownNotification
		if err := json.Unmarshal([]byte(eval[string](t, bob.ctx, notificationsExpr)), &shown); err != nil {
			t.Fatal(err)
		}
		n := shown[0]
		if n.Title != "Alice Liddell is calling (video)" || !n.RequireInteraction || n.Tag != "parley-call-"+pm.RoomID ||
			strings.Join(n.Actions, ",") != "answer:Answer,decline:Decline" {
			t.Fatalf("notification %+v", n)
		}
		return pm
	}

	// 1. Decline from the notification: no window opens; Alice sees it.
	call()
	alice.wait(`document.body.innerText.includes("Ringing")`, 15*time.Second)
	pm := showRing()
	alice.shot("p01-ringing-by-push")
	workerAct(t, bob.ctx, pm.RoomID, "decline")
	alice.wait(`document.querySelector('#call-ended') && document.body.innerText.includes('declined')`, 15*time.Second)
	if stop, _ := nextPush(t, svc, wire.PushStop); stop.Reason != wire.PushReasonDeclined || stop.RoomID != pm.RoomID {
		t.Fatalf("stop push after decline: %+v", stop)
	}
	if n := eval[string](t, bob.ctx, notificationsExpr); n != "[]" {
		t.Fatalf("notifications after decline: %s", n)
	}
	if u := eval[string](t, bob.ctx, `location.pathname`); u != "/web/sdk.html" {
		t.Fatalf("declining opened %s", u)
	}
	alice.wait(`document.querySelector('#dial-to')`, 15*time.Second)

	// 2. Alice gives up: the stop push closes the notification.
	call()
	pm = showRing()
	click(t, alice.ctx, "#cancel-call")
	stop, plain := nextPush(t, svc, wire.PushStop)
	if stop.Reason != wire.PushReasonCancelled || stop.RoomID != pm.RoomID {
		t.Fatalf("stop push after cancel: %+v", stop)
	}
	pushShows(t, bob.ctx, srv.URL, reg, plain, `s === "[]"`)
	alice.wait(`document.querySelector('#dial-to')`, 20*time.Second)

	// 3. Answer: the worker opens the app at /?answer=<room>; Bob signs in
	// and the app answers that call; it connects.
	call()
	pm = showRing()
	// The worker navigates this page away: no reply to wait for.
	eval[bool](t, bob.ctx, fmt.Sprintf(`navigator.serviceWorker.ready.then((r) => {
  r.active.postMessage({type: "parley.push.action", roomId: %q, action: "answer"});
  return true;
})`, pm.RoomID))
	bob.wait(`location.search === '?answer=`+pm.RoomID+`'`, 15*time.Second)
	bob.wait(`document.querySelector('#auth-form')`, 60*time.Second)
	typeText(t, bob.ctx, "#username", "bob")
	typeText(t, bob.ctx, "#password", "correct horse battery")
	click(t, bob.ctx, "#auth-submit")
	bob.wait(`document.querySelector('.incall')`, 60*time.Second)
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	alice.remoteVideoPlays()
	bob.remoteVideoPlays()
	bob.shot("p02-answered-from-push")
	if stop, _ := nextPush(t, svc, wire.PushStop); stop.Reason != wire.PushReasonAnswered {
		t.Fatalf("stop push after answer: %+v", stop)
	}
}

// TestPushSetting: Settings offers to ring this device while Parley is
// closed; with notifications allowed, a click subscribes through the real
// service worker. Here the browser's push service is out of reach, so the
// subscription fails: the screen says so and nothing is registered.
func TestPushSetting(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	setPermission(t, bob.ctx, srv.URL, "notifications", cdpbrowser.PermissionSettingGranted)
	bob.signUp(srv.URL)
	waitJS(t, bob.ctx, `navigator.serviceWorker.getRegistration().then(r => r && r.active && r.active.state === 'activated')`, 30*time.Second)
	navigate(t, bob.ctx, srv.URL+"/settings")
	bob.wait(`document.querySelector('#push-on')`, 60*time.Second)
	bob.shot("p10-settings-push")
	click(t, bob.ctx, "#push-on")
	bob.wait(`document.querySelector('#push-status')`, 90*time.Second)
	msg := eval[string](t, bob.ctx, `document.querySelector('#push-status').textContent`)
	t.Logf("push setting without a reachable push service: %q", msg)
	eval[bool](t, bob.ctx, `(document.querySelector('#push-status').scrollIntoView({block: "center"}), true)`)
	bob.shot("p11-settings-push-result")
	if !strings.Contains(msg, "couldn't set up ringing") {
		t.Fatalf("push setting said %q", msg)
	}
	if eval[string](t, bob.ctx, `localStorage.getItem('parley.push') || ''`) != "" {
		t.Fatal("the setting was kept although the subscription failed")
	}
}

// TestPushWhenHidden: with -push-when-hidden, the PWA reports its page
// hidden (a minimized window) and a call to Bob is pushed to his devices
// although his tab is open; once the window is back, calls ring the tab only.
func TestPushWhenHidden(t *testing.T) {
	svc, srv, b, alice, bob := pushRig(t, 60*time.Second, "-push-when-hidden")
	alice.signUp(srv.URL)
	bob.signUp(srv.URL)

	// Another device of Bob's registers for push, then closes.
	dev, err := svc.NewDevice("bob-phone")
	if err != nil {
		t.Fatal(err)
	}
	other := newSDKUser(t, b, srv.URL)
	other.ok(`Parley.connect("bob", "correct horse battery")`)
	other.ok(fmt.Sprintf(`Parley.registerPushSubscription({endpoint: %q, keys: {p256dh: %q, auth: %q}})`, dev.Endpoint, dev.P256dh, dev.Auth))
	navigate(t, other.ctx, srv.URL+"/web/sdk.html")

	setWindowState(t, bob.ctx, cdpbrowser.WindowStateMinimized)
	bob.wait(`document.visibilityState === 'hidden'`, 10*time.Second)
	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-video")
	bob.wait(`document.querySelector('#incoming-card')`, 15*time.Second)
	pm, _ := nextPush(t, svc, wire.PushRing)
	if pm.Title != "Alice Liddell is calling (video)" {
		t.Fatalf("ring push %+v", pm)
	}
	click(t, alice.ctx, "#cancel-call")
	if stop, _ := nextPush(t, svc, wire.PushStop); stop.RoomID != pm.RoomID {
		t.Fatalf("stop push %+v", stop)
	}
}

// closeAppWithPush signs bob up in the PWA (which installs the service
// worker, notifications allowed), signs him out (no socket: the app is
// closed), registers a device of the fake push service for him through the
// SDK (as an integrator's page would; the browser's own push service is out
// of reach here), hands the worker the session, and leaves a blank page of
// the origin open. It returns the worker's registration ID.
func closeAppWithPush(t *testing.T, bob *pwaUser, srv *server, svc *pushtest.Service) serviceworker.RegistrationID {
	t.Helper()
	setPermission(t, bob.ctx, srv.URL, "notifications", cdpbrowser.PermissionSettingGranted)
	bob.signUp(srv.URL)
	waitJS(t, bob.ctx, `navigator.serviceWorker.getRegistration().then(r => r && r.active && r.active.state === 'activated')`, 30*time.Second)
	reg := swRegistration(t, bob.ctx, srv.URL)
	// Bob closes the app: signed out, no socket. His worker stays.
	click(t, bob.ctx, "#sign-out")
	bob.wait(`document.querySelector('#auth-form') && localStorage.getItem('parley.token') === null`, 10*time.Second)

	registerPushViaSDK(t, bob.ctx, srv, svc)
	navigate(t, bob.ctx, srv.URL+"/web/sdk.html")
	bob.wait(`navigator.serviceWorker.controller`, 10*time.Second)

	return reg
}

// TestPushMissedCall: nobody answers within the ring timeout: the second
// push closes the ringing notification and shows "Missed call from Alice
// Liddell" instead.
func TestPushMissedCall(t *testing.T) {
	svc, srv, _, alice, bob := pushRig(t, 4*time.Second)
	alice.signUp(srv.URL)
	reg := closeAppWithPush(t, bob, srv, svc)

	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-video")
	pm, plain := nextPushTTL(t, svc, wire.PushRing, 4)
	pushShows(t, bob.ctx, srv.URL, reg, plain, `JSON.parse(s).length === 1`)
	stop, plain := nextPushTTL(t, svc, wire.PushStop, 4)
	if stop.Reason != wire.PushReasonMissed || stop.RoomID != pm.RoomID {
		t.Fatalf("stop push after the ring timeout: %+v", stop)
	}
	pushShows(t, bob.ctx, srv.URL, reg, plain, `JSON.parse(s).length === 1 && JSON.parse(s)[0].tag === "parley-missed-`+pm.RoomID+`"`)
	var shown []shownNotification
	if err := json.Unmarshal([]byte(eval[string](t, bob.ctx, notificationsExpr)), &shown); err != nil {
		t.Fatal(err)
	}
	if n := shown[0]; n.Title != "Missed call from Alice Liddell" || n.RequireInteraction || len(n.Actions) != 0 {
		t.Fatalf("missed-call notification %+v", n)
	}
}

// registerPushViaSDK signs bob in through the SDK on a page of the tab ctx
// (a new session), registers a device of the fake push service for it (as
// an integrator's page would; the browser's own push service is out of
// reach here), checks that bad subscriptions are refused, and hands the
// service worker the session it declines with.
func registerPushViaSDK(t *testing.T, ctx context.Context, srv *server, svc *pushtest.Service) {
	t.Helper()
	// Bob's device registers for push through the SDK (as an integrator's
	// page would), with the fake push service's endpoint: the browser's own
	// push service is out of reach here.
	dev, err := svc.NewDevice("bob")
	if err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, srv.URL+"/web/sdk.html")
	bobSDK := &sdkUser{t: t, ctx: ctx}
	if env := bobSDK.call(sdkRigWith("{}")); env.StatusCode != 200 {
		t.Fatalf("initializeSDK: %+v", env)
	}
	bobSDK.ok(`Parley.connect("bob", "correct horse battery")`)
	key := bobSDK.ok(`Parley.getPushPublicKey()`)
	if !strings.Contains(string(key.Data), `"publicKey":"B`) {
		t.Fatalf("getPushPublicKey: %s", key.Data)
	}
	for _, bad := range []string{`"nope"`, `42`, `{endpoint: "https://push.example/x", keys: {p256dh: "AAAA", auth: "BBBB"}}`,
		`{endpoint: "ftp://push.example/x", keys: {p256dh: "` + dev.P256dh + `", auth: "` + dev.Auth + `"}}`} {
		if env := bobSDK.call(`Parley.registerPushSubscription(` + bad + `)`); env.StatusCode != 400 || env.Message == "" {
			t.Errorf("registerPushSubscription(%s): %+v, want 400", bad, env)
		}
	}
	sub := fmt.Sprintf(`{endpoint: %q, expirationTime: null, keys: {p256dh: %q, auth: %q}}`, dev.Endpoint, dev.P256dh, dev.Auth)
	regEnv := bobSDK.ok(`Parley.registerPushSubscription(` + sub + `)`)
	var session map[string]string
	if err := json.Unmarshal(regEnv.Data, &session); err != nil || session["type"] != "parley.push.session" || session["token"] == "" ||
		session["server"] != srv.URL {
		t.Fatalf("registerPushSubscription data %s: %v", regEnv.Data, err)
	}
	// Hand the worker the session it declines with.
	if res := eval[string](t, ctx, `new Promise((resolve) => {
  const ch = new MessageChannel();
  ch.port1.onmessage = (e) => resolve(JSON.stringify(e.data));
  navigator.serviceWorker.ready.then((r) => r.active.postMessage(`+string(regEnv.Data)+`, [ch.port2]));
})`); res != `{"ok":true}` {
		t.Fatalf("the worker kept the session: %s", res)
	}
}

// TestPushAnswerSignedIn: Bob leaves the app while staying signed in;
// Answer on the notification opens the app at /?answer=<room>, which signs
// in with its saved session by itself and answers: the call connects.
func TestPushAnswerSignedIn(t *testing.T) {
	svc, srv, _, alice, bob := pushRig(t, 60*time.Second)
	setPermission(t, bob.ctx, srv.URL, "notifications", cdpbrowser.PermissionSettingGranted)
	alice.signUp(srv.URL)
	bob.signUp(srv.URL)
	waitJS(t, bob.ctx, `navigator.serviceWorker.getRegistration().then(r => r && r.active && r.active.state === 'activated')`, 30*time.Second)

	reg := swRegistration(t, bob.ctx, srv.URL)

	// Bob leaves the app signed in (the page must not linger in the
	// back/forward cache with its socket open: an unload listener keeps it
	// out); a page of the origin registers his device through the SDK.
	eval[bool](t, bob.ctx, `(addEventListener("unload", () => {}), true)`)
	registerPushViaSDK(t, bob.ctx, srv, svc)
	navigate(t, bob.ctx, srv.URL+"/web/sdk.html")
	bob.wait(`navigator.serviceWorker.controller`, 10*time.Second)

	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-video")
	pm, plain := nextPush(t, svc, wire.PushRing)
	pushShows(t, bob.ctx, srv.URL, reg, plain, `JSON.parse(s).length === 1`)
	eval[bool](t, bob.ctx, fmt.Sprintf(`navigator.serviceWorker.ready.then((r) => {
  r.active.postMessage({type: "parley.push.action", roomId: %q, action: "answer"});
  return true;
})`, pm.RoomID))
	bob.wait(`location.search === '?answer=`+pm.RoomID+`'`, 15*time.Second)
	bob.wait(`document.querySelector('.incall')`, 60*time.Second)
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	alice.remoteVideoPlays()
	bob.remoteVideoPlays()
	bob.shot("p03-answered-signed-in")
}

// TestPushOfferAfterCall: after the first call, home offers to ring the
// device when Parley is closed, once: Alice takes it (the browser has no
// reachable push service here, so it says it could not, on home), Bob says
// "Not now"; neither is offered again after the next call.
func TestPushOfferAfterCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	setPermission(t, alice.ctx, srv.URL, "notifications", cdpbrowser.PermissionSettingGranted)
	startPWAVideoCall(t, srv.URL, alice, bob)
	if eval[bool](t, alice.ctx, `!!document.querySelector('#push-offer')`) {
		t.Fatal("offered during the call")
	}
	click(t, alice.ctx, "#end-call")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`document.querySelector('#push-offer-on')`, 20*time.Second)
	}
	alice.shot("p20-push-offer")
	bob.shot("p20-push-offer")

	click(t, bob.ctx, "#push-offer-no")
	bob.wait(`!document.querySelector('#push-offer') && localStorage.getItem('parley.push.offered') === 'no'`, 10*time.Second)

	click(t, alice.ctx, "#push-offer-on")
	alice.wait(`!document.querySelector('#push-offer') && localStorage.getItem('parley.push.offered') === 'no'`, 90*time.Second)
	if msg := eval[string](t, alice.ctx, `(document.querySelector('.notice') || {}).textContent || ''`); !strings.Contains(msg, "couldn't set up ringing") {
		t.Fatalf("home after the offer's button says %q", msg)
	}
	alice.shot("p21-push-offer-result")

	// The next call offers nothing.
	clearText(t, alice.ctx, "#dial-to")
	typeText(t, alice.ctx, "#dial-to", bob.name)
	click(t, alice.ctx, "#call-video")
	bob.wait(`document.querySelector('#answer-call')`, 15*time.Second)
	click(t, bob.ctx, "#answer-call")
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	click(t, alice.ctx, "#end-call")
	for _, u := range []*pwaUser{alice, bob} {
		u.wait(`document.querySelector('#dial-to') && !document.querySelector('#call-ended')`, 20*time.Second)
	}
	time.Sleep(time.Second) // room for an offer that should not come (the server's key is asked in 1 ms on loopback)
	for _, u := range []*pwaUser{alice, bob} {
		if eval[bool](t, u.ctx, `!!document.querySelector('#push-offer')`) {
			t.Fatalf("%s was offered again", u.name)
		}
	}
}

// TestPushAnswerInUncontrolledWindow: Bob's app is open but hidden (with
// -push-when-hidden he is rung by push too) in a window the service worker
// does not control (a hard reload bypasses it), so the worker cannot
// navigate it to /?answer=<room>; it asks the window instead, and the app
// answers the call in place.
func TestPushAnswerInUncontrolledWindow(t *testing.T) {
	svc, srv, _, alice, bob := pushRig(t, 60*time.Second, "-push-when-hidden")
	alice.signUp(srv.URL)
	reg := closeAppWithPush(t, bob, srv, svc)

	bob.signIn(srv.URL)
	if _, err := chromedp.Run(bob.ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, page.Reload, page.ReloadParams{IgnoreCache: new(true)}) // shift-reload: past the worker
	}); err != nil {
		t.Fatalf("hard reload: %v", err)
	}
	bob.wait(`document.querySelector('#my-jid')`, 60*time.Second)
	if eval[bool](t, bob.ctx, `navigator.serviceWorker.controller !== null`) {
		t.Fatal("the page is controlled by the worker after a hard reload")
	}
	setWindowState(t, bob.ctx, cdpbrowser.WindowStateMinimized)
	bob.wait(`document.visibilityState === 'hidden'`, 10*time.Second)

	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-video")
	pm, plain := nextPush(t, svc, wire.PushRing)
	pushShows(t, bob.ctx, srv.URL, reg, plain, `JSON.parse(s).length === 1`)
	workerAct(t, bob.ctx, pm.RoomID, "answer")
	bob.wait(`document.querySelector('.incall')`, 30*time.Second)
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	if q := eval[string](t, bob.ctx, `location.search`); q != "" {
		t.Fatalf("the window was navigated (%q), not asked", q)
	}
	setWindowState(t, bob.ctx, cdpbrowser.WindowStateNormal)
	alice.remoteVideoPlays()
	bob.remoteVideoPlays()
}
