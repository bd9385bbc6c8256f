package ui

import (
	"context"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// tokenKey is the localStorage key of the saved session token.
const tokenKey = "parley.token"

// accountState is who is signed in.
type accountState struct {
	user    wire.User
	offline bool          // the saved session could not reach the server; retrying
	retry   time.Duration // how long to wait before retrying it
	// early is the sign-in with the saved token that the page began as it
	// started (signInEarly), until start takes it.
	early *earlySignIn
}

// earlySignIn is a sign-in with a saved token begun before the first mount.
type earlySignIn struct {
	token string
	done  chan struct{} // closed once user and err are set
	user  wire.User
	err   error
}

// signInEarly begins signing in with the saved token as the page starts,
// before go-app draws the first screen, so that the WebSocket's handshake and
// the sign-in's round trip overlap that work instead of following it. start
// takes the result. A page reloaded during a call resumes its tab's session
// instead (resumeTab), so it is left to start. It runs on the page's main
// goroutine before go-app starts its UI goroutine, which alone reads
// account.early afterwards.
func (s *session) signInEarly() {
	token, ok := browser.StorageGet(tokenKey)
	if !ok || token == "" {
		return
	}
	if _, reloaded := s.savedTab(token); reloaded {
		return
	}
	e := &earlySignIn{token: token, done: make(chan struct{})}
	s.account.early = e
	go func() {
		c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		e.user, e.err = s.eng.ConnectToken(c, token)
		cancel()
		close(e.done)
	}()
	// Run it up to its first wait (the WebSocket being opened) before the
	// caller goes on to mount the page: the browser then opens the socket
	// while the page is drawn.
	runtime.Gosched()
}

// takeEarly returns the early sign-in begun with token, if any, and forgets
// it: a later start (an offline page retrying) signs in anew.
func (s *session) takeEarly(token string) *earlySignIn {
	e := s.account.early
	s.account.early = nil
	if e == nil || e.token != token {
		return nil
	}
	return e
}

// result waits for e's result, at most until c is done.
func (e *earlySignIn) result(c context.Context) (wire.User, error) {
	select {
	case <-e.done:
		return e.user, e.err
	case <-c.Done():
		return wire.User{}, c.Err()
	}
}

// resumeRetry is how often an offline page tries its saved session again.
const resumeRetry = 3 * time.Second

// useAnotherAccount leaves an offline resume for the sign-in screen.
func (s *session) useAnotherAccount() {
	s.account.offline = false
	s.phase = phaseSignedOut
	s.page.notice = ""
}

// start signs back in with the saved token, or shows the sign-in screen.
func (s *session) start(ctx app.Context) {
	token, ok := browser.StorageGet(tokenKey)
	if saved, reloaded := s.savedTab(token); reloaded {
		s.resumeTab(ctx, saved) // reloaded during a call (rejoin_state.go)
		return
	}
	if !ok || token == "" {
		s.phase = phaseSignedOut
		if s.join.code != "" {
			s.enterJoin(ctx)
		}
		s.shown(ctx)
		return
	}
	s.phase = phaseResuming
	early := s.takeEarly(token)
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		if early != nil {
			return early.result(c)
		}
		return s.eng.ConnectToken(c, token)
	}, func(ctx app.Context, u wire.User, err error) {
		defer s.shown(ctx)
		if err != nil && code(err) == wire.CodeUnreachable && s.join.code == "" && s.phase == phaseResuming {
			// Offline: keep the saved session and sign back in once the
			// server answers, instead of asking for the password again.
			s.account.offline = true
			go func() {
				time.Sleep(s.account.retry)
				s.dispatch(func(ctx app.Context) {
					if s.phase == phaseResuming {
						s.start(ctx)
					}
				})
			}()
			return
		}
		s.account.offline = false
		if err != nil {
			if code(err) == wire.CodeUnauthorized {
				browser.StorageRemove(tokenKey)
			}
			s.phase = phaseSignedOut
			s.page.notice = humanError(actResume, err, browser.SecureContext())
			if s.join.code != "" {
				s.enterJoin(ctx)
			}
			return
		}
		s.signedIn(ctx, u)
	})
}

