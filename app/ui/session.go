package ui

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// phase is the screen the page shows.
type phase int

const (
	phaseLoading   phase = iota // prerendered, or before the engine starts
	phaseResuming               // signing in with the saved token
	phaseSignedOut              // sign in / sign up
	phaseHome                   // dial and call log
	phaseOutgoing               // ringing somebody
	phaseInCall                 // media flowing (or connecting)
	phaseEnded                  // "Call ended", then home
	phaseJoin                   // a call link: your name, the preview, or why it can't be joined
)

// session is the state of the page, shared by every mount of the root Shell.
// Everything but mount is read and written on go-app's UI goroutine only:
// engine events arrive on an engine goroutine and are handed over with
// app.Context.Dispatch (see post). The state is grouped by concern; each
// group's type sits in the file of the screen or feature that changes it.
type session struct {
	eng   Engine
	mount mountState // the mounted Shell, and events waiting for one
	tab   tabStore   // this tab's own storage (rejoin_state.go)
	// resumedSince is when the call a reloaded page is resuming first
	// connected on this device; the call timer goes on from there.
	resumedSince time.Time

	phase  phase             // the screen the page shows
	page   pageState         // what every screen shares: notices, busy, banners
	names  map[string]string // JID -> display name, learnt from every call
	guests map[string]bool   // JIDs known to be guests (shown as "Name (guest)")
	knock  knockState        // join requests on the current call (knock_state.go)

	account    accountState  // who is signed in (signin_state.go)
	logs       callLogState  // the call history (home_state.go)
	dialForm   dialState     // the dial form (home_state.go)
	meet       meetState     // the call link created on Home (home_state.go)
	out        outgoingState // the call being dialled (outgoing_state.go)
	ring       ringState     // the incoming call (incoming_state.go)
	call       callState     // the current call (incall_state.go)
	media      mediaState    // tracks and mute states (media.go)
	sw         switchState   // voice -> video switch (switch_state.go)
	inviteForm inviteState   // the invite dialog (invite_state.go)
	chat       chatState     // messages and reactions (chat_state.go)
	note       noteState     // the short in-call note (incall_state.go)
	ended      endedState    // "Call ended" (ended_state.go)
	join       joinState     // the page of a call link (join_state.go)
	settings   settingsState // devices and notifications (settings_state.go)
	blocked    blockedState  // the block list (blocked_state.go)
	signIns    signInsState  // where the account is signed in (sessions_state.go)
	screen     screenState   // screen sharing (screen_state.go)
	push       pushState     // ringing this device while closed (push_state.go)
	pushDev    pushDevice    // the browser's push, a fake in tests
}

// mountState hands engine events and request continuations to the mounted
// Shell. It is the only state shared with other goroutines, under mu.
type mountState struct {
	mu      sync.Mutex
	ctx     app.Context // the mounted Shell's context
	mounted bool
	pending []event.Event // events that arrived while no Shell was mounted
}

// pageState is what every screen shares.
type pageState struct {
	notice      string // the current error sentence, shown on the current screen
	info        string // the current information sentence
	busy        bool   // a request of the current screen is in flight
	conn        string // connection status, "" when connected
	updateReady bool   // a new version of the app is downloaded
	onSettings  bool   // the page is /settings
	rev         int    // counts Shell renders (see InCall.Rev)
	started     bool   // the service worker was told the page is up (shown)
}

// newSession returns the state of a page over eng (nil when prerendering).
func newSession(eng Engine) *session {
	s := &session{eng: eng, names: map[string]string{}, tab: browserTabStore(),
		account: accountState{retry: resumeRetry},
		logs:    callLogState{page: 1},
		call:    callState{lastRemote: map[string]string{}},
		media:   newMediaState(),
		ended:   endedState{wait: endedFor}, pushDev: browserPush{}}
	if eng != nil {
		eng.SetEventSink(s.post)
	}
	return s
}

