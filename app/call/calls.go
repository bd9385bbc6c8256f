package call

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// callState is the call this device takes part in. It is created when the user
// starts, answers or joins a call and dropped when their part ends. roomID,
// snap, early, adopted, muted and ended are guarded by Engine.mu (API methods
// read them); peers, media and speak belong to the work queue alone.
type callState struct {
	roomID  string
	video   bool // the call type when it started; video tracks are reported only then
	local   *rtc.LocalMedia
	snap    *wire.Call   // newest server snapshot, nil until the first one
	early   []wire.Frame // call events that came before adopt ran
	adopted bool         // adopt ran: updates apply directly
	peers   map[string]*peerState
	media   string  // the media status last reported to the server
	muted   [2]bool // audio, video: what this user asked for
	ended   bool
	speak   map[string]*speakState
	stop    chan struct{} // closed when the call ends: stops the speaking monitor
}

type peerState struct {
	jid     string
	peer    *rtc.Peer
	offerer bool
	state   string
	tracks  map[string]rtc.Track // remote tracks by kind
}

// MakeVoiceCall rings userJIDs for an audio call; groupID (optional) makes it a
// group call.
func (e *Engine) MakeVoiceCall(ctx context.Context, userJIDs []string, groupID string) (CallRef, error) {
	return e.makeCall(ctx, userJIDs, groupID, false)
}

// MakeVideoCall rings userJIDs for a video call; groupID (optional) makes it a
// group call.
func (e *Engine) MakeVideoCall(ctx context.Context, userJIDs []string, groupID string) (CallRef, error) {
	return e.makeCall(ctx, userJIDs, groupID, true)
}

func (e *Engine) makeCall(ctx context.Context, jids []string, groupID string, video bool) (CallRef, error) {
	action := "makeVoiceCall"
	typ := wire.TypeAudio
	if video {
		action, typ = "makeVideoCall", wire.TypeVideo
	}
	e.mu.Lock()
	user := e.user
	busy := e.call != nil
	e.mu.Unlock()
	if user == nil {
		return CallRef{}, &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "Sign in before making a call."}
	}
	if len(jids) == 0 {
		return CallRef{}, wire.BadRequest("Give at least one user to call.")
	}
	if len(jids) > 7 {
		return CallRef{}, &Error{Code: wire.CodeCallFull, Reason: "call_full", Message: "A call holds at most 8 people including you."}
	}
	others := 0
	for _, j := range jids {
		if j == "" {
			return CallRef{}, wire.BadRequest("A user JID is empty.")
		}
		if u, err := wire.ParseJID(j, domainOf(user.JID)); err == nil && u == user.Username {
			continue
		}
		others++
	}
	if others == 0 {
		return CallRef{}, wire.BadRequest("You cannot call yourself; give someone else's JID.")
	}
	if busy {
		return CallRef{}, &Error{Code: wire.CodeConflict, Reason: "conflict", Message: "You are already in a call; end it first."}
	}
	local, err := e.openMedia(action, video)
	if err != nil {
		return CallRef{}, err
	}
	cs := &callState{video: video, local: local, peers: map[string]*peerState{}}
	e.mu.Lock()
	if e.call != nil {
		e.mu.Unlock()
		local.Stop()
		return CallRef{}, &Error{Code: wire.CodeConflict, Reason: "conflict", Message: "You are already in a call; end it first."}
	}
	e.call = cs
	e.mu.Unlock()
	var res wire.CallResult
	if err := e.send(ctx, wire.TypeCallCreate, wire.CallCreateRequest{To: jids, Type: typ, GroupID: groupID}, &res); err != nil {
		e.mu.Lock()
		if e.call == cs {
			e.call = nil
		}
		e.mu.Unlock()
		local.Stop()
		return CallRef{}, err
	}
	snap := res.Call
	e.mu.Lock()
	cs.roomID = snap.RoomID // EndCall from now on reaches the server
	e.mu.Unlock()
	e.work.push(func() {
		e.emitLocalTracks(cs, user.JID)
		e.adopt(cs, snap)
	})
	return CallRef{RoomID: snap.RoomID, RoomLink: snap.Link}, nil
}

// adopt starts cs on the work queue once the server has answered: first the
// reply's snapshot, then the updates that arrived before this ran (the server
// sends a reply before the events it causes, so they are newer).
func (e *Engine) adopt(cs *callState, snap wire.Call) {
	e.mu.Lock()
	if e.call != cs || cs.ended {
		e.mu.Unlock()
		return
	}
	cs.roomID = snap.RoomID
	cs.adopted = true
	early := cs.early
	cs.early = nil
	cs.stop = make(chan struct{})
	e.mu.Unlock()
	go e.speakingMonitor(cs, cs.stop)
	e.apply(cs, snap, "")
	for _, f := range early {
		e.handleEvent(f)
	}
}

