package rtc

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"parley/app/wire"
)

// Peer states reported to PeerHandlers.State.
const (
	StateConnecting   = "connecting"
	StateConnected    = "connected"
	StateDisconnected = "disconnected"
	StateFailed       = "failed"
	StateClosed       = "closed"
)

// PeerHandlers receive a Peer's events. They are called from pion's or the
// browser's goroutines and must not block.
type PeerHandlers struct {
	// Candidate is a local ICE candidate to send to the other side.
	Candidate func(wire.Candidate)
	// State is the connection state, one of the State* constants.
	State func(state string)
	// Track is a remote track that started arriving.
	Track func(Track)
	// Refused, if set, gets a change of the sending parameters (a video
	// limit, the audio's priority) that the browser refused: that change is
	// not in force. It is called from the browser's event loop.
	Refused func(error)
}

// Config configures peers.
type Config struct {
	// ICEServers are STUN/TURN servers; none is needed on a LAN or loopback.
	ICEServers []wire.ICEServer
	// ICEPolicy is "relay" to use relayed candidates only; empty or "all"
	// uses every kind.
	ICEPolicy string
}

// Peer is the media connection to one remote participant. Both sides always
// negotiate one audio and two video transceivers (the camera, then the shared
// screen), so that turning video on or sharing the screen later is a track
// replacement, not a renegotiation. Exactly one side of each pair
// makes offers (see the call engine), so offers never collide.
//
// The connection and its transceivers are the platform's (peerConn and
// transceiver): in the browser its own RTCPeerConnection, driven through
// syscall/js (peer_js.go), natively pion's (peer_other.go).
type Peer struct {
	pc     *peerConn
	h      PeerHandlers
	audio  *transceiver
	video  *transceiver
	screen *transceiver // the third, video transceiver for a shared screen (screen.go)
	plat   peerPlatform
	local  *LocalMedia
	mu     sync.Mutex
	queued []wire.Candidate // remote candidates that came before the remote description
	// remote is set once a remote description is applied, and ufrag is that
	// description's: a candidate is checked against them without reading
	// the description back (in the browser a copy of the whole SDP into Go,
	// per candidate, while the call starts).
	remote bool
	ufrag  string
	closed bool
	// config is the ICE configuration SetConfig keeps for the next ICE
	// restart, nil when there is none.
	config *Config
	// limit is the cap on the camera video asked for (SetVideoLimit).
	limit VideoLimit
}

// NewPeer creates a peer connection that sends local's tracks (either may be
// nil). The offerer creates the audio and video transceivers; the answerer
// takes over the ones the offer creates (see Accept), because a browser does
// not match transceivers added before an offer arrives to the offer's media.
func NewPeer(cfg Config, local *LocalMedia, offerer bool, h PeerHandlers) (*Peer, error) {
	pc, err := newPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	p := &Peer{pc: pc, h: h, local: local}
	if offerer || !answererAdopts {
		var audio, video, screen Track
		if local != nil {
			audio, video, screen = local.Audio(), local.Video(), local.Screen()
		}
		if p.audio, err = addTransceiver(pc, KindAudio, audio); err == nil {
			p.video, err = addTransceiver(pc, KindVideo, video)
		}
		if err == nil {
			p.screen, err = addTransceiver(pc, KindVideo, screen)
		}
		if err != nil {
			_ = closePeerConnection(pc)
			return nil, fmt.Errorf("rtc: add transceivers: %w", err)
		}
		p.preferAudio(p.audio)
	}
	p.plat = hookPeer(pc, h)
	return p, nil
}

// Offer creates an offer (an ICE restart when restart is true), sets it as the
// local description and returns it.
func (p *Peer) Offer(restart bool) (wire.SessionDescription, error) {
	if restart {
		if err := p.applyConfig(); err != nil {
			return wire.SessionDescription{}, err
		}
	}
	offer, err := setLocalOffer(p.pc, restart)
	if err != nil {
		return wire.SessionDescription{}, fmt.Errorf("rtc: offer: %w", err)
	}
	return offer, nil
}

