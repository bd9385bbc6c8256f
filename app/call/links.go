package call

import (
	"context"
	"strings"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// subscription is the call previewed through a link.
type subscription struct {
	link   string
	name   string // the display name asked for in this call ("" keeps the account's)
	roomID string
	video  bool
	users  []wire.Participant
	local  *rtc.LocalMedia
}

// LinkCode extracts the link code from a call link URL (…/join/abc-defg-hij)
// or a bare code; ok is false when there is none.
func LinkCode(link string) (string, bool) {
	s := strings.TrimSpace(link)
	if i := strings.Index(s, "/join/"); i >= 0 {
		s = s[i+len("/join/"):]
	}
	s = strings.TrimRight(strings.SplitN(strings.SplitN(s, "?", 2)[0], "#", 2)[0], "/")
	return s, wire.ValidLinkCode(s)
}

// SubscribeCall previews the call behind link: the users in it arrive on
// callUsersUpdateListener, now and whenever they change. displayName is your
// name in that call: someone who is not signed in becomes a guest of that
// name, and a signed-in user is shown by it instead of the account's name
// ("" keeps it). The camera (for a video call)
// and microphone open for the preview; UnsubscribeCall releases them.
func (e *Engine) SubscribeCall(ctx context.Context, link, displayName string) error {
	code, ok := LinkCode(link)
	if !ok {
		return wire.InvalidLink("That is not a Parley call link; check that it was copied whole.")
	}
	e.mu.Lock()
	user, busy, sub := e.user, e.inCallLocked(), e.sub
	e.mu.Unlock()
	if busy {
		return wire.Conflict("You are already in a call; end it first.")
	}
	if sub != nil {
		e.releaseSubscription(ctx)
	}
	name := strings.TrimSpace(displayName)
	if user == nil {
		if name == "" {
			return wire.BadRequest("Enter the name the others will see.")
		}
		if _, err := e.signIn(ctx, wire.TypeGuest, wire.GuestRequest{DisplayName: name}); err != nil {
			return err
		}
	}
	var prev wire.LinkPreview
	if err := e.send(ctx, wire.TypeLinkSubscribe, wire.LinkRequest{Link: code, DisplayName: name}, &prev); err != nil {
		return err
	}
	video := prev.Type == wire.TypeVideo
	local, err := e.openMedia("subscribeCall", video)
	if err != nil {
		_ = e.sendNow(ctx, wire.TypeLinkUnsubscribe, nil, nil)
		return err
	}
	s := &subscription{link: code, name: name, roomID: prev.RoomID, video: video, users: prev.Users, local: local}
	e.mu.Lock()
	e.sub = s
	me := ""
	if e.user != nil {
		me = e.user.JID
	}
	e.mu.Unlock()
	e.work.push(func() {
		for _, t := range []rtc.Track{local.Audio(), local.Video()} {
			if t != nil {
				ut := event.UserTrack{LocalUser: true, Track: t, TrackType: t.Kind(), UserJID: me, UsersStatus: []event.UserStatus{}}
				e.emit(ut)
			}
		}
		e.emitUsers(prev)
	})
	return nil
}

func (e *Engine) emitUsers(p wire.LinkPreview) {
	u := event.CallUsersUpdate{RoomID: p.RoomID, UsersList: []event.CallUser{}}
	for _, x := range p.Users {
		u.UsersList = append(u.UsersList, event.CallUser{UserJID: x.JID, DisplayName: x.DisplayName, Status: x.Status, Guest: x.Guest})
	}
	e.emit(u)
}

// onUsers follows the previewed call's users (work queue).
func (e *Engine) onUsers(p wire.LinkPreview) {
	e.mu.Lock()
	s := e.sub
	if s == nil || s.roomID != p.RoomID {
		e.mu.Unlock()
		return
	}
	s.users = p.Users
	ended := len(p.Users) == 0
	if ended {
		e.sub = nil
	}
	e.mu.Unlock()
	e.emitUsers(p)
	if ended {
		e.stopPreview(s)
	}
}

func (e *Engine) stopPreview(s *subscription) {
	me := e.me()
	for _, t := range []rtc.Track{s.local.Audio(), s.local.Video()} {
		if t != nil {
			ut := event.UserTrack{LocalUser: true, TrackType: t.Kind(), UserJID: me, UsersStatus: []event.UserStatus{}}
			e.emit(ut)
		}
	}
	s.local.Stop()
}

// JoinCall joins the call previewed with SubscribeCall.
func (e *Engine) JoinCall(ctx context.Context) error {
	e.mu.Lock()
	s, busy, user := e.sub, e.inCallLocked(), e.user
	e.mu.Unlock()
	if s == nil || user == nil {
		return wire.CallEnded("There is no call to join: open the call link again.")
	}
	if busy {
		return wire.Conflict("You are already in a call; end it first.")
	}
	cs := &callState{roomID: s.roomID, video: s.video, local: s.local, peers: map[string]*peerState{}}
	kw := &knockWait{roomID: s.roomID, done: make(chan wire.AdmissionEvent, 1)}
	e.mu.Lock()
	if e.sub != s || e.inCallLocked() {
		e.mu.Unlock()
		return wire.CallEnded("The call ended before you joined.")
	}
	e.call = cs
	e.knock = kw // before the request: the outcome may overtake its reply
	e.mu.Unlock()
	var res wire.LinkJoinResult
	if err := e.send(ctx, wire.TypeLinkJoin, wire.LinkRequest{Link: s.link, DisplayName: s.name}, &res); err != nil {
		e.stopWaiting(cs, kw)
		return err
	}
	if res.Waiting {
		// A member lets us in (or not): the promise stays pending until then.
		e.work.push(func() { e.reportWaiting(kw, res, s.name) })
		return e.awaitAdmission(ctx, cs, kw)
	}
	if res.Call == nil {
		e.stopWaiting(cs, kw)
		return wire.Internal("The server answered link.join with neither a call nor a knock.")
	}
	e.mu.Lock()
	if e.knock == kw {
		e.knock = nil
	}
	if e.sub == s {
		e.sub = nil
	}
	e.mu.Unlock()
	snap := *res.Call
	e.work.push(func() { e.adopt(cs, snap) })
	return nil
}

// UnsubscribeCall leaves the preview and releases the camera and microphone.
func (e *Engine) UnsubscribeCall(ctx context.Context) error {
	e.mu.Lock()
	s := e.sub
	e.mu.Unlock()
	if s == nil {
		return wire.NotFound("There is no call preview to leave.")
	}
	e.releaseSubscription(ctx) // link.unsubscribe also withdraws a knock
	e.cancelKnock()
	return nil
}

func (e *Engine) releaseSubscription(ctx context.Context) {
	e.mu.Lock()
	s := e.sub
	e.sub = nil
	e.mu.Unlock()
	if s == nil {
		return
	}
	_ = e.sendNow(ctx, wire.TypeLinkUnsubscribe, nil, nil)
	e.sync(func() { e.stopPreview(s) })
}

// GetCallUsername is the display name of userJID in the call you are in or
// previewing.
func (e *Engine) GetCallUsername(userJID string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var list []wire.Participant
	switch {
	case e.call != nil && e.call.snap != nil:
		list = e.call.snap.Participants
	case e.sub != nil:
		list = e.sub.users
	default:
		return "", notInCall()
	}
	// JIDs are compared as the server stores them (lower case), and a bare
	// username names a user of this server.
	want := strings.ToLower(strings.TrimSpace(userJID))
	self := e.user != nil && (want == "" || want == e.user.JID || want == e.user.Username)
	if self {
		want = e.user.JID
	}
	for _, p := range list {
		if p.JID == want || strings.TrimSuffix(p.JID, "@"+domainOf(p.JID)) == want {
			return p.DisplayName, nil // in this call, which may differ from the account's name
		}
	}
	if self {
		return e.user.DisplayName, nil
	}
	return "", wire.NotFound("That user is not in the call.")
}

// CreateMeetLink creates a call that people join by its link, with nobody
// rung; it returns the link. The creator joins it like anyone else
// (SubscribeCall, then JoinCall) but needs no one's leave; others knock and
// wait for a member to let them in, unless open is set.
func (e *Engine) CreateMeetLink(ctx context.Context, video, open bool) (CallRef, string, error) {
	typ := wire.TypeAudio
	if video {
		typ = wire.TypeVideo
	}
	var res wire.CallResult
	if err := e.send(ctx, wire.TypeMeetCreate, wire.MeetRequest{Type: typ, Open: open}, &res); err != nil {
		return CallRef{}, "", err
	}
	return CallRef{RoomID: res.Call.RoomID, RoomLink: res.Call.Link}, httpOrigin(e.cfg.ServerURL) + "/join/" + res.Call.Link, nil
}

// CallLink is the full URL others open to join the current call:
// <server origin>/join/<code>. A one-to-one call's link works only once
// shared, so asking for it shares it (call.share); whoever opens it still
// knocks and waits for a member to let them in.
func (e *Engine) CallLink(ctx context.Context) (string, error) {
	e.mu.Lock()
	cs := e.call
	if cs == nil || cs.snap == nil {
		e.mu.Unlock()
		return "", notInCall()
	}
	room, link := cs.snap.RoomID, cs.snap.Link
	e.mu.Unlock()
	if link == "" {
		var res wire.ShareResult
		if err := e.send(ctx, wire.TypeCallShare, wire.RoomRequest{RoomID: room}, &res); err != nil {
			return "", err
		}
		link = res.Link
	}
	return httpOrigin(e.cfg.ServerURL) + "/join/" + link, nil
}

// httpOrigin turns a server URL of any accepted form into its http(s) origin.
func httpOrigin(s string) string {
	s = strings.TrimSuffix(strings.TrimRight(s, "/"), "/ws")
	switch {
	case strings.HasPrefix(s, "wss://"):
		return "https://" + strings.TrimPrefix(s, "wss://")
	case strings.HasPrefix(s, "ws://"):
		return "http://" + strings.TrimPrefix(s, "ws://")
	}
	return s
}
