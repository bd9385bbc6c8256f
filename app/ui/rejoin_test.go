package ui

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

func (f *fakeEngine) SavedTab() (TabSession, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.user.JID == "" {
		return TabSession{}, false
	}
	t := TabSession{Token: f.token, Session: "sess-" + f.user.Username, LastSeq: 7}
	if f.call != nil && f.call.State != wire.CallStateEnded {
		t.RoomID = f.call.RoomID
		if p := f.call.Participant(f.user.JID); p != nil {
			t.AudioMuted, t.VideoMuted = p.AudioMuted, p.VideoMuted
		}
	}
	return t, true
}

func (f *fakeEngine) ResumeTab(ctx context.Context, t TabSession) (wire.User, bool, error) {
	if err := f.fail("ResumeTab"); err != nil {
		return wire.User{}, false, err
	}
	u, err := f.ConnectToken(ctx, t.Token)
	if strings.HasPrefix(u.Username, "guest-") {
		u.Guest = true
		f.user.Guest = true
	}
	f.mu.Lock()
	f.resumedAs = t
	c := f.resumable
	if c != nil && c.RoomID == t.RoomID {
		if p := c.Participant(u.JID); p != nil {
			p.AudioMuted, p.VideoMuted = t.AudioMuted, t.VideoMuted
		}
		f.call = c
	}
	f.mu.Unlock()
	in := c != nil && f.call == c
	if in {
		f.sink(event.CallResumed{RoomID: c.RoomID, CallType: c.Type, CallMode: c.Mode,
			AudioMuted: t.AudioMuted, VideoMuted: t.VideoMuted, UsersStatus: statusesOfFake(c)})
		f.sink(event.CallStatus{UserJID: u.JID, LocalUser: true, Status: wire.StatusConnected, RoomID: c.RoomID})
	}
	return u, in, err
}

func statusesOfFake(c *wire.Call) []event.UserStatus {
	var out []event.UserStatus
	for _, p := range c.Participants {
		out = append(out, event.UserStatus{UserJID: p.JID, DisplayName: p.DisplayName, Status: p.Status})
	}
	return out
}

// memTab is a tabStore over a map, standing for sessionStorage.
func memTab(m map[string]string) tabStore {
	return tabStore{
		get:    func(k string) (string, bool) { v, ok := m[k]; return v, ok },
		set:    func(k, v string) error { m[k] = v; return nil },
		remove: func(k string) { delete(m, k) },
	}
}

// reloadHarness is a page that starts with a saved token and tab storage, as
// a reloaded page does.
func reloadHarness(t *testing.T, f *fakeEngine, tab map[string]string) *harness {
	t.Helper()
	return reloadHarnessAt(t, f, tab, "tok-alice", "")
}

// reloadHarnessAt is reloadHarness with the account token saved in
// localStorage ("" for none: a guest) and, with a link code, on that call
// link's page.
func reloadHarnessAt(t *testing.T, f *fakeEngine, tab map[string]string, token, code string) *harness {
	t.Helper()
	browser.StorageRemove(tokenKey)
	if token != "" {
		if err := browser.StorageSet(tokenKey, token); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { browser.StorageRemove(tokenKey) })
	s := newSession(f)
	s.join.code = code
	s.tab = memTab(tab)
	s.ended.wait = 10 * time.Millisecond
	s.signInEarly() // as Routes does
	e := app.NewTestEngine()
	if err := e.Load(&testRoot{shell: &Shell{s: s}}); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, eng: e, f: f, s: s}
}

