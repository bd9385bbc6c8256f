package call

import (
	"context"
	"errors"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// reconcilePeers keeps one peer per other joined participant, and (once this
// participant is joined) one pre-offered peer per participant still ringing
// (preoffer.go).
func (e *Engine) reconcilePeers(cs *callState, c *wire.Call, me string) {
	mine := c.Participant(me)
	for _, p := range c.Participants {
		if p.JID == me {
			continue
		}
		ps := cs.peers[p.JID]
		switch {
		case wire.Joined(p.Status) && ps == nil && cs.pre[p.JID] != nil:
			e.promotePre(cs, cs.pre[p.JID])
		case wire.Joined(p.Status) && ps == nil:
			ps = e.newPeer(cs, p.JID, mine != nil && offers(*mine, p))
			if ps != nil && cs.resetPeers {
				e.sendReset(cs, ps)
			}
			if ps != nil && ps.offerer {
				e.sendOffer(cs, ps, false)
			}
		case wire.Pending(p.Status) && ps == nil && cs.pre[p.JID] == nil && mine != nil && wire.Joined(mine.Status):
			e.preOffer(cs, p.JID)
		case !wire.Joined(p.Status) && ps != nil:
			e.dropPeer(cs, ps)
		}
		if pre := cs.pre[p.JID]; pre != nil && !pre.knock && !wire.Pending(p.Status) && !wire.Joined(p.Status) {
			e.dropPre(cs, pre) // declined, missed or gone: the pre-offer is void
		}
	}
	for _, ps := range cs.peers {
		if len(ps.early) > 0 {
			e.flushEarly(cs, ps) // a prepared peer's tracks, from before the answer
		}
	}
	e.askReoffers(cs, c, me)
	cs.resetPeers = false
	e.sizeVideo(cs, c)
	e.reportMedia(cs)
}

// newPeer creates the peer to participant jid in cs, making the offers when
// offerer is set.
func (e *Engine) newPeer(cs *callState, jid string, offerer bool) *peerState {
	ps := &peerState{jid: jid, offerer: offerer, tracks: map[string]rtc.Track{}, state: rtc.StateConnecting, live: true,
		hold: &candidateHold{}}
	room := cs.roomID
	peer, err := rtc.NewPeer(e.rtcConfig(), cs.local, ps.offerer, rtc.PeerHandlers{
		Candidate: func(c wire.Candidate) {
			if ps.hold.keep(c) {
				return
			}
			go e.relay(room, jid, wire.Payload{Candidate: &c})
		},
		State: func(s string) {
			e.work.push(func() { e.onPeerState(cs, ps, s) })
		},
		Track: func(t rtc.Track) {
			e.work.push(func() { e.onRemoteTrack(cs, ps, t) })
		},
		Refused: e.refused(ps),
	})
	if err != nil {
		e.log.Error("create peer", "peer", jid, "err", err)
		return nil
	}
	ps.peer = peer
	ps.neg = newQueue()
	cs.peers[jid] = ps
	e.fitVideo(cs, ps) // for the call's size as last known; sizeVideo follows it
	return ps
}

// refused handles the browser refusing a change of what ps's peer sends
// (rtc.PeerHandlers.Refused): a refused video limit is forgotten, so that
// the line monitor's next sample (fitVideo) asks for it again; the audio's
// priority is asked for again until it holds anyway.
func (e *Engine) refused(ps *peerState) func(error) {
	return func(err error) {
		e.log.Info("send parameters refused", "peer", ps.jid, "err", err)
		if errors.Is(err, rtc.ErrVideoLimitRefused) {
			e.work.push(func() { ps.line.applied = notApplied })
		}
	}
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
	adopted := cs != nil && cs.adopted
	e.mu.Unlock()
	if cs == nil || cs.roomID != ev.RoomID || !adopted {
		e.onPrepSignal(ev) // a pre-offer for a call ringing here, or knocked on
		return
	}
	if cs.ended || cs.snap == nil {
		return
	}
	if e.onReset(cs, ev.From, ev.Payload) {
		return
	}
	ps := cs.peers[ev.From]
	if ps != nil && ps.awaitReset {
		return // for this session's previous page: its connection is gone
	}
	if ps == nil {
		ps = cs.pre[ev.From] // the answer to a pre-offer comes before the update
	}
	if ps == nil {
		p, mine := cs.snap.Participant(ev.From), cs.snap.Participant(e.me())
		if p == nil || !wire.Joined(p.Status) || ev.Payload.Reoffer {
			return
		}
		offerer := mine != nil && offers(*mine, *p)
		if ev.Payload.SDP != nil && ev.Payload.SDP.Type == "offer" {
			offerer = false
		}
		if ps = e.newPeer(cs, ev.From, offerer); ps == nil {
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
		ps.cands = nil // candidates after it go after it
		ps.neg.push(func() {
			if desc.Type == "answer" && !peer.AwaitingAnswer() {
				return // a second answer to an offer sent again (onReoffer)
			}
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
		if ps.cands != nil && ps.cands.keep(*ev.Payload.Candidate) {
			break // joins a batch not yet added
		}
		b := &candidateHold{on: true, held: []wire.Candidate{*ev.Payload.Candidate}}
		ps.cands = b
		ps.neg.push(func() {
			if err := peer.AddCandidates(b.release()); err != nil {
				e.log.Debug("add candidates", "peer", ev.From, "err", err)
			}
		})
	case ev.Payload.Restart:
		e.onRestartAsked(cs, ps)
	case ev.Payload.Reoffer:
		e.onReoffer(cs, ps)
	}
}

// onPeerState follows one peer's connection state (work queue).
func (e *Engine) onPeerState(cs *callState, ps *peerState, s string) {
	if !ps.live {
		ps.state = s // reported once the peer is promoted (preoffer.go)
		return
	}
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
	if !ps.live {
		ps.early = append(ps.early, t) // reported once the peer is promoted (preoffer.go)
		return
	}
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
