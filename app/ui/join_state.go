package ui

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

// joinState is the page of a call link (/join/<code>).
type joinState struct {
	code       string           // the code of the /join/ page, "" elsewhere
	stage      joinStage        // where the join page is
	gen        int              // bumps when the join page starts or is left, to drop stale replies
	users      []event.CallUser // who is in the previewed call
	seen       bool             // the preview's first list of users arrived
	err        string           // why the call can't be joined (joinFailed)
	errCode    int
	field      string // the name field's error
	guestName  string // the name field
	subscribed bool   // a preview is open (camera and microphone too)
	waiting    bool   // JoinCall knocked: waiting for someone to let us in
}

// joinStage is where the join page (phaseJoin) is.
type joinStage int

const (
	joinName    joinStage = iota // a visitor enters their name (or signs in)
	joinOpening                  // SubscribeCall in flight
	joinPreview                  // self-view, who is in the call, Join now
	joinJoining                  // JoinCall in flight
	joinFailed                   // the call can't be joined: joinErr says why
)

// linkCode returns the code of a /join/<code> path.
func linkCode(path string) (string, bool) {
	code, ok := strings.CutPrefix(path, "/join/")
	if !ok {
		return "", false
	}
	return strings.TrimRight(code, "/"), true
}

// navigated is called by every Shell's OnNav with the page's path: opening a
// /join/ link starts the join page; leaving it leaves the preview.
func (s *session) navigated(ctx app.Context, path string) {
	s.page.onSettings = path == "/settings"
	if s.page.onSettings && s.eng != nil {
		s.openSettings(ctx)
	}
	code, isJoin := linkCode(path)
	if s.eng == nil { // prerendering on the server
		s.join.code = code
		return
	}
	if !isJoin {
		s.join.code = ""
		switch {
		case s.phase == phaseJoin:
			s.leaveJoin(ctx)
		case s.account.user.Guest && s.phase != phaseInCall && s.phase != phaseOutgoing:
			s.dropGuest()
		}
		return
	}
	if code == s.join.code && s.phase == phaseJoin {
		return
	}
	if s.phase == phaseJoin && s.join.subscribed {
		s.unsubscribe()
	}
	s.join.code = code
	s.enterJoin(ctx)
}

// enterJoin shows the join page for s.joinCode: a visitor is asked for their
// name first; a signed-in user previews the call right away.
func (s *session) enterJoin(ctx app.Context) {
	switch s.phase {
	case phaseLoading, phaseResuming:
		return // start comes back here once it knows who is signed in
	case phaseOutgoing, phaseInCall:
		s.page.notice = "You are in a call. End it before joining another one."
		return
	}
	s.phase = phaseJoin
	s.page.notice, s.page.info = "", ""
	s.join.gen++
	s.join.stage, s.join.users, s.join.err, s.join.errCode, s.join.field = joinName, nil, "", 0, ""
	s.join.subscribed = false
	if !wire.ValidLinkCode(s.join.code) {
		s.failJoin(&wire.Error{Code: wire.CodeInvalidLink})
		return
	}
	if s.account.user.JID == "" {
		s.join.stage = joinName
		return
	}
	s.subscribe(ctx, s.account.user.DisplayName)
}

// subscribe previews the call behind s.joinCode as name (a visitor becomes a
// guest with that name).
func (s *session) subscribe(ctx app.Context, name string) {
	name = strings.TrimSpace(name)
	if s.account.user.JID == "" && name == "" {
		s.join.field = "Enter your name: the others see it in the call."
		return
	}
	if most := s.limits().MaxDisplayName; s.account.user.JID == "" && utf8.RuneCountInString(name) > most {
		s.join.field = "A name has at most " + itoa(most) + " characters."
		return
	}
	if s.join.stage == joinOpening || s.join.stage == joinJoining {
		return
	}
	s.join.field, s.join.err, s.join.errCode = "", "", 0
	s.join.stage = joinOpening
	s.join.users, s.join.seen = nil, false
	gen, code := s.join.gen, s.join.code
	run(s, 45*time.Second, func(c context.Context) (wire.User, error) {
		s.applyDevices(c)
		err := s.eng.SubscribeCall(c, code, name)
		u, _ := s.eng.User()
		return u, err
	}, func(ctx app.Context, u wire.User, err error) {
		if gen != s.join.gen || s.phase != phaseJoin {
			if err == nil {
				s.unsubscribe() // the page was left meanwhile
			}
			return
		}
		if u.JID != "" && s.account.user.JID == "" {
			s.account.user = u // the guest identity SubscribeCall created
			s.names[u.JID] = u.DisplayName
		}
		if err != nil {
			s.failJoin(err)
			return
		}
		s.join.subscribed = true
		if s.join.stage == joinOpening {
			s.join.stage = joinPreview
		}
	})
}

