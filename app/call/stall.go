package call

import (
	"time"

	"parley/app/rtc"
)

// Media stalls. A browser reports a peer connection disconnected only 5 to 8
// s after its network path died (it waits for its consent checks to go
// unanswered), and the engine then waits iceRestartGrace more: video would
// be gone for 10 s. Media, though, arrives many times a second while a call
// lasts (a muted track still sends silence or black frames): when a peer
// that was receiving stops receiving anything for stallAfter, its path is
// taken for dead at once. The peer counts as reconnecting (reportMedia) and
// restarts ICE as if it had failed; bytes arriving again end the stall.
const (
	// stallCheck is how often the bytes received on each peer are read.
	// Each read is a getStats of the whole connection, the costliest thing
	// a page does while a call lasts (in a 5-person voice call the engine's
	// statistics were a fifth of each page's CPU at 250 ms).
	stallCheck = 500 * time.Millisecond
	// stallAfter is how long a receiving peer may receive nothing: with
	// stallCheck, a stall is seen 1.25 to 1.75 s after the last byte.
	stallAfter = 1250 * time.Millisecond
	// stallMinRate is the rate (bytes/s) above which a peer counts as
	// receiving media, so that a peer that only ever gets control packets
	// (no media sent to it) is never taken for stalled.
	stallMinRate = 1000
)

// stallWatch is one peer's receive counter, owned by the work queue.
type stallWatch struct {
	bytes   uint64    // bytes received at the last growth
	grew    time.Time // when they last grew
	busy    bool      // media was arriving at the last growth
	stalled bool      // nothing arrived for stallAfter while busy
}

// peerProbe is one peer of a call as a monitor reads it off the work queue:
// its state (touched only on the work queue) and its connection then.
type peerProbe struct {
	ps   *peerState
	peer *rtc.Peer
}

// everyTick calls read with the peers of cs every period until stop is
// closed, off the work queue (reading statistics waits for the browser):
// the monitors of stall.go and quality.go.
func (e *Engine) everyTick(cs *callState, stop <-chan struct{}, period time.Duration, read func([]peerProbe)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var probes []peerProbe
		e.sync(func() {
			if cs.ended {
				return
			}
			for _, ps := range cs.peers {
				probes = append(probes, peerProbe{ps, ps.peer})
			}
		})
		read(probes)
	}
}

// stallMonitor reads the bytes received on every peer while cs lasts.
func (e *Engine) stallMonitor(cs *callState, stop <-chan struct{}) {
	e.everyTick(cs, stop, stallCheck, func(probes []peerProbe) {
		for _, p := range probes {
			n, ok := p.peer.BytesReceived() // waits for the stats: not on the work queue
			if !ok {
				continue
			}
			at := time.Now()
			ps := p.ps
			e.work.push(func() { e.onBytesReceived(cs, ps, n, at) })
		}
	})
}

// onBytesReceived follows ps's receive counter n read at at (work queue).
func (e *Engine) onBytesReceived(cs *callState, ps *peerState, n uint64, at time.Time) {
	if cs.ended || cs.peers[ps.jid] != ps {
		return
	}
	w := &ps.stall
	if n != w.bytes || w.grew.IsZero() {
		if !w.grew.IsZero() {
			d := at.Sub(w.grew).Seconds()
			w.busy = d > 0 && float64(n-w.bytes)/d >= stallMinRate
		}
		w.bytes, w.grew = n, at
		if w.stalled {
			w.stalled = false
			e.log.Info("media flows again", "peer", ps.jid)
			if ps.state == rtc.StateConnected {
				e.watchICE(cs, ps, rtc.StateConnected)
			}
			e.reportMedia(cs)
		}
		return
	}
	if w.stalled || !w.busy || ps.state != rtc.StateConnected || at.Sub(w.grew) < stallAfter {
		return
	}
	w.stalled = true
	e.log.Info("media stalled: restarting ICE", "peer", ps.jid, "for", at.Sub(w.grew).Round(time.Millisecond))
	if !e.noICERestart {
		e.restartICE(cs, ps, false)
	}
	e.reportMedia(cs)
}