// attach is called by a Shell's OnMount: events now go to its context.
func (s *session) attach(ctx app.Context) {
	s.mount.mu.Lock()
	s.mount.ctx, s.mount.mounted = ctx, true
	pending := s.mount.pending
	s.mount.pending = nil
	s.mount.mu.Unlock()
	s.settings.notifPerm = browser.NotificationPermission()
	if s.phase == phaseLoading && s.eng != nil {
		s.answerFromURL(ctx.Page().URL().Query().Get("answer"))
		browser.OnPageHide(s.saveTab)                  // for the page's lifetime: never released
		browser.OnVisibilityChange(s.reportVisibility) // likewise
		browser.OnPushOpen(s.pushOpen)                 // likewise
		s.start(ctx)
	}
	for _, ev := range pending {
		s.apply(ctx, ev)
	}
}

// shown is called when the page's first screen (sign-in, home, a call link,
// a call) is decided: once that screen is drawn, the service worker is told
// the page is up (browser.PageStarted), so that its first install fetches
// the wasm after the page's own start rather than beside it.
func (s *session) shown(ctx app.Context) {
	if s.page.started || s.eng == nil {
		return
	}
	s.page.started = true
	ctx.Defer(func(app.Context) { browser.PageStarted() })
}

// detach is called by a Shell's OnDismount.
func (s *session) detach() {
	s.mount.mu.Lock()
	s.mount.mounted = false
	s.mount.mu.Unlock()
}

// post receives an engine event on the engine's goroutine and hands it to the
// UI goroutine. It never blocks on the UI.
func (s *session) post(ev event.Event) {
	s.mount.mu.Lock()
	if !s.mount.mounted {
		s.mount.pending = append(s.mount.pending, ev)
		s.mount.mu.Unlock()
		return
	}
	s.mount.mu.Unlock()
	s.dispatch(func(ctx app.Context) { s.apply(ctx, ev) })
}

// dispatch runs f on the UI goroutine with the mounted Shell's context, which
// re-renders after f. It is called from background goroutines and hands over
// through a browser timer (see browser.Post).
func (s *session) dispatch(f func(app.Context)) {
	browser.Post(func() {
		if ctx, ok := s.shell(); ok {
			ctx.Dispatch(f)
		}
	})
}

// shell returns the mounted Shell's context. Continuations of requests and
// engine events go through it rather than through the context of the screen
// that started them, which may be gone by then.
func (s *session) shell() (app.Context, bool) {
	s.mount.mu.Lock()
	defer s.mount.mu.Unlock()
	return s.mount.ctx, s.mount.mounted
}

// run calls f on a new goroutine with a deadline, then done on the UI
// goroutine; the Shell re-renders after done.
func run[T any](s *session, timeout time.Duration, f func(context.Context) (T, error), done func(app.Context, T, error)) {
	go func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		v, err := f(c)
		cancel()
		s.dispatch(func(ctx app.Context) {
			done(ctx, v, err)
			s.afterUpdate()
		})
	}()
}

// afterUpdate attaches media to the elements rendered by this update.
func (s *session) afterUpdate() {
	if ctx, ok := s.shell(); ok {
		ctx.Defer(func(app.Context) { s.syncMedia() })
	}
}

// limits are the server's limits: the engine's, from the sign-in result, once
// somebody is signed in; wire.DefaultLimits before that, when prerendering, and
// for any limit the server did not send.
func (s *session) limits() wire.Limits {
	if s.eng == nil || s.account.user.JID == "" {
		return wire.DefaultLimits()
	}
	return s.eng.Limits().OrDefault()
}

// code is the wire error code of err, or 0.
func code(err error) int {
	if se, ok := err.(*wire.Error); ok {
		return se.Code
	}
	return 0
}

// displayName returns the best name known for jid, marked "(guest)" for a
// guest.
func (s *session) displayName(jid string) string {
	if n := s.names[jid]; n != "" {
		return guestLabel(n, s.guests[jid])
	}
	if u, _, ok := strings.Cut(jid, "@"); ok {
		return u
	}
	if jid == "" {
		return "Someone"
	}
	return jid
}

// later runs f on the UI goroutine after d.
func (s *session) later(d time.Duration, f func(app.Context)) {
	go func() {
		time.Sleep(d)
		s.dispatch(f)
	}()
}

// deferFocus moves focus to id after the next render.
func (s *session) deferFocus(ctx app.Context, id string) {
	ctx.Defer(func(app.Context) { focus(id) })
}