// signIn and register are the sign-in screen's actions.
func (s *session) signIn(ctx app.Context, username, password string) {
	username = strings.TrimSpace(strings.ToLower(username))
	if username == "" || password == "" {
		s.page.notice = "Enter your username and password."
		return
	}
	s.page.busy, s.page.notice = true, ""
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		return s.eng.Connect(c, username, password)
	}, func(ctx app.Context, u wire.User, err error) {
		s.page.busy = false
		if err != nil {
			s.page.notice = humanError(actSignIn, err, browser.SecureContext())
			return
		}
		s.signedIn(ctx, u)
	})
}

// register creates an account and signs in with it.
func (s *session) register(ctx app.Context, username, password, displayName string) {
	username = strings.TrimSpace(username)
	if msg := checkRegistration(username, password); msg != "" {
		s.page.notice = msg
		return
	}
	displayName = strings.TrimSpace(displayName)
	if most := s.limits().MaxDisplayName; utf8.RuneCountInString(displayName) > most {
		s.page.notice = "A display name has at most " + itoa(most) + " characters."
		return
	}
	s.page.busy, s.page.notice = true, ""
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		return s.eng.Register(c, username, password, displayName)
	}, func(ctx app.Context, u wire.User, err error) {
		s.page.busy = false
		if err != nil {
			s.page.notice = humanError(actRegister, err, browser.SecureContext())
			return
		}
		s.signedIn(ctx, u)
	})
}

// signedIn shows Home (or the join page) for the user just signed in.
func (s *session) signedIn(ctx app.Context, u wire.User) {
	s.account.user, s.page.notice, s.page.conn = u, "", ""
	s.names[u.JID] = u.DisplayName
	if t := s.eng.Token(); t != "" {
		_ = browser.StorageSet(tokenKey, t)
	}
	s.phase = phaseHome
	s.refresh(ctx)
	s.loadLogs(ctx, 1)
	s.pushAfterSignIn()
	if s.join.code != "" {
		s.enterJoin(ctx)
	}
}

// signOut logs out and forgets the saved token.
func (s *session) signOut(ctx app.Context) {
	s.pushAfterSignOut()
	browser.StorageRemove(tokenKey)
	s.tab.remove(tabKey)
	run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.Logout(c)
	}, func(app.Context, struct{}, error) {})
	s.reset()
	s.page.info = "You are signed out."
}

// reset forgets the signed-in user.
func (s *session) reset() {
	s.stopRinging()
	s.phase = phaseSignedOut
	s.account.user = wire.User{}
	s.call.has, s.ring.has, s.page.busy = false, false, false
	s.logs.list, s.logs.page, s.logs.pages, s.logs.err = nil, 1, 0, ""
	s.signIns = signInsState{}
	s.dialForm.to = ""
	s.page.notice, s.page.info, s.page.conn = "", "", ""
	s.join.stage, s.join.users, s.join.err, s.join.errCode, s.join.field = joinName, nil, "", 0, ""
	s.join.subscribed, s.meet.link, s.meet.err = false, "", ""
	s.clearCall()
}

// onConnection handles connectionListener: the banner, or a revoked session.
func (s *session) onConnection(ev event.ConnectionStatus) {
	switch ev.Status {
	case event.Connected:
		s.page.conn = ""
	case event.AuthFail:
		s.pushAfterSignOut()
		browser.StorageRemove(tokenKey)
		s.tab.remove(tabKey)
		// Only a session that was signed in has ended. A sign-in that failed
		// (a wrong password, a saved session the server no longer knows)
		// comes here too: its own callback says why, and the page it was
		// on, a call link's included, stays.
		if s.phase != phaseSignedOut && s.account.user.JID != "" {
			s.reset()
			s.page.notice = "Your session has ended. Sign in again."
			if ev.Reason == event.ReasonRevoked {
				s.page.notice = "You were signed out from another device. Sign in again."
			}
		}
	default:
		if s.phase != phaseSignedOut && s.phase != phaseLoading {
			s.page.conn = ev.Status
		}
	}
}
