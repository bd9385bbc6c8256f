package call

import (
	"context"
	"strings"
	"sync"

	"parley/app/rtc"
	"parley/app/wire"
)

// This file makes answering fast: the offers travel while the call rings.
//
// A joined participant offers to everyone still ringing (a pre-offer: the
// caller chose to call, so its offer and candidates may go first). A device
// where the call rings applies the offer and prepares its answer, but sends
// nothing and adds none of the caller's candidates, so nothing about its
// network leaves it before the user answers. Answering then opens the
// devices (beside the answer when they are allowed already: AnswerCall),
// puts their tracks on the prepared peers and sends the prepared
// answers with call.answer: media starts one relay after the click instead
// of three (answer, offer, answer). Of two joined participants the one who
// joined first offers (wire.Participant.JoinOrder), so a pre-offer stays the
// pair's offer after its callee joins. Natively (pion's own ICE agent,
// which gives up on an answer set long before candidates come) the offer is
// only kept while it rings and applied on answering (rtc.PrepareAhead).

// offers reports whether me makes the offers to other.
func offers(me, other wire.Participant) bool {
	if wire.Pending(other.Status) {
		return wire.Joined(me.Status)
	}
	if me.JoinOrder > 0 && other.JoinOrder > 0 && me.JoinOrder != other.JoinOrder {
		return me.JoinOrder < other.JoinOrder
	}
	return me.JID < other.JID
}

// preOffer makes a peer to jid, still ringing, and sends it the offer (work
// queue). The peer waits in cs.pre until jid joins.
func (e *Engine) preOffer(cs *callState, jid string) {
	if ps := e.newPrePeer(cs, jid); ps != nil {
		e.sendOffer(cs, ps, false)
	}
}

// newPrePeer creates the offering peer to jid, not yet in the call, and
// parks it in cs.pre rather than cs.peers until jid joins (work queue).
func (e *Engine) newPrePeer(cs *callState, jid string) *peerState {
	ps := e.newPeer(cs, jid, true)
	if ps == nil {
		return nil
	}
	delete(cs.peers, jid)
	ps.live = false
	if cs.pre == nil {
		cs.pre = map[string]*peerState{}
	}
	cs.pre[jid] = ps
	return ps
}

// preOfferKnock offers to jid, who knocks on the call (work queue). The
// offer goes without candidates and the peer keeps its own back until jid
// is let in (promotePre): a stranger learns nothing of this network before a
// member admits them.
func (e *Engine) preOfferKnock(cs *callState, jid string) {
	ps := e.newPrePeer(cs, jid)
	if ps == nil {
		return
	}
	ps.knock = true
	ps.hold.start()
	room, peer := cs.roomID, ps.peer
	ps.neg.push(func() {
		offer, err := peer.Offer(false)
		if err != nil {
			e.log.Error("offer to knocker", "peer", jid, "err", err)
			return
		}
		sdp, cands := rtc.SplitCandidates(offer.SDP)
		offer.SDP = sdp
		var now []wire.Candidate // they were let in before this offer was made: no hold
		for _, c := range cands {
			if !ps.hold.keep(c) {
				now = append(now, c)
			}
		}
		go func() {
			e.relay(room, jid, wire.Payload{SDP: &offer})
			for _, c := range now {
				go e.relay(room, jid, wire.Payload{Candidate: &c})
			}
		}()
	})
}

// promotePre makes the pre-offered peer ps a peer of the call: its
// participant joined (work queue). The devices may have changed since the
// offer was made, so the tracks are set again; candidates held back for a
// knocker go now.
func (e *Engine) promotePre(cs *callState, ps *peerState) {
	delete(cs.pre, ps.jid)
	cs.peers[ps.jid] = ps
	ps.live = true
	e.setLocalTracks(ps, cs.local)
	for _, c := range ps.hold.release() {
		go e.relay(cs.roomID, ps.jid, wire.Payload{Candidate: &c})
	}
	e.flushEarly(cs, ps)
}

// candidateHold keeps a peer's own candidates back while on. The peer's
// candidate handler runs on the browser's or pion's goroutines.
type candidateHold struct {
	mu   sync.Mutex
	on   bool
	held []wire.Candidate
}

