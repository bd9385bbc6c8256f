//go:build !(js && wasm)

package rtc

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"parley/app/wire"
)

// PrepareAhead is false natively: pion's ICE agent, started by setting the
// prepared answer, fails after its checking timeout without remote
// candidates, so the offer waits and is applied on answering (see peer_js.go).
const PrepareAhead = false

// answererAdopts is false natively: pion matches the transceivers an answerer
// added up front to the offer's media sections.
const answererAdopts = false

// peerConn and transceiver are pion's natively.
type (
	peerConn    = webrtc.PeerConnection
	transceiver = webrtc.RTPTransceiver
)

func adoptTransceivers(*peerConn, *LocalMedia) (audio, video, screen *transceiver, err error) {
	return nil, nil, nil, errors.New("rtc: native peers add their transceivers up front")
}

type peerPlatform struct{}

func (peerPlatform) release() {}

// configuration is cfg as pion's configuration.
func configuration(cfg Config) webrtc.Configuration {
	// One transport for every section from the first offer on (see the
	// browser's, peer_js.go).
	c := webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle}
	for _, s := range cfg.ICEServers {
		srv := webrtc.ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			srv.Credential = s.Credential
			srv.CredentialType = webrtc.ICECredentialTypePassword
		}
		c.ICEServers = append(c.ICEServers, srv)
	}
	if cfg.ICEPolicy == wire.ICEPolicyRelay {
		c.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	return c
}

// newPeerConnection builds a native pion peer connection tuned for quick
// failure detection and loopback use (tests and benchmarks run on one machine).
func newPeerConnection(config Config) (*peerConn, error) {
	cfg := configuration(config)
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(0) // no mDNS: nothing to resolve on loopback
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	if cfg.ICETransportPolicy == webrtc.ICETransportPolicyRelay {
		// Relayed candidates only: there is no better pair to wait for, and
		// pion would otherwise hold back a working relay pair for 2 s at
		// every connection and every ICE restart.
		se.SetRelayAcceptanceMinWait(0)
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m))
	return api.NewPeerConnection(cfg)
}

// setLocalOffer creates an offer (an ICE restart when restart is true), sets
// it as the local description and returns it as set.
func setLocalOffer(pc *peerConn, restart bool) (wire.SessionDescription, error) {
	offer, err := pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err != nil {
		return wire.SessionDescription{}, fmt.Errorf("create offer: %w", err)
	}
	return setLocal(pc, offer)
}

// setLocalAnswer creates the answer to the applied offer, sets it as the
// local description and returns it as set.
func setLocalAnswer(pc *peerConn) (wire.SessionDescription, error) {
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return wire.SessionDescription{}, fmt.Errorf("create answer: %w", err)
	}
	return setLocal(pc, answer)
}

// setLocal sets d as pc's local description and returns it as set (with
// the candidates gathered since).
func setLocal(pc *peerConn, d webrtc.SessionDescription) (wire.SessionDescription, error) {
	if err := pc.SetLocalDescription(d); err != nil {
		return wire.SessionDescription{}, fmt.Errorf("set local %s: %w", d.Type, err)
	}
	if ld := localDescription(pc); ld != nil {
		return *ld, nil
	}
	return wire.SessionDescription{Type: d.Type.String(), SDP: d.SDP}, nil
}

// setRemoteDescription applies desc, an offer or an answer.
func setRemoteDescription(pc *peerConn, desc wire.SessionDescription) error {
	typ := webrtc.SDPTypeAnswer
	if desc.Type == "offer" {
		typ = webrtc.SDPTypeOffer
	}
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: desc.SDP})
}

// localDescription is pc's local description, nil when it has none.
func localDescription(pc *peerConn) *wire.SessionDescription {
	ld := pc.LocalDescription()
	if ld == nil {
		return nil
	}
	return &wire.SessionDescription{Type: ld.Type.String(), SDP: ld.SDP}
}

// haveLocalOffer reports whether pc's offer waits for its answer.
func haveLocalOffer(pc *peerConn) bool {
	return pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer
}

// setConfiguration replaces pc's ICE servers and transport policy.
func setConfiguration(pc *peerConn, cfg Config) error {
	return pc.SetConfiguration(configuration(cfg))
}

func closePeerConnection(pc *peerConn) error { return pc.Close() }