func savedJSON(t *testing.T, ts TabSession) string {
	b, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReloadBackIntoCall: a page reloaded during a call resumes its saved
// session and shows the call again with the mute state it had; ending the
// call forgets the saved session.
func TestReloadBackIntoCall(t *testing.T) {
	room := &wire.Call{RoomID: "room1", Type: wire.TypeVideo, Mode: wire.ModeOneToOne, State: wire.CallStateActive,
		Participants: []wire.Participant{
			{JID: "alice@localhost", DisplayName: "Alice", Status: wire.StatusConnected},
			{JID: "bob@localhost", DisplayName: "Bob Marley", Status: wire.StatusConnected}}}
	f := &fakeEngine{errs: map[string]error{}, logs: wire.CallLogPage{TotalPages: 1}, resumable: room}
	since := time.Now().Add(-95 * time.Second).Truncate(time.Millisecond)
	saved := TabSession{Token: "tok-alice", Session: "sess-alice", LastSeq: 41, RoomID: "room1", AudioMuted: true,
		ConnectedAt: since.UnixMilli()}
	tab := map[string]string{tabKey: savedJSON(t, saved)}
	h := reloadHarness(t, f, tab)
	// The call's events and the resume's result come in two dispatches, in
	// either order: wait for both.
	h.until("back in the call, signed in", func() bool {
		return h.s.phase == phaseInCall && h.s.account.user.JID != ""
	})
	if f.resumedAs != saved {
		t.Fatalf("ResumeTab got %+v", f.resumedAs)
	}
	if n := f.times("ConnectToken"); n != 1 { // ResumeTab's own
		t.Errorf("ConnectToken called %d times: the page began a fresh sign-in beside resuming its tab", n)
	}
	if !h.s.media.localAudio || h.s.media.localVideo {
		t.Errorf("mute state after reload: audio %v video %v, want audio muted only", h.s.media.localAudio, h.s.media.localVideo)
	}
	if h.s.displayName("bob@localhost") != "Bob Marley" {
		t.Errorf("names not learnt from the resumed call: %q", h.s.displayName("bob@localhost"))
	}
	if !h.s.call.connectedAt.Equal(since) {
		t.Errorf("the call timer starts at %v after the reload, want %v (when it first connected)", h.s.call.connectedAt, since)
	}
	var kept TabSession
	if err := json.Unmarshal([]byte(tab[tabKey]), &kept); err != nil || kept.RoomID != "room1" || !kept.AudioMuted || kept.ConnectedAt != since.UnixMilli() {
		t.Fatalf("tab storage during the call: %q (%v)", tab[tabKey], err)
	}

	// The call ends: nothing to come back into any more.
	h.f.setCall(nil)
	h.f.sink(event.CallStatus{Status: wire.StatusEnded, UserJID: "alice@localhost", LocalUser: true, RoomID: "room1"})
	h.until("call ended", func() bool { return h.s.phase == phaseEnded || h.s.phase == phaseHome })
	if v, ok := tab[tabKey]; ok {
		t.Fatalf("tab storage after the call: %q", v)
	}
}

// TestReloadWithoutSavedCall: a saved session of another account is dropped
// and the page signs in with its token; a failed resume forgets the tab
// session too; signing out forgets it.
func TestReloadWithoutSavedCall(t *testing.T) {
	t.Run("another account's", func(t *testing.T) {
		f := &fakeEngine{errs: map[string]error{}, logs: wire.CallLogPage{TotalPages: 1}}
		tab := map[string]string{tabKey: savedJSON(t, TabSession{Token: "tok-mallory", Session: "s", RoomID: "r"})}
		h := reloadHarness(t, f, tab)
		h.until("home", func() bool { return h.s.phase == phaseHome })
		if f.called("ResumeTab") {
			t.Fatal("resumed another account's session")
		}
		if _, ok := tab[tabKey]; ok {
			t.Fatal("another account's tab session kept")
		}
	})
	t.Run("refused", func(t *testing.T) {
		f := &fakeEngine{errs: map[string]error{"ResumeTab": &wire.Error{Code: wire.CodeUnauthorized, Message: "expired"}},
			logs: wire.CallLogPage{TotalPages: 1}}
		tab := map[string]string{tabKey: savedJSON(t, TabSession{Token: "tok-alice", Session: "s", RoomID: "r"})}
		h := reloadHarness(t, f, tab)
		h.until("signed out", func() bool { return h.s.phase == phaseSignedOut })
		if _, ok := tab[tabKey]; ok {
			t.Fatal("a refused tab session kept")
		}
	})
	t.Run("sign out", func(t *testing.T) {
		f := &fakeEngine{errs: map[string]error{}, logs: wire.CallLogPage{TotalPages: 1}}
		tab := map[string]string{}
		h := reloadHarness(t, f, tab)
		h.until("home", func() bool { return h.s.phase == phaseHome })
		tab[tabKey] = savedJSON(t, TabSession{Token: "tok-alice", Session: "s", RoomID: "r"})
		h.do(0, func(ctx app.Context) { h.s.signOut(ctx) })
		if _, ok := tab[tabKey]; ok {
			t.Fatal("tab session kept after signing out")
		}
	})
}

// TestReloadBackIntoLinkCall: on a call link's page, a member and a guest
// (whose identity is kept only in the tab) come back into the call they
// joined by the link instead of the join page; a guest whose call ended
// meanwhile is signed out and sees the join page.
func TestReloadBackIntoLinkCall(t *testing.T) {
	room := func(me string) *wire.Call {
		return &wire.Call{RoomID: "room1", Type: wire.TypeVideo, Mode: wire.ModeOneToMany, State: wire.CallStateActive, Meet: true,
			Participants: []wire.Participant{
				{JID: "bob@localhost", DisplayName: "Bob Marley", Status: wire.StatusConnected, Initiator: true},
				{JID: me, DisplayName: "Me", Status: wire.StatusConnected}}}
	}
	for _, tc := range []struct {
		name, token, user string
	}{
		{"member", "tok-alice", "alice"},
		{"guest", "", "guest-ab12cd34ef56"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEngine{errs: map[string]error{}, logs: wire.CallLogPage{TotalPages: 1}, resumable: room(tc.user + "@localhost")}
			tab := map[string]string{tabKey: savedJSON(t, TabSession{Token: "tok-" + tc.user, Session: "s1", RoomID: "room1"})}
			h := reloadHarnessAt(t, f, tab, tc.token, "abc-defg-hij")
			// The call's events and the resume's result come in two
			// dispatches, in either order: wait for both.
			h.until("back in the call, signed in", func() bool {
				return h.s.phase == phaseInCall && h.s.account.user.JID != ""
			})
			if f.called("SubscribeCall") || h.s.page.notice != "" {
				t.Fatalf("the join page took over: notice %q", h.s.page.notice)
			}
			if !h.s.call.viaLink || h.s.account.user.JID != tc.user+"@localhost" {
				t.Fatalf("viaLink %v, user %+v", h.s.call.viaLink, h.s.account.user)
			}
			if tok, _ := browser.StorageGet(tokenKey); tok != tc.token {
				t.Fatalf("saved account token %q, want %q (a guest's is never saved)", tok, tc.token)
			}
		})
	}
	t.Run("guest whose call ended", func(t *testing.T) {
		f := &fakeEngine{errs: map[string]error{}, logs: wire.CallLogPage{TotalPages: 1}}
		tab := map[string]string{tabKey: savedJSON(t, TabSession{Token: "tok-guest-ab12cd34ef56", Session: "s1", RoomID: "room1"})}
		h := reloadHarnessAt(t, f, tab, "", "abc-defg-hij")
		h.until("the join page", func() bool { return h.s.phase == phaseJoin })
		h.until("signed out", func() bool { return f.called("Logout") })
		if h.s.account.user.JID != "" {
			t.Fatalf("still signed in as %+v", h.s.account.user)
		}
	})
}
