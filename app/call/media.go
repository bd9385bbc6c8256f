package call

import (
	"context"

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
			st := event.CallStatus{Status: wire.StatusCalling, UserJID: p.JID, UsersStatus: users, RoomID: nc.RoomID}
			e.emit(st)
		}
		if was == nil || was.Status != p.Status {
			// Our own leaving and everyone's final "ended" are reported once,
			// as this device's ended event, by endCallState.
			if !(local && p.Status == wire.StatusDisconnected) && p.Status != wire.StatusEnded {
				st := event.CallStatus{Status: p.Status, UserJID: p.JID, LocalUser: local, UsersStatus: users, RoomID: nc.RoomID}
				e.emit(st)
			}
		}
		if !local && old != nil && (was == nil || !wire.Joined(was.Status)) && wire.Joined(p.Status) {
			ev := event.CallUserEvent{UserJID: p.JID, DisplayName: p.DisplayName}
			e.emit(event.CallUserJoined(ev))
		}
		if !local && was != nil && wire.Joined(was.Status) && !wire.Joined(p.Status) {
			ev := event.CallUserEvent{UserJID: p.JID, DisplayName: p.DisplayName}
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

// reconcilePeers keeps one peer per other joined participant.
func (e *Engine) reconcilePeers(cs *callState, c *wire.Call, me string) {
	for _, p := range c.Participants {
		if p.JID == me {
			continue
		}
		ps := cs.peers[p.JID]
		switch {
		case wire.Joined(p.Status) && ps == nil:
			ps = e.newPeer(cs, p.JID, me)
			if ps != nil && ps.offerer {
				e.sendOffer(cs, ps, false)
			}
		case !wire.Joined(p.Status) && ps != nil:
			e.dropPeer(cs, ps)
		}
	}
	e.reportMedia(cs)
}

func (e *Engine) newPeer(cs *callState, jid, me string) *peerState {
	ps := &peerState{jid: jid, offerer: me < jid, tracks: map[string]rtc.Track{}, state: rtc.StateConnecting}
	room := cs.roomID
	peer, err := rtc.NewPeer(e.cfg.RTC, cs.local, ps.offerer, rtc.PeerHandlers{
		Candidate: func(c wire.Candidate) {
			go e.relay(room, jid, wire.Payload{Candidate: &c})
		},
		State: func(s string) {
			e.work.push(func() { e.onPeerState(cs, ps, s) })
		},
		Track: func(t rtc.Track) {
			e.work.push(func() { e.onRemoteTrack(cs, ps, t) })
		},
	})
	if err != nil {
		e.log.Error("create peer", "peer", jid, "err", err)
		return nil
	}
	ps.peer = peer
	cs.peers[jid] = ps
	return ps
}

func (e *Engine) sendOffer(cs *callState, ps *peerState, restart bool) {
	offer, err := ps.peer.Offer(restart)
	if err != nil {
		e.log.Error("offer", "peer", ps.jid, "err", err)
		return
	}
	go e.relay(cs.roomID, ps.jid, wire.Payload{SDP: &offer})
}

// relay sends a negotiation payload to one participant through the server.
func (e *Engine) relay(room, to string, p wire.Payload) {
	if err := e.send(context.Background(), wire.TypeCallSignal, wire.SignalRequest{RoomID: room, To: to, Payload: p}, nil); err != nil {
		e.log.Debug("relay", "to", to, "err", err)
	}
}

// onSignal handles SDP and ICE from another participant (work queue).
func (e *Engine) onSignal(ev wire.SignalEvent) {
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if cs == nil || cs.ended || cs.roomID != ev.RoomID || cs.snap == nil {
		return
	}
	me := e.me()
	ps := cs.peers[ev.From]
	if ps == nil {
		p := cs.snap.Participant(ev.From)
		if p == nil || !wire.Joined(p.Status) {
			return
		}
		if ps = e.newPeer(cs, ev.From, me); ps == nil {
			return
		}
	}
	switch {
	case ev.Payload.SDP != nil:
		answer, err := ps.peer.Accept(*ev.Payload.SDP)
		if err != nil {
			e.log.Error("accept description", "peer", ev.From, "err", err)
			return
		}
		if answer != nil {
			go e.relay(cs.roomID, ev.From, wire.Payload{SDP: answer})
		}
	case ev.Payload.Candidate != nil:
		if err := ps.peer.AddCandidate(*ev.Payload.Candidate); err != nil {
			e.log.Debug("add candidate", "peer", ev.From, "err", err)
		}
	case ev.Payload.Restart:
		if ps.offerer {
			e.sendOffer(cs, ps, true)
		}
	}
}

// onPeerState follows one peer's connection state (work queue).
func (e *Engine) onPeerState(cs *callState, ps *peerState, s string) {
	if cs.ended || cs.peers[ps.jid] != ps {
		return
	}
	ps.state = s
	if s == rtc.StateFailed {
		// Ask for (or make) a fresh offer with new ICE credentials.
		if ps.offerer {
			e.sendOffer(cs, ps, true)
		} else {
			go e.relay(cs.roomID, ps.jid, wire.Payload{Restart: true})
		}
	}
	e.reportMedia(cs)
}

// reportMedia tells the server whether all of this participant's peers are up.
func (e *Engine) reportMedia(cs *callState) {
	if len(cs.peers) == 0 {
		return
	}
	status := wire.StatusConnected
	for _, ps := range cs.peers {
		switch ps.state {
		case rtc.StateConnected:
		case rtc.StateDisconnected, rtc.StateFailed:
			status = wire.StatusReconnecting
		default:
			if status == wire.StatusConnected {
				status = ""
			}
		}
	}
	if status == "" || status == cs.media {
		return
	}
	if status == wire.StatusReconnecting && cs.media == "" {
		return // never connected yet: still connecting
	}
	cs.media = status
	room := cs.roomID
	go func() {
		if err := e.send(context.Background(), wire.TypeCallMedia, wire.MediaRequest{RoomID: room, Status: status}, nil); err != nil {
			e.log.Debug("report media", "err", err)
		}
	}()
}

// onRemoteTrack reports a remote track (work queue).
func (e *Engine) onRemoteTrack(cs *callState, ps *peerState, t rtc.Track) {
	if cs.ended || cs.peers[ps.jid] != ps {
		return
	}
	ps.tracks[t.Kind()] = t
	if t.Kind() == rtc.KindVideo && !cs.video {
		return // a voice call negotiates video too, but shows none
	}
	e.emitTrack(cs, ps.jid, false, t.Kind(), t)
}

func (e *Engine) emitTrack(cs *callState, jid string, local bool, kind string, t rtc.Track) {
	users := []event.UserStatus{}
	if cs.snap != nil {
		users = statusesOf(cs.snap)
	}
	ut := event.UserTrack{LocalUser: local, Track: t, TrackType: kind, UserJID: jid, UsersStatus: users}
	e.emit(ut)
}

func (e *Engine) dropPeer(cs *callState, ps *peerState) {
	delete(cs.peers, ps.jid)
	_ = ps.peer.Close()
	for kind := range ps.tracks {
		if kind == rtc.KindVideo && !cs.video {
			continue
		}
		e.emitTrack(cs, ps.jid, false, kind, nil)
	}
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
	for _, t := range []rtc.Track{cs.local.Audio(), cs.local.Video()} {
		if t != nil {
			e.emitTrack(cs, me, true, t.Kind(), nil)
		}
	}
	cs.local.Stop()
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
