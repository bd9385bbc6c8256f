package call

import (
	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// apply moves cs to the server's snapshot c: it reports what changed on the
// listeners and brings the peer connections in line with who is joined. It
// runs on the work queue.
func (e *Engine) apply(cs *callState, c wire.Call, reason string) {
	me := e.me()
	e.mu.Lock()
	if cs.ended || e.call != cs {
		e.mu.Unlock()
		return
	}
	old := cs.snap
	nc := cloneCall(c)
	cs.snap = &nc
	e.mu.Unlock()
	users := statusesOf(&nc)

	for _, p := range nc.Participants {
		var was *wire.Participant
		if old != nil {
			was = old.Participant(p.JID)
		}
		local := p.JID == me
		if was == nil && old == nil && !local && p.Status == wire.StatusRinging {
			// The first snapshot may already say ringing: the caller still
			// hears "calling" first, as on a phone.
			st := event.CallStatus{Status: wire.StatusCalling, UserJID: p.JID, UsersStatus: users, RoomID: nc.RoomID, ScreenSharer: nc.ScreenSharer}
			e.emit(st)
		}
		if was == nil || was.Status != p.Status {
			// Our own leaving and everyone's final "ended" are reported once,
			// as this device's ended event, by endCallState.
			if !(local && p.Status == wire.StatusDisconnected) && p.Status != wire.StatusEnded {
				st := event.CallStatus{Status: p.Status, UserJID: p.JID, LocalUser: local, UsersStatus: users, RoomID: nc.RoomID, ScreenSharer: nc.ScreenSharer}
				e.emit(st)
			}
		}
		if !local && old != nil && (was == nil || !wire.Joined(was.Status)) && wire.Joined(p.Status) {
			ev := event.CallUserEvent{UserJID: p.JID, DisplayName: p.DisplayName, Guest: p.Guest}
			e.emit(event.CallUserJoined(ev))
		}
		if !local && was != nil && wire.Joined(was.Status) && !wire.Joined(p.Status) {
			ev := event.CallUserEvent{UserJID: p.JID, DisplayName: p.DisplayName, Guest: p.Guest}
			e.emit(event.CallUserLeft(ev))
		}
		if was != nil && was.AudioMuted != p.AudioMuted {
			e.emitMute(p.JID, local, rtc.KindAudio, p.AudioMuted, users)
		}
		if was != nil && was.VideoMuted != p.VideoMuted {
			e.emitMute(p.JID, local, rtc.KindVideo, p.VideoMuted, users)
		}
		if was == nil && old != nil && (p.AudioMuted || p.VideoMuted) {
			if p.AudioMuted {
				e.emitMute(p.JID, local, rtc.KindAudio, true, users)
			}
			if p.VideoMuted {
				e.emitMute(p.JID, local, rtc.KindVideo, true, users)
			}
		}
	}

	mine := nc.Participant(me)
	if nc.State == wire.CallStateEnded || mine == nil || !wire.Joined(mine.Status) {
		closed := nc.State == wire.CallStateEnded
		e.endCallState(cs, statusIf(closed))
		return
	}
	e.reconcilePeers(cs, &nc, me)
	if nc.Type == wire.TypeVideo && !cs.video {
		e.switchToVideo(cs)
	}
	e.applyScreen(cs, old, &nc, me)
}

func statusIf(closed bool) string {
	if closed {
		return "closed"
	}
	return ""
}

func (e *Engine) emitMute(jid string, local bool, kind string, muted bool, users []event.UserStatus) {
	ms := event.MuteStatus{UserJID: jid, LocalUser: local, TrackType: kind, IsMuted: muted, UsersStatus: users}
	e.emit(ms)
}

// endCallState ends this device's part in cs: peers closed, devices released,
// listeners told. sessionStatus is "closed" when the call is over for everyone.
func (e *Engine) endCallState(cs *callState, sessionStatus string) {
	e.mu.Lock()
	if cs.ended {
		e.mu.Unlock()
		return
	}
	cs.ended = true
	if e.call == cs {
		e.call = nil
	}
	if cs.stop != nil {
		close(cs.stop)
	}
	me := ""
	if e.user != nil {
		me = e.user.JID
	}
	e.mu.Unlock()
	if sessionStatus == "" && cs.snap != nil && cs.snap.State != wire.CallStateEnded {
		// Leaving a call that then has fewer than two people ends it for everyone.
		left := 0
		for _, p := range cs.snap.Participants {
			if p.JID != me && (wire.Joined(p.Status) || wire.Pending(p.Status)) {
				left++
			}
		}
		if left < 2 {
			sessionStatus = "closed"
		}
	}
	for _, ps := range cs.peers {
		e.dropPeer(cs, ps)
	}
	for _, ps := range cs.pre {
		e.dropPre(cs, ps)
	}
	if cs.local != nil { // nil: ConnectResume's placeholder, devices never opened
		for _, t := range []rtc.Track{cs.local.Audio(), cs.local.Video()} {
			if t != nil {
				e.emitTrack(cs, me, true, t.Kind(), nil)
			}
		}
		if cs.local.Screen() != nil {
			e.emitTrack(cs, me, true, rtc.KindScreen, nil)
		}
		cs.local.Stop()
	}
	var ss *string
	if sessionStatus != "" {
		ss = &sessionStatus
	}
	st := event.CallStatus{Status: wire.StatusEnded, UserJID: me, LocalUser: true, SessionStatus: ss, UsersStatus: []event.UserStatus{}}
	if cs.snap != nil {
		st.UsersStatus = statusesOf(cs.snap)
		st.RoomID = cs.snap.RoomID
	}
	e.emit(st)
}

// endLocally ends the current call on this device only (work queue), e.g.
// when the server no longer knows this session.
func (e *Engine) endLocally(sessionStatus string) {
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if cs != nil {
		e.endCallState(cs, sessionStatus)
	}
}
