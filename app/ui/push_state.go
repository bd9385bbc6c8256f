package ui

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/wire"
)

// Ringing a closed app: from Settings the user turns on "ring this device
// when Parley is closed"; the page asks for notification permission,
// subscribes through the service worker with the server's VAPID key,
// registers the subscription for this session and hands the worker the
// session it declines calls with. Later sign-ins on this device register
// again (a subscription belongs to a session); signing out forgets it. A
// notification's Answer opens /?answer=<room>: the app signs in and answers
// that call when it rings.

// pushPrefKey marks (in local storage) that this device rings when closed.
const pushPrefKey = "parley.push"

// pushOfferKey marks (in local storage) that the offer after a first call
// was answered, either way: it is made once per device.
const pushOfferKey = "parley.push.offered"

// pushState is the state of Web Push ringing on this page.
type pushState struct {
	answerRoom string // ?answer=<room>: answer this call when it rings here
	on         bool   // this device rings when the app is closed
	busy       bool
	msg        string // the outcome of the last change, for Settings
	err        bool
	// offer: home asks once, after this device's first call, whether to
	// ring it when Parley is closed (offerPushAfterCall).
	offer bool
}

// pushDevice is what ringing by push needs from the browser; browserPush in
// the page, a fake in tests.
type pushDevice interface {
	Permission() string
	RequestPermission() (string, error)
	// Subscribe returns PushSubscription.toJSON() as JSON.
	Subscribe(publicKey string) (string, error)
	Unsubscribe() error
	TellWorker(msg map[string]string) error
}

// browserPush is pushDevice on the browser package.
type browserPush struct{}

func (browserPush) Permission() string { return browser.NotificationPermission() }
func (browserPush) RequestPermission() (string, error) {
	return browser.RequestNotificationPermission()
}
func (browserPush) Subscribe(key string) (string, error) {
	return browser.PushSubscribe(key)
}
func (browserPush) Unsubscribe() error                     { return browser.PushUnsubscribe() }
func (browserPush) TellWorker(msg map[string]string) error { return browser.TellWorker(msg) }

// Sentences of the push setting.
const (
	pushOnSentence      = "This device rings for calls even when Parley is closed."
	pushDeniedSentence  = "Notifications are blocked, so Parley can't ring this device while it is closed. Allow notifications for this site in your browser's settings."
	pushOffSentence     = "This server doesn't ring closed apps."
	pushFailedSentence  = "Your browser couldn't set up ringing while Parley is closed. Keep Parley open to hear calls."
	pushStoppedSentence = "This device no longer rings while Parley is closed."
)

// errPushDenied: notification permission was not given.
var errPushDenied = errors.New("notifications not allowed")

// enablePush sets up ringing this device by push for the signed-in session:
// notification permission (asked only when ask is set: from a click), the
// server's key, a subscription, its registration, and the worker's copy of
// the session. It blocks; it returns the sentence to show.
func enablePush(ctx context.Context, eng Engine, dev pushDevice, ask bool) (string, error) {
	perm := dev.Permission()
	if perm == browser.PermissionDefault && ask {
		var err error
		if perm, err = dev.RequestPermission(); err != nil {
			return pushFailedSentence, err
		}
	}
	if perm != browser.PermissionGranted {
		return pushDeniedSentence, errPushDenied
	}
	key, err := eng.PushPublicKey(ctx)
	if err != nil {
		if code(err) == wire.CodeNotFound {
			return pushOffSentence, err
		}
		return pushFailedSentence, err
	}
	raw, err := subscribe(ctx, dev, key)
	if err != nil {
		return pushFailedSentence, err
	}
	var sub wire.PushSubscriptionJSON
	if err := json.Unmarshal([]byte(raw), &sub); err != nil {
		return pushFailedSentence, err
	}
	if err := eng.RegisterPush(ctx, sub); err != nil {
		return pushFailedSentence, err
	}
	if err := dev.TellWorker(eng.PushSession()); err != nil {
		return pushFailedSentence, err
	}
	return pushOnSentence, nil
}

// pushSubscribeWait is how long the browser may take to subscribe. Its push
// service (Chromium's is Google's, across the internet) may be out of reach,
// and a browser can take minutes to give up: after this the setting says it
// could not be set up, rather than staying busy.
const pushSubscribeWait = 20 * time.Second

// errPushSlow: the browser did not subscribe within pushSubscribeWait.
var errPushSlow = errors.New("the browser's push service did not answer")

// subscribe subscribes dev with key, giving up after pushSubscribeWait or
// when ctx ends. A subscription that comes after that is dropped again:
// nothing registers it, so it would only keep a push channel open that
// rings nothing.
func subscribe(ctx context.Context, dev pushDevice, key string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, pushSubscribeWait)
	defer cancel()
	type result struct {
		raw string
		err error
	}
	done := make(chan result, 1)
	go func() {
		raw, err := dev.Subscribe(key)
		done <- result{raw, err}
	}()
	select {
	case r := <-done:
		return r.raw, r.err
	case <-ctx.Done():
	}
	go func() {
		if r := <-done; r.err == nil {
			_ = dev.Unsubscribe()
		}
	}()
	return "", errPushSlow
}

// disablePush stops ringing this device by push: the server forgets the
// subscription, the browser drops it and the worker forgets the session.
func disablePush(ctx context.Context, eng Engine, dev pushDevice) error {
	_, err := eng.UnregisterPush(ctx)
	_ = dev.Unsubscribe()
	_ = dev.TellWorker(map[string]string{"type": "parley.push.session", "token": ""})
	if code(err) == wire.CodeNotFound { // push off on the server: nothing to forget
		err = nil
	}
	return err
}