func (h *candidateHold) start() {
	h.mu.Lock()
	h.on = true
	h.mu.Unlock()
}

// keep holds c and reports true while the hold is on.
func (h *candidateHold) keep(c wire.Candidate) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.on {
		return false
	}
	h.held = appendCapped(h.held, c)
	return true
}

// release ends the hold and returns what it kept.
func (h *candidateHold) release() []wire.Candidate {
	h.mu.Lock()
	defer h.mu.Unlock()
	held := h.held
	h.on, h.held = false, nil
	return held
}

// dropPre closes a pre-offered peer whose participant stopped ringing.
func (e *Engine) dropPre(cs *callState, ps *peerState) {
	delete(cs.pre, ps.jid)
	ps.neg.close()
	_ = ps.peer.Close()
}

// setLocalTracks sends local's tracks on ps (a kind local lacks is left as it
// is: clearing a sender mid-negotiation fails it).
func (e *Engine) setLocalTracks(ps *peerState, local *rtc.LocalMedia) {
	if local == nil {
		return
	}
	for _, kt := range []struct {
		kind string
		t    rtc.Track
	}{{rtc.KindAudio, local.Audio()}, {rtc.KindVideo, local.Video()}, {rtc.KindScreen, local.Screen()}} {
		if kt.t == nil {
			continue
		}
		if err := ps.peer.SetTrack(kt.kind, kt.t); err != nil {
			e.log.Debug("set track", "peer", ps.jid, "kind", kt.kind, "err", err)
		}
	}
}

// flushEarly reports the remote tracks ps received before it was promoted.
func (e *Engine) flushEarly(cs *callState, ps *peerState) {
	early := ps.early
	ps.early = nil
	for _, t := range early {
		e.onRemoteTrack(cs, ps, t)
	}
}

// prepPeer is what a peer prepared for a call ringing here holds back.
type prepPeer struct {
	room   string
	hold   bool                     // our candidates wait in local until the answer is sent
	local  []wire.Candidate         // ours
	remote []wire.Candidate         // theirs, added once answered
	answer *wire.SessionDescription // the prepared answer to their newest offer
	offer  *wire.SessionDescription // their newest offer, not yet applied (natively: rtc.PrepareAhead)
	owner  *callState               // the call it joined, once answered
}

// onPrepSignal handles a signal for a call that rings here (work queue): an
// offer is applied and answered in advance, candidates are held.
func (e *Engine) onPrepSignal(ev wire.SignalEvent) {
	e.mu.Lock()
	ringing := e.knock != nil && e.knock.roomID == ev.RoomID // knocking: the members' offers
	for _, c := range e.incoming {
		ringing = ringing || c.RoomID == ev.RoomID
	}
	max := e.limits.MaxParticipants
	e.mu.Unlock()
	if !ringing {
		return
	}
	if e.prep == nil {
		e.prep = map[string]map[string]*peerState{}
	}
	peers := e.prep[ev.RoomID]
	ps := peers[ev.From]
	if ps == nil {
		if len(peers) >= max {
			return
		}
		if ps = e.newPrepPeer(ev.RoomID, ev.From); ps == nil {
			return
		}
		if peers == nil {
			peers = map[string]*peerState{}
			e.prep[ev.RoomID] = peers
		}
		peers[ev.From] = ps
	}
	pp := ps.prep
	switch {
	case ev.Payload.SDP != nil && ev.Payload.SDP.Type == "offer":
		sdp, cands := rtc.SplitCandidates(ev.Payload.SDP.SDP)
		pp.remote = appendCapped(pp.remote, cands...)
		desc := wire.SessionDescription{Type: "offer", SDP: sdp}
		if !rtc.PrepareAhead {
			pp.offer = &desc // applied on answering
			return
		}
		e.prepareAnswer(ps, desc)
	case ev.Payload.Candidate != nil:
		pp.remote = appendCapped(pp.remote, *ev.Payload.Candidate)
	}
}

// prepareAnswer applies the offer desc on ps's negotiation queue and keeps
// the answer (work queue).
func (e *Engine) prepareAnswer(ps *peerState, desc wire.SessionDescription) {
	pp, peer := ps.prep, ps.peer
	ps.neg.push(func() {
		answer, err := peer.Accept(desc)
		if err != nil {
			e.log.Error("prepare answer", "peer", ps.jid, "err", err)
			return
		}
		// On the work queue, where takePrep reads it once this queue has
		// drained: pushed before its read.
		e.work.push(func() { pp.answer = answer })
	})
}

