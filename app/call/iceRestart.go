package call

import (
	"time"

	"parley/app/rtc"
	"parley/app/wire"
)

// ICE restarts. A network path that dies under a call (Wi-Fi to mobile data,
// a VPN coming up, a laptop waking from sleep, a TURN relay going away) leaves
// the peer connection disconnected, then failed: its candidates no longer
// reach the other side, and the browser does not look for new ones by itself.
// An ICE restart gathers fresh candidates with fresh credentials and checks
// them again, keeping the tracks, transceivers and DTLS session.
//
// Rules (also in app/wire/PROTOCOL.md, "ICE restarts"):
//   - A peer connection that stays disconnected for iceRestartGrace, or goes
//     failed, restarts. A disconnection that heals within the grace (a lost
//     burst of packets) costs nothing.
//   - Of each pair, the offerer makes a restart offer; the other side asks
//     for one with a call.signal whose payload is {"restart": true}. The
//     offerer answers such a request with a restart offer unless it made one
//     within iceRestartGap (both sides usually notice at the same time).
//   - While the peer is not connected again, the side repeats its restart
//     (or its request) after iceRestartFirst, then twice as long each time,
//     up to iceRestartMax, for as long as the call and the peer last.
//   - Connecting again stops the repetition and resets the backoff; so do
//     the end of the call and the peer leaving.
//
// Timers only push onto the engine's work queue, which owns peerState; a
// timer that fires after the peer was dropped or reset does nothing.
const (
	// iceRestartGrace is how long a peer may stay disconnected before it
	// restarts.
	iceRestartGrace = 2 * time.Second
	// iceRestartFirst is the wait after a restart before the next one when
	// the peer has not connected again; it doubles each time.
	iceRestartFirst = 2 * time.Second
	// iceRestartMax caps the wait between restarts.
	iceRestartMax = 15 * time.Second
	// iceRestartGap is the least time between two restarts of one peer made
	// for different reasons (the other side's request, our own failure).
	iceRestartGap = time.Second
)

// iceRestart is one peer's restart schedule. The work queue owns it.
type iceRestart struct {
	timer   *time.Timer
	gen     int           // which arming of timer is current; stale fires are ignored
	grace   bool          // timer is the grace period of a disconnection (no restart made yet)
	backoff time.Duration // wait after the next restart before another; 0 before the first
	last    time.Time     // when this side last restarted or asked for one
	count   int           // restarts made or asked for since the peer last connected
}

// nextICEBackoff is the wait after a restart that followed a wait of d.
func nextICEBackoff(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return iceRestartFirst
	case d*2 > iceRestartMax:
		return iceRestartMax
	default:
		return d * 2
	}
}

// watchICE follows the connection state s of ps for restarts (work queue).
func (e *Engine) watchICE(cs *callState, ps *peerState, s string) {
	if e.noICERestart {
		return
	}
	r := &ps.ice
	switch s {
	case rtc.StateConnected:
		e.stopICETimer(ps)
		r.backoff, r.count = 0, 0
	case rtc.StateDisconnected:
		if r.timer == nil {
			e.armICETimer(cs, ps, iceRestartGrace)
			r.grace = true
		}
	case rtc.StateFailed:
		if r.timer == nil || r.grace {
			e.restartICE(cs, ps, false)
		}
	}
}

// restartICE makes a restart offer (offerer) or asks the other side for one,
// then schedules the next attempt in case the peer does not connect (work
// queue). Unless force is set (the backoff ran out), the offerer makes no
// new offer while one of its offers still waits for an answer: a second
// offer crossing the first one's answer would pair the answer with the
// wrong ICE credentials and cost a whole backoff.
func (e *Engine) restartICE(cs *callState, ps *peerState, force bool) {
	r := &ps.ice
	now := time.Now()
	if since := now.Sub(r.last); !r.last.IsZero() && since < iceRestartGap {
		// One is under way; the timer repeats it if it does not help.
		if r.timer == nil {
			e.armICETimer(cs, ps, iceRestartGap-since)
		}
		return
	}
	r.last = now
	r.count++
	if ps.offerer {
		e.sendRestartOffer(cs, ps, force)
	} else {
		go e.relay(cs.roomID, ps.jid, wire.Payload{Restart: true})
	}
	e.log.Info("ICE restart", "peer", ps.jid, "offerer", ps.offerer, "attempt", r.count, "state", ps.state)
	r.backoff = nextICEBackoff(r.backoff)
	e.armICETimer(cs, ps, r.backoff)
	r.grace = false
}

