//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"parley/app/browser"
	"parley/app/call"
	"parley/app/call/event"
	"parley/app/wire"
)

// A page reloaded during a call comes back into it: while the page is in a
// call the SDK keeps the tab's session in sessionStorage (this tab only, kept
// across a reload), and connect on the reloaded page resumes it for the same
// user; callResumedListener then tells the page, and endCall leaves.

// sdkTabKey is the sessionStorage key of the tab's session while in a call.
const sdkTabKey = "parley.sdk.session"

// savedTab is what the SDK keeps: the engine's session and whose it is.
type savedTab struct {
	UserJID  string `json:"userJid"`
	Username string `json:"username"`
	call.SavedSession
}

// saveTab keeps the tab's session while it is in a call and forgets it
// otherwise.
func (s *sdk) saveTab() {
	if s.engine == nil {
		return
	}
	saved, ok := s.engine.SavedSession()
	u, signedIn := s.engine.User()
	if !ok || !signedIn || saved.RoomID == "" || saved.Session == "" {
		browser.TabRemove(sdkTabKey)
		return
	}
	b, err := json.Marshal(savedTab{UserJID: u.JID, Username: u.Username, SavedSession: saved})
	if err == nil {
		err = browser.TabSet(sdkTabKey, string(b))
	}
	if err != nil {
		browser.TabRemove(sdkTabKey)
	}
}

// savedFor is the session this tab kept for username (a username or JID).
func savedFor(username string) (call.SavedSession, bool) {
	v, ok := browser.TabGet(sdkTabKey)
	if !ok || v == "" {
		return call.SavedSession{}, false
	}
	var t savedTab
	if json.Unmarshal([]byte(v), &t) != nil || t.Session == "" || t.Token == "" {
		browser.TabRemove(sdkTabKey)
		return call.SavedSession{}, false
	}
	name := strings.TrimSpace(username)
	if !strings.EqualFold(name, t.Username) && !strings.EqualFold(name, t.UserJID) {
		return call.SavedSession{}, false
	}
	return t.SavedSession, true
}

// resume signs in with the tab's saved session for username, if it has one:
// handled reports whether it did (successfully or with err). A saved session
// the server refuses (its token signed out) is forgotten and not handled, so
// connect signs in with the password instead.
func (s *sdk) resume(ctx context.Context, username string) (u wire.User, resumed *wire.Call, handled bool, err error) {
	saved, ok := savedFor(username)
	if !ok {
		return wire.User{}, nil, false, nil
	}
	u, resumed, err = s.engine.ConnectResume(ctx, saved)
	var se *wire.Error
	if errors.As(err, &se) && se.Code == wire.CodeUnauthorized {
		browser.TabRemove(sdkTabKey)
		return wire.User{}, nil, false, nil
	}
	s.saveTab()
	return u, resumed, true, err
}

// watchTab saves the tab's session after the events that change it (and
// initializeSDK has it saved when the page is left).
func (s *sdk) watchTab(ev event.Event) {
	switch ev.(type) {
	case event.CallStatus, event.MuteStatus, event.CallResumed:
		s.saveTab()
	}
}