// joinNow joins the previewed call.
func (s *session) joinNow(ctx app.Context) {
	if s.join.stage != joinPreview {
		return
	}
	s.join.stage = joinJoining
	s.join.waiting = false
	s.call.viaLink = true // the call shows without ringing anyone
	gen := s.join.gen
	// Joining may wait for a member to let us in: the server's knock
	// timeout decides how long, this is only a hang guard.
	run(s, 10*time.Minute, func(c context.Context) (struct{}, error) {
		err := s.eng.JoinCall(c)
		if err != nil {
			_ = s.eng.UnsubscribeCall(c) // release the camera; Try again previews afresh
		}
		return struct{}{}, err
	}, func(ctx app.Context, _ struct{}, err error) {
		s.join.subscribed, s.join.waiting = false, false
		if gen != s.join.gen || s.phase != phaseJoin {
			if err == nil && s.phase != phaseInCall {
				s.hangUp(ctx) // the page was left meanwhile
			}
			return
		}
		if err != nil {
			s.call.viaLink = false
			s.failJoin(err)
			return
		}
		s.refresh(ctx) // the call screen shows as soon as the call's snapshot is in
	})
}

// backFromPreview leaves the preview: home for a signed-in user, the name form
// for a guest (who may sign in or choose another name).
func (s *session) backFromPreview(ctx app.Context) {
	if s.account.user.JID != "" && !s.account.user.Guest {
		ctx.Navigate("/")
		return
	}
	s.join.gen++
	s.join.subscribed = false
	s.dropGuest()
	s.phase, s.join.stage = phaseJoin, joinName
	if !wire.ValidLinkCode(s.join.code) {
		s.failJoin(&wire.Error{Code: wire.CodeInvalidLink})
	}
}

// retryJoin previews the call again after a failure.
func (s *session) retryJoin(ctx app.Context) {
	s.join.stage = joinName
	if s.account.user.JID == "" {
		return
	}
	s.subscribe(ctx, s.account.user.DisplayName)
}

// leaveJoin leaves the join page for another page.
func (s *session) leaveJoin(ctx app.Context) {
	s.join.gen++
	if s.join.subscribed {
		s.unsubscribe()
	}
	s.join.stage, s.join.users, s.join.err, s.join.errCode = joinName, nil, "", 0
	if s.account.user.JID == "" || s.account.user.Guest {
		s.dropGuest()
		return
	}
	s.phase = phaseHome
	s.refresh(ctx)
	s.loadLogs(ctx, 1)
}

// unsubscribe leaves the preview and releases the camera and microphone.
func (s *session) unsubscribe() {
	s.join.subscribed = false
	s.dropLocalTracks()
	run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.UnsubscribeCall(c)
	}, func(app.Context, struct{}, error) {})
}

// dropGuest signs the guest identity out (it is never saved) and shows the
// sign-in screen.
func (s *session) dropGuest() {
	wasGuest := s.account.user.Guest
	s.reset()
	if wasGuest {
		run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
			return struct{}{}, s.eng.Logout(c)
		}, func(app.Context, struct{}, error) {})
	}
}

// failJoin shows why the call can't be joined.
func (s *session) failJoin(err error) {
	s.join.stage = joinFailed
	s.join.errCode = code(err)
	s.join.err = joinErrorSentence(err, browser.SecureContext())
	s.join.subscribed = s.join.subscribed && s.join.errCode != wire.CodeCallEnded
}

// joinErrorSentence says why a call link can't be used and what to do next.
func joinErrorSentence(err error, secure bool) string {
	switch code(err) {
	case wire.CodeInvalidLink, wire.CodeNotFound:
		return "This call link isn't valid. Check that you copied the whole link, or ask the person who shared it for a new one."
	case wire.CodeCallEnded:
		return "Everyone has left this call. Ask whoever shared the link for a new one, or start a call of your own."
	case wire.CodeCallFull:
		return "This call is full. Try again when someone leaves, or ask for a link to a new call."
	case wire.CodeConflict:
		return "You are already in a call. End it, then open this link again."
	case wire.CodeMicDenied, wire.CodeCameraDenied, wire.CodeMediaDenied, wire.CodeNotAdmitted, wire.CodeKnockTimeout:
		return humanError(actCall, err, secure)
	case wire.CodeBadRequest:
		if se, ok := err.(*wire.Error); ok && se.Message != "" {
			return sentence(se.Message)
		}
	}
	return humanError(actJoin, err, secure)
}

// onUsers follows the list of people in the previewed call.
func (s *session) onUsers(ev event.CallUsersUpdate) {
	if s.phase != phaseJoin || (s.join.stage != joinOpening && s.join.stage != joinPreview && s.join.stage != joinJoining) {
		return
	}
	for _, u := range ev.UsersList {
		s.learn(u.UserJID, u.DisplayName, u.Guest)
	}
	if !s.join.seen {
		// The first list answers the subscription: empty is a call link
		// nobody has joined yet. Later, empty means the call ended.
		s.join.seen = true
		s.join.users = ev.UsersList
		return
	}
	if len(ev.UsersList) == 0 {
		if s.join.stage == joinJoining {
			return // JoinCall answers for itself
		}
		s.join.subscribed = false
		s.dropLocalTracks()
		s.failJoin(&wire.Error{Code: wire.CodeCallEnded})
		return
	}
	s.join.users = ev.UsersList
}

// codeOfLink is the code at the end of a full call link.
func codeOfLink(link string) string {
	if i := strings.Index(link, "/join/"); i >= 0 {
		return link[i+len("/join/"):]
	}
	return link
}
