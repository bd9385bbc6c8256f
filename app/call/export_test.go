package call

import (
	"parley/app/rtc"
	"parley/app/wire"
)

// SetCreatedHook makes f run when the server has answered a makeCall and
// before the engine takes the reply in, so a test can act in that window.
func SetCreatedHook(e *Engine, f func()) { e.createdHook = f }

// SetSignalHook makes f see every call.signal payload e receives, on e's work
// queue before it is applied (f must not block).
func SetSignalHook(e *Engine, f func(from string, p wire.Payload)) { e.signalHook = f }

// DisableICERestart stops e restarting ICE on its own, to show what that is
// for; as an offerer it still makes a restart offer when asked.
func DisableICERestart(e *Engine) { e.noICERestart = true }

// Prepared is how many peers e has prepared for the call room ringing on it
// (preoffer.go): with the answer ready, or natively with the offer kept for
// the answer.
func Prepared(e *Engine, room string) int {
	n := 0
	var peers []*peerState
	e.sync(func() {
		for _, ps := range e.prep[room] {
			peers = append(peers, ps)
		}
	})
	for _, ps := range peers {
		done := make(chan struct{})
		if ps.neg.push(func() { close(done) }) {
			<-done
		}
	}
	e.sync(func() {
		for _, ps := range peers {
			if ps.prep.answer != nil || ps.prep.offer != nil { // natively the offer waits for the answer
				n++
			}
		}
	})
	return n
}

// VideoLimits are the caps e's peers in its call were asked to put on the
// video they send, by the other participant's JID.
func VideoLimits(e *Engine) map[string]rtc.VideoLimit {
	out := map[string]rtc.VideoLimit{}
	e.sync(func() {
		if cs := e.call; cs != nil {
			for jid, ps := range cs.peers {
				out[jid] = ps.peer.VideoLimit()
			}
		}
	})
	return out
}

// PreparedOffer is the offer from jid that e keeps for the call room ringing
// on it, natively applied only on answering (preoffer.go); "" when none.
func PreparedOffer(e *Engine, room, jid string) string {
	var sdp string
	e.sync(func() {
		if ps := e.prep[room][jid]; ps != nil && ps.prep.offer != nil {
			sdp = ps.prep.offer.SDP
		}
	})
	return sdp
}

// HoldWork stalls e's work queue until the returned release is called, so a
// test can make the queue run late (as on a busy page) deterministically.
func HoldWork(e *Engine) (release func()) {
	held, gate := make(chan struct{}), make(chan struct{})
	if !e.work.push(func() {
		close(held)
		<-gate
	}) {
		return func() {} // the engine is closed: nothing runs to hold
	}
	<-held
	return func() { close(gate) }
}

// RingGranted reports whether e found the devices for the call room, ringing
// on it, allowed already (false while it has not found out).
func RingGranted(e *Engine, room string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ringGrants[room]
}