// appendCapped appends to held candidates, at most maxHeldCandidates.
func appendCapped(held []wire.Candidate, cs ...wire.Candidate) []wire.Candidate {
	for _, c := range cs {
		if len(held) < maxHeldCandidates {
			held = append(held, c)
		}
	}
	return held
}

const maxHeldCandidates = 256

// newPrepPeer makes the peer answering jid's pre-offer in room, ringing here.
func (e *Engine) newPrepPeer(room, jid string) *peerState {
	ps := &peerState{jid: jid, tracks: map[string]rtc.Track{}, state: rtc.StateConnecting,
		prep: &prepPeer{room: room, hold: true}}
	peer, err := rtc.NewPeer(e.rtcConfig(), nil, false, rtc.PeerHandlers{
		Candidate: func(c wire.Candidate) {
			e.work.push(func() {
				if pp := ps.prep; pp.hold {
					pp.local = appendCapped(pp.local, c)
				} else {
					go e.relay(room, jid, wire.Payload{Candidate: &c})
				}
			})
		},
		State: func(s string) {
			e.work.push(func() {
				if cs := ps.prep.owner; cs != nil {
					e.onPeerState(cs, ps, s)
				} else {
					ps.state = s
				}
			})
		},
		Track: func(t rtc.Track) {
			e.work.push(func() {
				if cs := ps.prep.owner; cs != nil {
					e.onRemoteTrack(cs, ps, t)
				} else {
					ps.early = append(ps.early, t)
				}
			})
		},
		Refused: e.refused(ps),
	})
	if err != nil {
		e.log.Error("create prepared peer", "peer", jid, "err", err)
		return nil
	}
	ps.peer = peer
	ps.neg = newQueue()
	return ps
}

// dropPrep closes the peers prepared for room (it stopped ringing here, or
// this page signed out: room "" drops them all). Work queue.
func (e *Engine) dropPrep(room string) {
	for r, peers := range e.prep {
		if room != "" && r != room {
			continue
		}
		for _, ps := range peers {
			ps.neg.close()
			_ = ps.peer.Close()
		}
		delete(e.prep, r)
	}
}

