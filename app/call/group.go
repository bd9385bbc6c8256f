package call

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// InviteUsers rings more users into the current call.
func (e *Engine) InviteUsers(ctx context.Context, userJIDs []string) error {
	room, err := e.joinedRoom()
	if err != nil {
		return err
	}
	if len(userJIDs) == 0 {
		return wire.BadRequest("Give at least one user to invite.")
	}
	for _, j := range userJIDs {
		if strings.TrimSpace(j) == "" {
			return wire.BadRequest("A user JID is empty.")
		}
	}
	return e.send(ctx, wire.TypeCallInvite, wire.InviteRequest{RoomID: room, To: userJIDs}, nil)
}

// joinedRoom is the room of the call this device is in, or 100609.
func (e *Engine) joinedRoom() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == nil {
		return "", &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "Sign in first."}
	}
	if e.call == nil || e.call.roomID == "" {
		return "", notInCall()
	}
	return e.call.roomID, nil
}

// RequestVideoCallSwitch asks the other participant of a 1:1 voice call to
// switch to video. The answer comes on callSwitchListener; it times out after 20 s.
func (e *Engine) RequestVideoCallSwitch(ctx context.Context) error {
	return e.switchAction(ctx, wire.SwitchRequest)
}

// CancelVideoCallSwitchRequest withdraws your pending switch request.
func (e *Engine) CancelVideoCallSwitchRequest(ctx context.Context) error {
	return e.switchAction(ctx, wire.SwitchCancel)
}

// AcceptVideoCallSwitchRequest accepts the other participant's request: both
// sides then send and receive video in the same call.
func (e *Engine) AcceptVideoCallSwitchRequest(ctx context.Context) error {
	return e.switchAction(ctx, wire.SwitchAccept)
}

// DeclineVideoCallSwitchRequest declines the other participant's request.
func (e *Engine) DeclineVideoCallSwitchRequest(ctx context.Context) error {
	return e.switchAction(ctx, wire.SwitchDecline)
}

func (e *Engine) switchAction(ctx context.Context, action string) error {
	room, err := e.joinedRoom()
	if err != nil {
		return err
	}
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if action == wire.SwitchAccept {
		// Open the camera before accepting, so a refusal changes nothing.
		if _, err := e.currentMedia().OpenVideo(cs.local); err != nil {
			me := mediaError(err, "acceptVideoCallSwitchRequest")
			e.emit(me)
			return &Error{Code: me.StatusCode, Reason: "media_denied", Message: me.Message}
		}
	}
	return e.send(ctx, wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: room, Action: action}, nil)
}

// switchToVideo turns video on in cs once the server says the call is a video
// call (work queue): the camera track replaces the empty video sender of every
// peer, and the remote video tracks that were held back are reported.
func (e *Engine) switchToVideo(cs *callState) {
	if cs.video {
		return
	}
	cs.video = true
	t, err := e.currentMedia().OpenVideo(cs.local)
	if err != nil {
		me := mediaError(err, "videoCallSwitch")
		e.emit(me)
	}
	me := e.me()
	if t != nil {
		for _, ps := range cs.peers {
			if err := ps.peer.SetTrack(rtc.KindVideo, t); err != nil {
				e.log.Error("send video", "peer", ps.jid, "err", err)
			}
		}
		e.emitTrack(cs, me, true, rtc.KindVideo, t)
	}
	for _, ps := range cs.peers {
		if rt := ps.tracks[rtc.KindVideo]; rt != nil {
			e.emitTrack(cs, ps.jid, false, rtc.KindVideo, rt)
		}
	}
}

// SendCustomData sends any JSON value (at most 64 KiB encoded) to every other
// participant of the current call, in order. Outside a call it is a 400 (the
// data has nowhere to go), as the contract says.
func (e *Engine) SendCustomData(ctx context.Context, data json.RawMessage) error {
	room, err := e.joinedRoom()
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Code == wire.CodeNotInCall {
			return &Error{Code: wire.CodeBadRequest, Reason: "not_in_call", Message: "You are not in a call, so there is nobody to send data to."}
		}
		return err
	}
	if len(data) == 0 || !json.Valid(data) {
		return wire.BadRequest("Custom data must be a JSON value.")
	}
	if len(data) > wire.MaxCustomDataBytes {
		return &Error{Code: wire.CodeBadRequest, Reason: "too_large", Message: "Custom data is limited to 64 KiB; send less at a time."}
	}
	return e.send(ctx, wire.TypeCallData, wire.DataRequest{RoomID: room, Data: data}, nil)
}