// PendingOffer returns the offer of this peer that waits for its answer (with
// the candidates gathered since), or nil when none does.
func (p *Peer) PendingOffer() *wire.SessionDescription {
	if !haveLocalOffer(p.pc) {
		return nil
	}
	return localDescription(p.pc)
}

// LocalAnswer returns the answer set as this peer's local description, or nil
// when its local description is not an answer.
func (p *Peer) LocalAnswer() *wire.SessionDescription {
	ld := localDescription(p.pc)
	if ld == nil || ld.Type != "answer" {
		return nil
	}
	return ld
}

// SplitCandidates returns sdp without its candidate lines (a=candidate and
// a=end-of-candidates), and those candidates, each named by its section's mid
// and index: a description applied while its candidates are held back.
func SplitCandidates(sdp string) (string, []wire.Candidate) {
	var b strings.Builder
	var out []wire.Candidate
	var mids []string // by section
	for line := range strings.SplitAfterSeq(sdp, "\n") {
		t := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(t, "m="):
			mids = append(mids, "")
		case strings.HasPrefix(t, "a=mid:") && len(mids) > 0:
			mids[len(mids)-1] = strings.TrimPrefix(t, "a=mid:")
		case strings.HasPrefix(t, "a=candidate:"):
			c := wire.Candidate{Candidate: strings.TrimPrefix(t, "a=")}
			if len(mids) > 0 {
				idx := uint16(len(mids) - 1)
				c.SDPMLineIndex = &idx
			}
			out = append(out, c)
			continue
		case t == "a=end-of-candidates":
			continue
		}
		b.WriteString(line)
	}
	for i := range out { // a section's mid may come after its candidates
		if idx := out[i].SDPMLineIndex; idx != nil && mids[*idx] != "" {
			m := mids[*idx]
			out[i].SDPMid = &m
		}
	}
	return b.String(), out
}

// SetConfig replaces the peer's ICE servers and transport policy. They take
// effect at the next ICE restart, whose candidates are then gathered with
// them (fresh TURN credentials, for a call that outlives its first ones).
// They are applied then, on the peer's negotiation (Offer or Accept): pion
// cannot change its servers while it gathers, which it does after every
// local description, so applying them from another goroutine raced it.
func (p *Peer) SetConfig(cfg Config) error {
	p.mu.Lock()
	p.config = &cfg
	p.mu.Unlock()
	return nil
}

// applyConfig applies what SetConfig kept, before an ICE restart's
// negotiation gathers.
func (p *Peer) applyConfig() error {
	p.mu.Lock()
	c := p.config
	p.config = nil
	p.mu.Unlock()
	if c == nil {
		return nil
	}
	if err := setConfiguration(p.pc, *c); err != nil {
		return fmt.Errorf("rtc: set configuration: %w", err)
	}
	return nil
}

// AwaitingAnswer reports whether an offer of this peer waits for its answer
// (signaling state have-local-offer).
func (p *Peer) AwaitingAnswer() bool {
	return haveLocalOffer(p.pc)
}

// Accept applies a remote description. For an offer it returns the answer,
// already set as the local description; for an answer it returns nil.
func (p *Peer) Accept(desc wire.SessionDescription) (*wire.SessionDescription, error) {
	isOffer := desc.Type == "offer"
	if !isOffer && desc.Type != "answer" {
		return nil, fmt.Errorf("rtc: unsupported description type %q", desc.Type)
	}
	ufrag := descriptionUfrag(desc.SDP)
	p.mu.Lock()
	restart := p.remote && p.ufrag != ufrag
	p.mu.Unlock()
	if isOffer && restart {
		if err := p.applyConfig(); err != nil { // their ICE restart: ours gathers now
			return nil, err
		}
	}
	if err := setRemoteDescription(p.pc, desc); err != nil {
		return nil, fmt.Errorf("rtc: set remote %s: %w", desc.Type, err)
	}
	adopted := false
	if audio, _ := p.transceivers(); isOffer && audio == nil {
		audio, video, screen, err := adoptTransceivers(p.pc, p.local)
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		p.audio, p.video, p.screen = audio, video, screen
		p.mu.Unlock()
		adopted = true
	}
	p.mu.Lock()
	p.remote, p.ufrag = true, ufrag
	var ready, later []wire.Candidate
	for _, c := range p.queued {
		if matchesUfrag(c.Candidate, ufrag) {
			ready = append(ready, c)
		} else if len(later) < maxQueuedCandidates {
			later = append(later, c) // an older generation's, or a newer one's still on its way
		}
	}
	p.queued = later
	p.mu.Unlock()
	// The description is applied: a bad candidate of theirs costs only
	// itself (addCandidates adds the others), not the negotiation.
	_ = p.addCandidates(ready)
	if !isOffer {
		return nil, nil
	}
	answer, err := setLocalAnswer(p.pc)
	if err != nil {
		return nil, fmt.Errorf("rtc: answer: %w", err)
	}
	if adopted { // the senders' encodings exist once the answer is set
		p.preferAudio(p.audio)
		p.mu.Lock()
		limit := p.limit
		p.mu.Unlock()
		if limit != (VideoLimit{}) {
			p.sendLimit(p.video, limit) // asked for before the sender could take it
		}
	}
	return &answer, nil
}