func addTransceiver(pc *peerConn, kind string, t Track) (*transceiver, error) {
	init := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}
	if lt, ok := t.(*LocalTrack); ok && lt != nil {
		return pc.AddTransceiverFromTrack(lt.track, init)
	}
	codec := webrtc.RTPCodecTypeAudio
	if kind == KindVideo {
		codec = webrtc.RTPCodecTypeVideo
	}
	return pc.AddTransceiverFromKind(codec, init)
}

func replaceTrack(tr *transceiver, t Track) error {
	var local webrtc.TrackLocal
	if lt, ok := t.(*LocalTrack); ok && lt != nil {
		local = lt.track
	}
	if err := tr.Sender().ReplaceTrack(local); err != nil {
		return fmt.Errorf("rtc: replace track: %w", err)
	}
	return nil
}

func hookPeer(pc *peerConn, h PeerHandlers) peerPlatform {
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if h.State == nil {
			return
		}
		switch s {
		case webrtc.PeerConnectionStateConnecting:
			h.State(StateConnecting)
		case webrtc.PeerConnectionStateConnected:
			h.State(StateConnected)
		case webrtc.PeerConnectionStateDisconnected:
			h.State(StateDisconnected)
		case webrtc.PeerConnectionStateFailed:
			h.State(StateFailed)
		case webrtc.PeerConnectionStateClosed:
			h.State(StateClosed)
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil || h.Candidate == nil {
			return
		}
		init := c.ToJSON()
		h.Candidate(wire.Candidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex})
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, rec *webrtc.RTPReceiver) {
		rt := &RemoteTrack{kind: tr.Kind().String(), id: tr.ID(), screen: isScreenReceiver(pc, rec)}
		go rt.read(tr)
		if h.Track != nil {
			h.Track(rt)
		}
	})
	return peerPlatform{}
}

// isScreenReceiver reports whether rec is the receiver of pc's second video
// transceiver: the one a shared screen arrives on.
func isScreenReceiver(pc *peerConn, rec *webrtc.RTPReceiver) bool {
	videos := 0
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		videos++
		if tr.Receiver() == rec {
			return videos == 2
		}
	}
	return false
}

// RemoteTrack is a remote track received natively. It counts the RTP packets
// and payload bytes that arrive, which is what native tests assert on.
type RemoteTrack struct {
	kind, id string
	screen   bool
	packets  atomic.Uint64
	bytes    atomic.Uint64
}

// Screen reports whether the track is a shared screen (it came on the
// screen transceiver).
func (t *RemoteTrack) Screen() bool { return t.screen }

// Kind is KindAudio or KindVideo.
func (t *RemoteTrack) Kind() string { return t.kind }

// ID identifies the track.
func (t *RemoteTrack) ID() string { return t.id }

// Packets is the number of RTP packets received so far.
func (t *RemoteTrack) Packets() uint64 { return t.packets.Load() }

// Bytes is the number of RTP payload bytes received so far.
func (t *RemoteTrack) Bytes() uint64 { return t.bytes.Load() }

func (t *RemoteTrack) read(tr *webrtc.TrackRemote) {
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		t.packets.Add(1)
		t.bytes.Add(uint64(len(p.Payload)))
	}
}

// AudioLevel is the remote participant's current audio level (0 to 1). Native
// peers do not measure levels: ok is false.
func (p *Peer) AudioLevel() (level float64, ok bool) { return 0, false }

// LocalAudioLevel is the level of the microphone this peer sends (0 to 1).
// Native peers do not measure levels: ok is false.
func (p *Peer) LocalAudioLevel() (level float64, ok bool) { return 0, false }

// BytesReceived reports no count natively: pion's GetStats races with a
// connection closing under it (a data race inside pion), and pion notices a
// dead path by itself within seconds. The browser build counts (peer_js.go).
func (p *Peer) BytesReceived() (n uint64, ok bool) { return 0, false }

// addCandidates adds cs to pion's agent one after another (each returns at
// once natively). All are added even when one fails; the first failure is
// returned.
func (p *Peer) addCandidates(cs []wire.Candidate) error {
	var first error
	for _, c := range cs {
		if err := p.pc.AddICECandidate(webrtc.ICECandidateInit{
			Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex,
		}); err != nil && first == nil {
			first = fmt.Errorf("rtc: add candidate: %w", err)
		}
	}
	return first
}