// subscription is the call previewed through a link.
type subscription struct {
	link   string
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
// callUsersUpdateListener, now and whenever they change. Someone who is not
// signed in becomes a guest named displayName. The camera (for a video call)
// and microphone open for the preview; UnsubscribeCall releases them.
func (e *Engine) SubscribeCall(ctx context.Context, link, displayName string) error {
	code, ok := LinkCode(link)
	if !ok {
		return &Error{Code: wire.CodeInvalidLink, Reason: "invalid_link", Message: "That is not a Parley call link; check that it was copied whole."}
	}
	e.mu.Lock()
	user, busy, sub := e.user, e.call != nil, e.sub
	e.mu.Unlock()
	if busy {
		return &Error{Code: wire.CodeConflict, Reason: "conflict", Message: "You are already in a call; end it first."}
	}
	if sub != nil {
		e.releaseSubscription(ctx)
	}
	if user == nil {
		name := strings.TrimSpace(displayName)
		if name == "" {
			return wire.BadRequest("Enter the name the others will see.")
		}
		if _, err := e.signIn(ctx, wire.TypeGuest, wire.GuestRequest{DisplayName: name}); err != nil {
			return err
		}
	}
	var prev wire.LinkPreview
	if err := e.send(ctx, wire.TypeLinkSubscribe, wire.LinkRequest{Link: code}, &prev); err != nil {
		return err
	}
	video := prev.Type == wire.TypeVideo
	local, err := e.openMedia("subscribeCall", video)
	if err != nil {
		_ = e.send(ctx, wire.TypeLinkUnsubscribe, nil, nil)
		return err
	}
	s := &subscription{link: code, roomID: prev.RoomID, video: video, users: prev.Users, local: local}
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
		u.UsersList = append(u.UsersList, event.CallUser{UserJID: x.JID, DisplayName: x.DisplayName, Status: x.Status})
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
	s, busy, user := e.sub, e.call != nil, e.user
	e.mu.Unlock()
	if s == nil || user == nil {
		return &Error{Code: wire.CodeCallEnded, Reason: "call_ended", Message: "There is no call to join: open the call link again."}
	}
	if busy {
		return &Error{Code: wire.CodeConflict, Reason: "conflict", Message: "You are already in a call; end it first."}
	}
	cs := &callState{roomID: s.roomID, video: s.video, local: s.local, peers: map[string]*peerState{}}
	e.mu.Lock()
	if e.sub != s || e.call != nil {
		e.mu.Unlock()
		return &Error{Code: wire.CodeCallEnded, Reason: "call_ended", Message: "The call ended before you joined."}
	}
	e.call = cs
	e.mu.Unlock()
	var res wire.CallResult
	if err := e.send(ctx, wire.TypeLinkJoin, wire.LinkRequest{Link: s.link}, &res); err != nil {
		e.mu.Lock()
		if e.call == cs {
			e.call = nil
		}
		e.mu.Unlock()
		return err
	}
	e.mu.Lock()
	if e.sub == s {
		e.sub = nil
	}
	e.mu.Unlock()
	snap := res.Call
	e.work.push(func() { e.adopt(cs, snap) })
	return nil
}

// UnsubscribeCall leaves the preview and releases the camera and microphone.
func (e *Engine) UnsubscribeCall(ctx context.Context) error {
	e.mu.Lock()
	s := e.sub
	e.mu.Unlock()
	if s == nil {
		return &Error{Code: wire.CodeNotFound, Reason: "not_found", Message: "There is no call preview to leave."}
	}
	e.releaseSubscription(ctx)
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
	_ = e.send(ctx, wire.TypeLinkUnsubscribe, nil, nil)
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
	if e.user != nil && (userJID == "" || userJID == e.user.JID) {
		return e.user.DisplayName, nil
	}
	for _, p := range list {
		if p.JID == userJID || strings.TrimSuffix(p.JID, "@"+domainOf(p.JID)) == userJID {
			return p.DisplayName, nil
		}
	}
	return "", &Error{Code: wire.CodeNotFound, Reason: "not_found", Message: "That user is not in the call."}
}

// CreateMeetLink creates a call that people join by its link, with nobody
// rung; it returns the link. The creator joins it like anyone else
// (SubscribeCall, then JoinCall).
func (e *Engine) CreateMeetLink(ctx context.Context, video bool) (CallRef, string, error) {
	typ := wire.TypeAudio
	if video {
		typ = wire.TypeVideo
	}
	var res wire.CallResult
	if err := e.send(ctx, wire.TypeMeetCreate, wire.MeetRequest{Type: typ}, &res); err != nil {
		return CallRef{}, "", err
	}
	return CallRef{RoomID: res.Call.RoomID, RoomLink: res.Call.Link}, httpOrigin(e.cfg.ServerURL) + "/join/" + res.Call.Link, nil
}

// speakingMonitor polls audio levels while cs lasts and reports who speaks.
func (e *Engine) speakingMonitor(cs *callState, stop <-chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var first *rtc.Peer
		e.sync(func() {
			if cs.ended {
				return
			}
			for _, ps := range cs.peers {
				if first == nil {
					first = ps.peer
				}
				if lvl, ok := ps.peer.AudioLevel(); ok {
					e.speak(cs, ps.jid, false, lvl)
				}
			}
		})
		if first != nil {
			if lvl, ok := first.LocalAudioLevel(); ok {
				me := e.me()
				e.work.push(func() { e.speak(cs, me, true, lvl) })
			}
		}
	}
}