func domainOf(jid string) string {
	for i := len(jid) - 1; i >= 0; i-- {
		if jid[i] == '@' {
			return jid[i+1:]
		}
	}
	return ""
}

// openMedia opens the microphone (and camera), reporting a refusal on
// mediaErrorListener as well as in the returned error.
func (e *Engine) openMedia(action string, video bool) (*rtc.LocalMedia, error) {
	local, err := e.currentMedia().Open(video)
	if err == nil {
		return local, nil
	}
	me := mediaError(err, action)
	e.emit(me)
	return nil, &Error{Code: me.StatusCode, Reason: "media_denied", Message: me.Message}
}

func mediaError(err error, action string) event.MediaError {
	switch {
	case errors.Is(err, rtc.ErrCameraDenied):
		return event.MediaError{StatusCode: wire.CodeCameraDenied, Device: "camera", Action: action,
			Message: "Parley may not use your camera. Allow camera access for this site in the browser's address bar, then try again."}
	case errors.Is(err, rtc.ErrBothDenied):
		return event.MediaError{StatusCode: wire.CodeMediaDenied, Device: "mic & camera", Action: action,
			Message: "Parley may not use your microphone and camera. Allow both for this site in the browser's address bar, then try again."}
	default:
		return event.MediaError{StatusCode: wire.CodeMicDenied, Device: "mic", Action: action,
			Message: "Parley may not use your microphone. Allow microphone access for this site in the browser's address bar, then try again."}
	}
}

func (e *Engine) emitLocalTracks(cs *callState, me string) {
	for _, t := range []rtc.Track{cs.local.Audio(), cs.local.Video()} {
		if t != nil {
			e.emitTrack(cs, me, true, t.Kind(), t)
		}
	}
}

// AnswerCall answers the call ringing on this device.
func (e *Engine) AnswerCall(ctx context.Context) error {
	e.mu.Lock()
	user := e.user
	var inc *wire.Call
	if len(e.incoming) > 0 {
		c := e.incoming[0]
		inc = &c
	}
	busy := e.call != nil
	e.mu.Unlock()
	if user == nil {
		return &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "Sign in first."}
	}
	if inc == nil {
		return &Error{Code: wire.CodeNotFound, Reason: "not_found", Message: "There is no incoming call to answer."}
	}
	if busy {
		return &Error{Code: wire.CodeConflict, Reason: "conflict", Message: "You are already in a call; end it before answering."}
	}
	video := inc.Type == wire.TypeVideo
	local, err := e.openMedia("answerCall", video)
	if err != nil {
		return err
	}
	cs := &callState{roomID: inc.RoomID, video: video, local: local, peers: map[string]*peerState{}}
	e.mu.Lock()
	if e.call != nil {
		e.mu.Unlock()
		local.Stop()
		return &Error{Code: wire.CodeConflict, Reason: "conflict", Message: "You are already in a call; end it before answering."}
	}
	e.call = cs
	e.mu.Unlock()
	var res wire.CallResult
	if err := e.send(ctx, wire.TypeCallAnswer, wire.RoomRequest{RoomID: inc.RoomID}, &res); err != nil {
		e.mu.Lock()
		if e.call == cs {
			e.call = nil
		}
		e.mu.Unlock()
		local.Stop()
		return err
	}
	e.removeIncoming(inc.RoomID)
	snap := res.Call
	e.work.push(func() {
		e.emitLocalTracks(cs, user.JID)
		e.adopt(cs, snap)
	})
	return nil
}

// DeclineCall declines the call ringing on this device (on every device of the user).
func (e *Engine) DeclineCall(ctx context.Context) error {
	e.mu.Lock()
	user := e.user
	var room string
	if len(e.incoming) > 0 {
		room = e.incoming[0].RoomID
	}
	e.mu.Unlock()
	if user == nil {
		return &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "Sign in first."}
	}
	if room == "" {
		return &Error{Code: wire.CodeNotFound, Reason: "not_found", Message: "There is no incoming call to decline."}
	}
	if err := e.send(ctx, wire.TypeCallDecline, wire.RoomRequest{RoomID: room}, nil); err != nil {
		return err
	}
	e.removeIncoming(room)
	return nil
}