// turnOnPush is Settings' "Ring this device when Parley is closed" (a click).
func (s *session) turnOnPush(ctx app.Context) {
	if s.push.busy {
		return
	}
	s.push.busy, s.push.msg = true, ""
	run(s, 2*time.Minute, func(c context.Context) (string, error) {
		return enablePush(c, s.eng, s.pushDev, true)
	}, func(_ app.Context, msg string, err error) {
		s.push.busy, s.push.msg, s.push.err = false, msg, err != nil
		s.push.on = err == nil
		if s.push.offer { // answered from home's offer: say so there
			s.settleOffer(err == nil)
			if err != nil {
				s.page.notice, s.page.info = msg, ""
			} else {
				s.page.info, s.page.notice = msg, ""
			}
		}
		if s.push.on {
			_ = browser.StorageSet(pushPrefKey, "on")
		}
		s.settings.notifPerm = s.pushDev.Permission()
	})
}

// turnOffPush is Settings' "Stop ringing while closed".
func (s *session) turnOffPush(ctx app.Context) {
	if s.push.busy {
		return
	}
	s.push.busy, s.push.msg = true, ""
	browser.StorageRemove(pushPrefKey)
	run(s, time.Minute, func(c context.Context) (struct{}, error) {
		return struct{}{}, disablePush(c, s.eng, s.pushDev)
	}, func(_ app.Context, _ struct{}, err error) {
		s.push.busy, s.push.on = false, false
		s.push.msg, s.push.err = pushStoppedSentence, false
		if err != nil {
			s.push.msg, s.push.err = humanError(actSignOut, err, true), true
		}
	})
}

// pushAfterSignIn registers this device again for the new session when it
// rang while closed before, without asking anything.
func (s *session) pushAfterSignIn() {
	if browser.DocumentHidden() {
		s.reportVisibility(true)
	}
	if s.account.user.Guest {
		return
	}
	if v, _ := browser.StorageGet(pushPrefKey); v != "on" {
		return
	}
	run(s, time.Minute, func(c context.Context) (string, error) {
		return enablePush(c, s.eng, s.pushDev, false)
	}, func(_ app.Context, _ string, err error) {
		s.push.on = err == nil
	})
}

// pushAfterSignOut forgets this device's push setup: another account may
// sign in here next.
func (s *session) pushAfterSignOut() {
	browser.StorageRemove(pushPrefKey)
	s.push.on, s.push.msg = false, ""
	dev := s.pushDev
	go func() {
		_ = dev.Unsubscribe()
		_ = dev.TellWorker(map[string]string{"type": "parley.push.session", "token": ""})
	}()
}

// reportVisibility tells the server whether this page is hidden, so that
// a user whose tabs are all hidden can be rung by push as well (the
// server's -push-when-hidden). Not on the UI goroutine: it must not block.
func (s *session) reportVisibility(hidden bool) {
	eng := s.eng
	go func() {
		if _, ok := eng.User(); !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = eng.ReportVisibility(ctx, hidden)
	}()
}

// answerFromURL notes the call a notification's Answer opened the app for.
func (s *session) answerFromURL(room string) {
	if len(room) > 0 && len(room) <= 64 {
		s.push.answerRoom = room
	}
}

// pushOpen acts on a call notification's Answer that the service worker
// could not turn into a navigation (a window it does not control): the
// same as opening /?answer=<room>, in this page.
func (s *session) pushOpen(room, action string) {
	if action != "answer" {
		return
	}
	s.dispatch(func(ctx app.Context) {
		s.answerFromURL(room)
		s.autoAnswer(ctx)
	})
}

// autoAnswer answers the ringing call when a notification's Answer opened
// the app for it.
func (s *session) autoAnswer(ctx app.Context) {
	if s.push.answerRoom == "" || !s.ring.has || s.ring.call.RoomID != s.push.answerRoom {
		return
	}
	s.push.answerRoom = ""
	s.answer(ctx)
}

// offerPushAfterCall makes home offer, once per device, to ring this device
// when Parley is closed: after a call in which someone joined, the moment
// the user has just seen what a call is, never on a first visit. It asks the
// browser nothing; only the offer's button does. Nothing is offered to a
// guest, when the device rings already, when notifications are blocked or
// missing, when
// the offer was answered before, or when the server does not push.
func (s *session) offerPushAfterCall() {
	if s.account.user.Guest || s.push.on || s.push.offer || s.pushDev == nil {
		return
	}
	if perm := s.pushDev.Permission(); perm == browser.PermissionDenied || perm == browser.PermissionUnsupported {
		return
	}
	for _, key := range []string{pushPrefKey, pushOfferKey} {
		if v, _ := browser.StorageGet(key); v != "" {
			return
		}
	}
	run(s, 30*time.Second, func(c context.Context) (string, error) {
		return s.eng.PushPublicKey(c) // push off on the server: no offer
	}, func(_ app.Context, _ string, err error) {
		s.push.offer = err == nil && !s.push.on
	})
}

// settleOffer puts the offer after a first call away for good; turnedOn
// says how it was answered.
func (s *session) settleOffer(turnedOn bool) {
	s.push.offer = false
	answer := "no"
	if turnedOn {
		answer = "yes"
	}
	_ = browser.StorageSet(pushOfferKey, answer)
}