// speakState debounces one participant's speaking reports.
type speakState struct {
	speaking bool
	volume   int
	last     time.Time // last report
	loud     time.Time // last time the level was over the threshold
}

// speak turns a level (0-1) into callSpeakingListener events: speaking starts
// at once, stops after 600 ms of quiet, and volume changes are reported at
// most every 400 ms (work queue).
func (e *Engine) speak(cs *callState, jid string, local bool, level float64) {
	if cs.ended {
		return
	}
	if cs.speak == nil {
		cs.speak = map[string]*speakState{}
	}
	st := cs.speak[jid]
	if st == nil {
		st = &speakState{}
		cs.speak[jid] = st
	}
	now := time.Now()
	vol := int(level*10 + 0.5)
	if vol > 10 {
		vol = 10
	}
	if level >= 0.02 {
		st.loud = now
	}
	speaking := now.Sub(st.loud) < 600*time.Millisecond && !st.loud.IsZero()
	if !speaking {
		vol = 0
	}
	changed := speaking != st.speaking || (speaking && abs(vol-st.volume) >= 2 && now.Sub(st.last) >= 400*time.Millisecond)
	if !changed {
		return
	}
	st.speaking, st.volume, st.last = speaking, vol, now
	ev := event.Speaking{UserJID: jid, LocalUser: local, IsSpeaking: speaking, VolumeLevel: vol}
	e.emit(ev)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// handleGroupEvent handles the events of group features (work queue); it
// reports whether it knew the event.
func (e *Engine) handleGroupEvent(f wire.Frame) bool {
	switch f.Type {
	case wire.EventInvited:
		var ev wire.InviteEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return true
		}
		e.mu.Lock()
		cs := e.call
		e.mu.Unlock()
		users := []event.UserStatus{}
		if cs != nil && cs.snap != nil {
			users = statusesOf(cs.snap)
		}
		iv := event.InviteUsers{UserJID: ev.By, InviteUsers: append([]string{}, ev.Users...), RoomID: ev.RoomID, UsersStatus: users}
		e.emit(iv)
	case wire.EventSwitch:
		var ev wire.SwitchEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return true
		}
		me := e.me()
		sw := event.CallSwitch{UserJID: ev.From, LocalUser: ev.From == me, Status: ev.Action}
		e.emit(sw)
	case wire.EventData:
		var ev wire.DataEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return true
		}
		from := event.CustomDataFrom{UserJID: ev.From}
		data := ev.Data
		e.emit(event.CustomData{Data: data, From: from})
	case wire.EventUsers:
		var p wire.LinkPreview
		if json.Unmarshal(f.Data, &p) != nil {
			return true
		}
		e.onUsers(p)
	default:
		return false
	}
	return true
}