// EndCall hangs up: it leaves the current call (cancelling it if nobody has
// answered yet). With no call but one ringing here, it declines that.
func (e *Engine) EndCall(ctx context.Context) error {
	e.mu.Lock()
	user, cs, ringing := e.user, e.call, len(e.incoming) > 0
	e.mu.Unlock()
	if user == nil {
		return &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "Sign in first."}
	}
	if cs == nil {
		if ringing {
			return e.DeclineCall(ctx)
		}
		return &Error{Code: wire.CodeNotFound, Reason: "not_found", Message: "You are not in a call."}
	}
	e.leaveCall(ctx)
	return nil
}

// leaveCall tells the server this user leaves the current call and tears it down here.
func (e *Engine) leaveCall(ctx context.Context) {
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if cs == nil {
		return
	}
	e.mu.Lock()
	room := cs.roomID
	e.mu.Unlock()
	if room != "" {
		// The call ends here whatever the server says: a failure to reach it
		// still leaves us out of the call (the server drops us on its own).
		_ = e.send(ctx, wire.TypeCallEnd, wire.RoomRequest{RoomID: room}, nil)
	}
	e.sync(func() { e.endCallState(cs, "") })
}

// MuteAudio mutes (true) or unmutes (false) your microphone in the current call.
func (e *Engine) MuteAudio(ctx context.Context, mute bool) error {
	return e.mute(ctx, rtc.KindAudio, mute)
}

// MuteVideo turns your camera off (true) or on (false) in the current call.
func (e *Engine) MuteVideo(ctx context.Context, mute bool) error {
	return e.mute(ctx, rtc.KindVideo, mute)
}

func (e *Engine) mute(ctx context.Context, kind string, mute bool) error {
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if cs == nil {
		return notInCall()
	}
	e.mu.Lock()
	id := cs.roomID
	e.mu.Unlock()
	if id == "" {
		return &Error{Code: wire.CodeConflict, Reason: "conflict", Message: "The call is still being set up; try again in a moment."}
	}
	cs.local.SetEnabled(kind, !mute)
	req := wire.MuteRequest{RoomID: id}
	if kind == rtc.KindAudio {
		req.Audio = &mute
	} else {
		req.Video = &mute
	}
	e.mu.Lock()
	if kind == rtc.KindAudio {
		cs.muted[0] = mute
	} else {
		cs.muted[1] = mute
	}
	e.mu.Unlock()
	return e.send(ctx, wire.TypeCallMute, req, nil)
}

func notInCall() *Error {
	return &Error{Code: wire.CodeNotInCall, Reason: "not_in_call", Message: "You are not in a call."}
}

// IsUserAudioMuted reports whether userJID ("" for yourself) has muted their
// microphone in the current call.
func (e *Engine) IsUserAudioMuted(userJID string) (bool, error) {
	return e.isMuted(userJID, 0)
}

// IsUserVideoMuted reports whether userJID ("" for yourself) has turned their
// camera off in the current call.
func (e *Engine) IsUserVideoMuted(userJID string) (bool, error) {
	return e.isMuted(userJID, 1)
}

func (e *Engine) isMuted(jid string, which int) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == nil {
		return false, &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "Sign in first."}
	}
	cs := e.call
	if cs == nil {
		return false, notInCall()
	}
	if jid == "" || jid == e.user.JID || jid == e.user.Username {
		return cs.muted[which], nil
	}
	if cs.snap != nil {
		for _, p := range cs.snap.Participants {
			if p.JID == jid || p.JID == jid+"@"+domainOf(e.user.JID) {
				if which == 0 {
					return p.AudioMuted, nil
				}
				return p.VideoMuted, nil
			}
		}
	}
	return false, &Error{Code: wire.CodeNotFound, Reason: "not_found", Message: "That user is not in your call."}
}

// GetCallLogs returns page (1-based) of your call log, 20 entries, newest first.
func (e *Engine) GetCallLogs(ctx context.Context, page int) (wire.CallLogPage, error) {
	if page < 1 {
		return wire.CallLogPage{}, wire.BadRequest("The page number starts at 1.")
	}
	var res wire.CallLogPage
	if err := e.send(ctx, wire.TypeCallLogs, wire.CallLogsRequest{Page: page}, &res); err != nil {
		return wire.CallLogPage{}, err
	}
	if res.CallLogs == nil {
		res.CallLogs = []wire.CallLog{}
	}
	return res, nil
}

// CurrentCall is the newest snapshot of the call you are in.
func (e *Engine) CurrentCall() (wire.Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.call == nil || e.call.snap == nil {
		return wire.Call{}, false
	}
	return cloneCall(*e.call.snap), true
}

