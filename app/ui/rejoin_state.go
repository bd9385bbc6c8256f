package ui

import (
	"encoding/json"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
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
	b, err := json.Marshal(t)
	if err == nil {
		err = s.tab.set(tabKey, string(b))
	}
	if err != nil {
		s.tab.remove(tabKey) // better no resume than a stale one
	}
}

// savedTab is the session this tab kept for token, if any.
func (s *session) savedTab(token string) (TabSession, bool) {
	v, ok := s.tab.get(tabKey)
	if !ok || v == "" {
		return TabSession{}, false
	}
	var t TabSession
	if json.Unmarshal([]byte(v), &t) != nil || t.Session == "" || t.Token != token {
		s.tab.remove(tabKey) // unreadable, or another account's
		return TabSession{}, false
	}
	return t, true
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