// takePrep hands the peers prepared for room to cs, which answers it, and
// returns the signals for call.answer: each prepared answer and the
// candidates gathered for it. It waits (up to ctx) for offers still being
// applied. The prepared peers start sending local's tracks.
func (e *Engine) takePrep(ctx context.Context, cs *callState, room string) []wire.Relay {
	var peers []*peerState
	e.sync(func() {
		for _, ps := range e.prep[room] {
			peers = append(peers, ps)
			if pp := ps.prep; pp.offer != nil {
				e.prepareAnswer(ps, *pp.offer)
				pp.offer = nil
			}
		}
		delete(e.prep, room)
	})
	if len(peers) == 0 {
		return nil
	}
	for _, ps := range peers {
		done := make(chan struct{})
		if !ps.neg.push(func() { close(done) }) {
			continue
		}
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	var out []wire.Relay
	e.sync(func() {
		for _, ps := range peers {
			pp := ps.prep
			if pp.answer == nil {
				// The offer could not be applied: the pair negotiates as
				// if nothing had been prepared.
				ps.neg.close()
				_ = ps.peer.Close()
				continue
			}
			e.fitVideo(cs, ps) // sized for the call before its first frame
			e.setLocalTracks(ps, cs.local)
			out = append(out, wire.Relay{To: ps.jid, Payload: wire.Payload{SDP: pp.answer}})
			for _, c := range pp.local {
				if !inDescription(pp.answer, c) {
					out = append(out, wire.Relay{To: ps.jid, Payload: wire.Payload{Candidate: &c}})
				}
			}
			pp.local = nil
			// The user answered: the checks may start now, beside call.answer
			// on its way (the other side answers a check that overtakes our
			// answer, and keeps a DTLS hello that does).
			e.addHeld(ps)
			pp.owner = cs
			ps.live = true
			cs.peers[ps.jid] = ps
		}
	})
	return out
}

// joinPrepared makes the peers prepared while this page knocked the peers of
// cs, which it was just let into (work queue, before adopt): each sends its
// answer and the candidates it gathered, then adds the member's.
func (e *Engine) joinPrepared(cs *callState) {
	peers := e.prep[cs.roomID]
	delete(e.prep, cs.roomID)
	for jid, ps := range peers {
		pp := ps.prep
		pp.owner, pp.hold = cs, false
		ps.live = true
		cs.peers[jid] = ps
		local, peer, room, offer, media := pp.local, ps.peer, cs.roomID, pp.offer, cs.local
		pp.local, pp.offer = nil, nil
		ps.neg.push(func() { // after the offer was applied: its transceivers exist
			if offer != nil { // natively: applied only now
				if _, err := peer.Accept(*offer); err != nil {
					e.log.Error("accept offer", "peer", jid, "err", err)
					return
				}
			}
			e.setLocalTracks(ps, media)
			answer := peer.LocalAnswer()
			if answer == nil {
				return
			}
			// The candidates go beside the answer, not after its reply: the
			// member keeps any that overtake it until the answer is applied.
			go e.relay(room, jid, wire.Payload{SDP: answer})
			for _, c := range local {
				if !inDescription(answer, c) {
					go e.relay(room, jid, wire.Payload{Candidate: &c})
				}
			}
		})
		e.addHeld(ps) // after the answer was set, beside its relay
	}
}

// releasePrep lets the prepared peers of cs, whose answers the server has
// taken, send and receive candidates like any other (work queue): theirs
// are added now, so connectivity checks start only after the answer.
func (e *Engine) releasePrep(cs *callState) {
	for _, ps := range cs.peers {
		pp := ps.prep
		if pp == nil || !pp.hold {
			continue
		}
		pp.hold = false
		for _, c := range pp.local { // gathered while call.answer was on its way
			go e.relay(cs.roomID, ps.jid, wire.Payload{Candidate: &c})
		}
		pp.local = nil
		e.addHeld(ps) // any that came while call.answer was on its way
	}
}

// inDescription reports whether c is already in desc: the browser's local
// description lists the candidates gathered before it was read, and sending
// them again only costs the other side work while the call starts.
func inDescription(desc *wire.SessionDescription, c wire.Candidate) bool {
	return desc != nil && c.Candidate != "" && strings.Contains(desc.SDP, "a="+c.Candidate+"\r\n")
}

// addHeld adds the other side's candidates held for prepared peer ps, on its
// negotiation queue (work queue).
func (e *Engine) addHeld(ps *peerState) {
	remote, peer := ps.prep.remote, ps.peer
	ps.prep.remote = nil
	if len(remote) == 0 {
		return
	}
	ps.neg.push(func() {
		if err := peer.AddCandidates(remote); err != nil {
			e.log.Debug("add held candidates", "peer", ps.jid, "err", err)
		}
	})
}

// askReoffers asks each joined participant that offers to this one, and
// whose pre-offer this tab did not prepare, for its offer again (work queue):
// this tab answered a ring without having seen it (it signed in after the
// ring started), so the offer would never come. One still on its way is
// answered twice; the offerer drops the second answer.
func (e *Engine) askReoffers(cs *callState, c *wire.Call, me string) {
	mine := c.Participant(me)
	if mine == nil || !cs.answeredRing {
		return
	}
	cs.answeredRing = false // once, for the snapshot the answer returned
	for _, p := range c.Participants {
		if ps := cs.peers[p.JID]; p.JID == me || !wire.Joined(p.Status) || (ps != nil && ps.prep != nil) || !offers(p, *mine) {
			continue
		}
		go e.relay(cs.roomID, p.JID, wire.Payload{Reoffer: true})
	}
}

// onReoffer sends ps's pending offer again (work queue).
func (e *Engine) onReoffer(cs *callState, ps *peerState) {
	if !ps.offerer {
		return
	}
	room, peer := cs.roomID, ps.peer
	ps.neg.push(func() {
		if offer := peer.PendingOffer(); offer != nil {
			go e.relay(room, ps.jid, wire.Payload{SDP: offer})
		}
	})
}