// onRestartAsked handles the other side's request for a restart offer (work
// queue). Only the offerer of the pair makes offers.
func (e *Engine) onRestartAsked(cs *callState, ps *peerState) {
	if ps.offerer {
		e.restartICE(cs, ps, false)
	}
}

// sendRestartOffer makes an ICE restart offer to ps and sends it, on the
// peer's negotiation queue; without force, not while an earlier offer waits
// for its answer.
func (e *Engine) sendRestartOffer(cs *callState, ps *peerState, force bool) {
	room, peer := cs.roomID, ps.peer
	ps.neg.push(func() {
		if !force && peer.AwaitingAnswer() {
			return
		}
		offer, err := peer.Offer(true)
		if err != nil {
			e.log.Error("ICE restart offer", "peer", ps.jid, "err", err)
			return
		}
		go e.relay(room, ps.jid, wire.Payload{SDP: &offer})
	})
}

// armICETimer (re)starts ps's restart timer to fire after d.
func (e *Engine) armICETimer(cs *callState, ps *peerState, d time.Duration) {
	e.stopICETimer(ps)
	r := &ps.ice
	gen := r.gen
	r.timer = time.AfterFunc(d, func() {
		e.work.push(func() { e.onICETimer(cs, ps, gen) })
	})
}

// stopICETimer cancels ps's restart timer; a fire already queued is ignored.
func (e *Engine) stopICETimer(ps *peerState) {
	r := &ps.ice
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.grace = false
	r.gen++
}

// onICETimer runs when ps's grace or backoff has passed (work queue).
func (e *Engine) onICETimer(cs *callState, ps *peerState, gen int) {
	r := &ps.ice
	if gen != r.gen || cs.ended || cs.peers[ps.jid] != ps {
		return
	}
	r.timer = nil
	r.grace = false
	if ps.state == rtc.StateConnected && !ps.stall.stalled || e.noICERestart {
		r.backoff, r.count = 0, 0
		return
	}
	e.restartICE(cs, ps, true)
}

// updatePeersICE gives every peer of the current call the engine's current
// ICE servers and credentials, for the candidates of its next restart (work
// queue). The credentials a peer was made with may have expired by the time
// its path dies: a restart gathering with them would get no relay.
func (e *Engine) updatePeersICE() {
	e.mu.Lock()
	cs := e.call
	ended := cs == nil || cs.ended // written under e.mu by dropHold
	e.mu.Unlock()
	if ended || len(cs.peers) == 0 {
		return
	}
	cfg := e.rtcConfig()
	for _, ps := range cs.peers {
		if err := ps.peer.SetConfig(cfg); err != nil {
			e.log.Warn("update ICE servers", "peer", ps.jid, "err", err)
		}
	}
}

// restartCutOff restarts ICE at once for every peer whose path is down when
// signalling comes back (work queue). A network change often takes both
// away: the restart offers and requests made meanwhile could not be sent,
// and the backoff would wait up to iceRestartMax before the next one.
func (e *Engine) restartCutOff(cs *callState) {
	if e.noICERestart || cs.ended {
		return
	}
	for _, ps := range cs.peers {
		switch {
		case ps.stall.stalled, ps.state == rtc.StateDisconnected, ps.state == rtc.StateFailed:
			e.restartICE(cs, ps, true)
		}
	}
}