// maxQueuedCandidates bounds the remote candidates held for a description
// that has not arrived.
const maxQueuedCandidates = 256

// AddCandidates adds remote ICE candidates, in order, holding each until the
// remote description it belongs to is applied. After an ICE restart the
// other side gathers (and sends) its new candidates while its offer or
// answer is still on its way: applied now, they would be dropped for naming
// ICE credentials (ufrag) the current remote description does not have, and
// the restart would find no path. The browser is handed all of them before
// the engine waits for any (addCandidates): a call's start brings them in
// bursts.
func (p *Peer) AddCandidates(cs []wire.Candidate) error {
	var ready []wire.Candidate
	p.mu.Lock()
	for _, c := range cs {
		if p.remote && matchesUfrag(c.Candidate, p.ufrag) {
			ready = append(ready, c)
		} else if len(p.queued) < maxQueuedCandidates {
			p.queued = append(p.queued, c)
		}
	}
	p.mu.Unlock()
	return p.addCandidates(ready)
}

// matchesUfrag reports whether a candidate line belongs to the description
// whose ufrag is given: it names no ufrag, or that one.
func matchesUfrag(candidate, ufrag string) bool {
	cu := candidateUfrag(candidate)
	return cu == "" || cu == ufrag
}

// candidateUfrag is the "ufrag" extension of a candidate line (RFC 8839), ""
// when it has none.
func candidateUfrag(candidate string) string {
	f := strings.Fields(candidate)
	for i := 8; i+1 < len(f); i += 2 { // extensions follow "... typ <type>", in name/value pairs
		if f[i] == "ufrag" {
			return f[i+1]
		}
	}
	return ""
}

// descriptionUfrag is the first a=ice-ufrag of a session description.
func descriptionUfrag(sdp string) string {
	for line := range strings.SplitSeq(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// SetTrack sends t (nil to send nothing) on the transceiver of kind
// (KindAudio, KindVideo or KindScreen) without renegotiating.
func (p *Peer) SetTrack(kind string, t Track) error {
	tr, video := p.transceivers()
	switch kind {
	case KindVideo:
		tr = video
	case KindScreen:
		p.mu.Lock()
		tr = p.screen
		p.mu.Unlock()
	}
	if tr == nil {
		return errors.New("rtc: no " + kind + " transceiver yet")
	}
	return replaceTrack(tr, t)
}

// VideoLimit is the cap on the camera video last asked for (SetVideoLimit).
func (p *Peer) VideoLimit() VideoLimit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

// transceivers are the audio and video transceivers, nil until the answerer
// has adopted the offer's. A peer's negotiation and its track changes run on
// different goroutines, so they are read under the lock.
func (p *Peer) transceivers() (audio, video *transceiver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.audio, p.video
}

// Close ends the connection and releases what it holds. It is safe to call twice.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := closePeerConnection(p.pc)
	p.plat.release()
	if err != nil {
		return fmt.Errorf("rtc: close peer: %w", err)
	}
	return nil
}
