package ui

import (
	"context"
	"encoding/json"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// Reloading the page during a call comes back into it: while the tab is in a
// call it keeps its session in sessionStorage (this tab only, kept across a
// reload), and start resumes that session, whose call the engine takes back up
// (event.CallResumed).

// tabKey is the sessionStorage key of the tab's session while it is in a call.
const tabKey = "parley.tab"

// TabSession is what a tab in a call keeps to come back into it after a
// reload: its sign-in token, its server session and the last event it saw,
// the call and the user's mute state in it.
type TabSession struct {
	Token      string `json:"token"`
	Session    string `json:"session"`
	LastSeq    uint64 `json:"lastSeq"`
	RoomID     string `json:"roomId"`
	AudioMuted bool   `json:"audioMuted,omitempty"`
	VideoMuted bool   `json:"videoMuted,omitempty"`
	// ConnectedAt is when this device saw the call connect (its own
	// clock, Unix ms): the call timer goes on from there after a reload.
	ConnectedAt int64 `json:"connectedAt,omitempty"`
}

// tabStore is the tab's own storage: sessionStorage in the browser, a map in
// tests.
type tabStore struct {
	get    func(key string) (string, bool)
	set    func(key, value string) error
	remove func(key string)
}

func browserTabStore() tabStore {
	return tabStore{get: browser.TabGet, set: browser.TabSet, remove: browser.TabRemove}
}

// saveTab keeps the tab's session while it is in a call and forgets it
// otherwise. It only reads the engine, so it may run outside the UI goroutine
// (the pagehide handler).
func (s *session) saveTab() {
	if s.eng == nil {
		return
	}
	t, ok := s.eng.SavedTab()
	if !ok || t.RoomID == "" || t.Session == "" {
		s.tab.remove(tabKey)
		return
	}
	if !s.call.connectedAt.IsZero() {
		t.ConnectedAt = s.call.connectedAt.UnixMilli()
	}
	b, err := json.Marshal(t)
	if err == nil {
		err = s.tab.set(tabKey, string(b))
	}
	if err != nil {
		s.tab.remove(tabKey) // better no resume than a stale one
	}
}

// savedTab is the session this tab kept, if any: for token (the account
// saved in localStorage), or for a guest (no saved account: guests are
// kept only here, for the length of a call).
func (s *session) savedTab(token string) (TabSession, bool) {
	v, ok := s.tab.get(tabKey)
	if !ok || v == "" {
		return TabSession{}, false
	}
	var t TabSession
	if json.Unmarshal([]byte(v), &t) != nil || t.Session == "" || t.Token == "" || (token != "" && t.Token != token) {
		s.tab.remove(tabKey) // unreadable, or another account's
		return TabSession{}, false
	}
	return t, true
}

// tabResume is what ResumeTab found.
type tabResume struct {
	user   wire.User
	inCall bool
}

// resumeTab signs the reloaded page back in with the session it kept and,
// when the server still has that session in a call, goes back into it, also
// on a call link's page and for a guest. Anything else ends in start's usual
// paths: a failed resume forgets the kept session and starts again.
func (s *session) resumeTab(ctx app.Context, saved TabSession) {
	s.phase = phaseResuming
	if saved.ConnectedAt > 0 {
		s.resumedSince = time.UnixMilli(saved.ConnectedAt)
	}
	run(s, 20*time.Second, func(c context.Context) (tabResume, error) {
		u, in, err := s.eng.ResumeTab(c, saved)
		return tabResume{u, in}, err
	}, func(ctx app.Context, r tabResume, err error) {
		defer s.shown(ctx)
		s.tab.remove(tabKey) // saved again from the call's events
		if !r.inCall || err != nil {
			s.resumedSince = time.Time{}
		}
		switch {
		case err != nil:
			if token, _ := browser.StorageGet(tokenKey); code(err) == wire.CodeUnauthorized && token == saved.Token {
				browser.StorageRemove(tokenKey)
			}
			s.start(ctx)
		case r.inCall && r.user.Guest:
			// Back in the call the link led to; the guest identity stays
			// unsaved, and the call's events bring up the call screen.
			s.account.user, s.page.notice, s.page.conn = r.user, "", ""
			s.learn(r.user.JID, r.user.DisplayName, true)
			s.call.viaLink = true
			s.refresh(ctx)
		case r.inCall:
			link := s.join.code // no join page: the call it led to is on
			s.join.code = ""
			s.signedIn(ctx, r.user)
			s.join.code = link
			s.call.viaLink = link != ""
		case r.user.Guest:
			// The guest's call ended meanwhile: the identity goes with it.
			s.account.user = r.user
			s.dropGuest()
			if s.join.code != "" {
				s.enterJoin(ctx)
			}
		default:
			s.signedIn(ctx, r.user)
		}
		s.saveTab()
	})
}

// connectedSince is when the call now on screen connected: now, or for a
// call a reloaded page came back into, when it first connected here (until
// that call ends: endCall forgets it).
func (s *session) connectedSince() time.Time {
	if t := s.resumedSince; !t.IsZero() {
		return t
	}
	return time.Now()
}

// onCallResumed handles callResumedListener: the reloaded page is back in its
// call, with the mute state it had.
func (s *session) onCallResumed(ctx app.Context, ev event.CallResumed) {
	s.media.localAudio, s.media.localVideo = ev.AudioMuted, ev.VideoMuted
	for _, u := range ev.UsersStatus {
		s.learn(u.UserJID, u.DisplayName, u.Guest)
	}
	s.refresh(ctx)
	s.saveTab()
}
