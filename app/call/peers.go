package call

import (
	"context"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

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
			if ps != nil && cs.resetPeers {
				e.sendReset(cs, ps)
			}
			if ps != nil && ps.offerer {
				e.sendOffer(cs, ps, false)
			}
		case !wire.Joined(p.Status) && ps != nil:
			e.dropPeer(cs, ps)
		}
	}
	cs.resetPeers = false
	e.reportMedia(cs)
}

func (e *Engine) newPeer(cs *callState, jid, me string) *peerState {
	ps := &peerState{jid: jid, offerer: me < jid, tracks: map[string]rtc.Track{}, state: rtc.StateConnecting}
	room := cs.roomID
	peer, err := rtc.NewPeer(e.rtcConfig(), cs.local, ps.offerer, rtc.PeerHandlers{
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
	ps.neg = newQueue()
	cs.peers[jid] = ps
	return ps
}

// sendOffer makes an offer to ps and sends it, on the peer's negotiation queue.
func (e *Engine) sendOffer(cs *callState, ps *peerState, restart bool) {
	room, peer := cs.roomID, ps.peer
	ps.neg.push(func() {
		offer, err := peer.Offer(restart)
		if err != nil {
			e.log.Error("offer", "peer", ps.jid, "err", err)
			return
		}
		go e.relay(room, ps.jid, wire.Payload{SDP: &offer})
	})
}

// relay sends a negotiation payload to one participant through the server.
func (e *Engine) relay(room, to string, p wire.Payload) {
	if err := e.sendNow(context.Background(), wire.TypeCallSignal, wire.SignalRequest{RoomID: room, To: to, Payload: p}, nil); err != nil {
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
	if e.onReset(cs, ev.From, ev.Payload) {
		return
	}
	me := e.me()
	ps := cs.peers[ev.From]
	if ps != nil && ps.awaitReset {
		return // for this session's previous page: its connection is gone
	}
	if ps == nil {
		p := cs.snap.Participant(ev.From)
		if p == nil || !wire.Joined(p.Status) {
			return
		}
		if ps = e.newPeer(cs, ev.From, me); ps == nil {
			return
		}
	}
	if e.signalHook != nil {
		e.signalHook(ev.From, ev.Payload)
	}
	room, peer := cs.roomID, ps.peer
	switch {
	case ev.Payload.SDP != nil:
		desc := *ev.Payload.SDP
		ps.neg.push(func() {
			answer, err := peer.Accept(desc)
			if err != nil {
				e.log.Error("accept description", "peer", ev.From, "err", err)
				return
			}
			if answer != nil {
				go e.relay(room, ev.From, wire.Payload{SDP: answer})
			}
		})
	case ev.Payload.Candidate != nil:
		c := *ev.Payload.Candidate
		ps.neg.push(func() {
			if err := peer.AddCandidate(c); err != nil {
				e.log.Debug("add candidate", "peer", ev.From, "err", err)
			}
		})
	case ev.Payload.Restart:
		e.onRestartAsked(cs, ps)
	}
}

// onPeerState follows one peer's connection state (work queue).
func (e *Engine) onPeerState(cs *callState, ps *peerState, s string) {
	if cs.ended || cs.peers[ps.jid] != ps {
		return
	}
	ps.state = s
	e.watchICE(cs, ps, s) // a dead path gets an ICE restart (iceRestart.go)
	e.reportMedia(cs)
}

// reportMedia tells the server whether all of this participant's peers are up.
func (e *Engine) reportMedia(cs *callState) {
	if len(cs.peers) == 0 {
		return
	}
	status := wire.StatusConnected
	for _, ps := range cs.peers {
		switch st := ps.state; {
		case ps.stall.stalled:
			status = wire.StatusReconnecting
		case st == rtc.StateConnected:
		case st == rtc.StateDisconnected, st == rtc.StateFailed:
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
		if err := e.sendNow(context.Background(), wire.TypeCallMedia, wire.MediaRequest{RoomID: room, Status: status}, nil); err != nil {
			e.log.Debug("report media", "err", err)
		}
	}()
}

// onRemoteTrack reports a remote track (work queue).
func (e *Engine) onRemoteTrack(cs *callState, ps *peerState, t rtc.Track) {
	if cs.ended || cs.peers[ps.jid] != ps {
		return
	}
	if rtc.IsScreen(t) {
		ps.tracks[rtc.KindScreen] = t
		e.showScreen(cs) // once the snapshot says ps shares
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
	e.stopICETimer(ps)
	ps.neg.close() // what is queued still runs, against a closed peer
	_ = ps.peer.Close()
	for kind := range ps.tracks {
		if kind == rtc.KindVideo && !cs.video || kind == rtc.KindScreen {
			continue
		}
		e.emitTrack(cs, ps.jid, false, kind, nil)
	}
	if cs.screen.shown == ps.jid {
		e.emitTrack(cs, ps.jid, false, rtc.KindScreen, nil)
		cs.screen.shown, cs.screen.track = "", nil
	}
}