// Incoming is the call ringing on this device, if any.
func (e *Engine) Incoming() (wire.Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.incoming) == 0 {
		return wire.Call{}, false
	}
	return cloneCall(e.incoming[0]), true
}

func cloneCall(c wire.Call) wire.Call {
	c.Participants = append([]wire.Participant(nil), c.Participants...)
	c.To = append([]string(nil), c.To...)
	return c
}

func (e *Engine) removeIncoming(room string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, c := range e.incoming {
		if c.RoomID == room {
			e.incoming = append(e.incoming[:i:i], e.incoming[i+1:]...)
			return true
		}
	}
	return false
}

// handleEvent runs on the work queue for every server event, in order.
func (e *Engine) handleEvent(f wire.Frame) {
	if f.Type == wire.EventUpdate || f.Type == wire.EventSignal {
		// The call's events wait until the request that made the call has
		// been answered and adopt has run: an offer may overtake the reply.
		e.mu.Lock()
		cs := e.call
		if cs != nil && !cs.adopted && !cs.ended {
			cs.early = append(cs.early, f)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
	}
	switch f.Type {
	case wire.EventIncoming:
		var ev wire.CallEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		e.mu.Lock()
		dup := false
		for _, c := range e.incoming {
			dup = dup || c.RoomID == ev.Call.RoomID
		}
		if !dup {
			e.incoming = append(e.incoming, ev.Call)
		}
		e.mu.Unlock()
		if !dup {
			p := e.incomingPayload(ev.Call, wire.StatusCalling)
			e.emit(p)
		}
	case wire.EventMissed:
		var ev wire.CallEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		e.removeIncoming(ev.Call.RoomID)
		status := ev.Reason
		if status != wire.StatusNoAnswer {
			status = wire.StatusEnded
		}
		p := e.incomingPayload(ev.Call, status)
		e.emit(event.MissedCall(p))
	case wire.EventDismissed:
		var ev wire.DismissEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		if !e.removeIncoming(ev.RoomID) {
			return
		}
		me := e.me()
		e.emit(event.CallStatus{Status: wire.StatusEnded, UserJID: me, LocalUser: true, RoomID: ev.RoomID, Reason: ev.Reason, UsersStatus: []event.UserStatus{}})
	case wire.EventUpdate:
		var ev wire.CallEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		e.mu.Lock()
		cs := e.call
		e.mu.Unlock()
		if cs != nil && cs.roomID == ev.Call.RoomID {
			e.apply(cs, ev.Call, ev.Reason)
		}
	case wire.EventSignal:
		var ev wire.SignalEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		e.onSignal(ev)
	default:
		e.handleGroupEvent(f)
	}
}

func (e *Engine) me() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == nil {
		return ""
	}
	return e.user.JID
}

func (e *Engine) incomingPayload(c wire.Call, status string) event.IncomingCall {
	me := e.me()
	all := make([]string, 0, len(c.Participants))
	var caller wire.Participant
	for _, p := range c.Participants {
		all = append(all, p.JID)
		if p.Initiator {
			caller = p
		}
	}
	var group *string
	if c.GroupID != "" {
		g := c.GroupID
		group = &g
	}
	to := append([]string{}, c.To...)
	return event.IncomingCall{
		AllUsers: all, CallMode: c.Mode, CallTime: c.CreatedAt, CallType: c.Type, From: caller.JID, To: me,
		GroupID: group, LocalUser: false, RoomID: c.RoomID, RoomLink: c.Link, Status: status, ToUsers: to,
		UserDetails: event.UserDetails{DisplayName: caller.DisplayName}, UserJID: caller.JID, UsersStatus: statusesOf(&c),
	}
}

func statusesOf(c *wire.Call) []event.UserStatus {
	out := make([]event.UserStatus, 0, len(c.Participants))
	for _, p := range c.Participants {
		out = append(out, event.UserStatus{UserJID: p.JID, DisplayName: p.DisplayName, Status: p.Status,
			AudioMuted: p.AudioMuted, VideoMuted: p.VideoMuted, CallInitiator: p.Initiator})
	}
	return out
}

// CallLink is the full URL others open to join the current call:
// <server origin>/join/<code>.
func (e *Engine) CallLink() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.call == nil || e.call.snap == nil || e.call.snap.Link == "" {
		return "", notInCall()
	}
	return httpOrigin(e.cfg.ServerURL) + "/join/" + e.call.snap.Link, nil
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
