//go:build js && wasm

package rtc

import (
	"errors"
	"fmt"
	"syscall/js"

	"parley/app/wire"
)

// peerConn is the browser's RTCPeerConnection, driven through syscall/js
// directly: pion's browser build wraps the same object but brings its
// native stack's packages into the wasm (their init alone took about 35 ms
// of every page start).
type peerConn struct{ v js.Value }

// transceiver is one of its RTCRtpTransceivers.
type transceiver struct{ v js.Value }

// sender is the transceiver's RTCRtpSender.
func (tr *transceiver) sender() js.Value { return tr.v.Get("sender") }

// receiver is the transceiver's RTCRtpReceiver.
func (tr *transceiver) receiver() js.Value { return tr.v.Get("receiver") }

// configuration is cfg as an RTCConfiguration.
func configuration(cfg Config) js.Value {
	// One transport for every section from the first offer on: a browser's
	// default ("balanced") gathers and checks a second one for video until
	// the answer accepts the bundle, and trickles every candidate once per
	// section, all of which the call's start waits on.
	c := map[string]any{"bundlePolicy": "max-bundle"}
	if len(cfg.ICEServers) > 0 {
		servers := make([]any, len(cfg.ICEServers))
		for i, s := range cfg.ICEServers {
			urls := make([]any, len(s.URLs))
			for j, u := range s.URLs {
				urls[j] = u
			}
			srv := map[string]any{"urls": urls}
			if s.Username != "" {
				srv["username"] = s.Username
			}
			if s.Credential != "" {
				srv["credential"] = s.Credential
			}
			servers[i] = srv
		}
		c["iceServers"] = servers
	}
	if cfg.ICEPolicy == wire.ICEPolicyRelay {
		c["iceTransportPolicy"] = "relay"
	}
	return js.ValueOf(c)
}

// caught turns a JavaScript exception thrown by a call in the deferring
// function into *err.
func caught(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: %v", what, r)
	}
}

func newPeerConnection(cfg Config) (pc *peerConn, err error) {
	defer caught(&err, "RTCPeerConnection")
	return &peerConn{v: js.Global().Get("RTCPeerConnection").New(configuration(cfg))}, nil
}

// setLocalOffer sets a new offer (an ICE restart when restart is true) as
// the local description and returns it as set. The browser creates it in
// the same step (setLocalDescription without an argument): one wait for
// WebRTC's thread instead of two.
func setLocalOffer(pc *peerConn, restart bool) (_ wire.SessionDescription, err error) {
	defer caught(&err, "set local offer")
	if restart {
		pc.v.Call("restartIce")
	}
	return setLocal(pc, "offer")
}

// setLocalAnswer sets the answer to the applied offer as the local
// description, created in the same step, and returns it as set.
func setLocalAnswer(pc *peerConn) (_ wire.SessionDescription, err error) {
	defer caught(&err, "set local answer")
	return setLocal(pc, "answer")
}

// setLocal sets the description the signaling state calls for (an offer, or
// the answer to a remote offer) and returns it, which must be of type want.
func setLocal(pc *peerConn, want string) (wire.SessionDescription, error) {
	if _, err := Await(pc.v.Call("setLocalDescription")); err != nil {
		return wire.SessionDescription{}, err
	}
	ld := localDescription(pc)
	if ld == nil || ld.Type != want {
		return wire.SessionDescription{}, errors.New("the browser set no local " + want)
	}
	return *ld, nil
}

// setRemoteDescription applies desc, an offer or an answer.
func setRemoteDescription(pc *peerConn, desc wire.SessionDescription) (err error) {
	defer caught(&err, "set remote description")
	_, err = Await(pc.v.Call("setRemoteDescription", map[string]any{"type": desc.Type, "sdp": desc.SDP}))
	return err
}

// localDescription is pc's local description, nil when it has none.
func localDescription(pc *peerConn) *wire.SessionDescription {
	ld := pc.v.Get("localDescription")
	if ld.Type() != js.TypeObject {
		return nil
	}
	return &wire.SessionDescription{Type: ld.Get("type").String(), SDP: ld.Get("sdp").String()}
}

// haveLocalOffer reports whether pc's offer waits for its answer.
func haveLocalOffer(pc *peerConn) bool {
	return pc.v.Get("signalingState").String() == "have-local-offer"
}

// setConfiguration replaces pc's ICE servers and transport policy.
func setConfiguration(pc *peerConn, cfg Config) (err error) {
	defer caught(&err, "setConfiguration")
	pc.v.Call("setConfiguration", configuration(cfg))
	return nil
}

func closePeerConnection(pc *peerConn) (err error) {
	defer caught(&err, "close")
	pc.v.Call("close")
	return nil
}

// peerPlatform holds the browser event listeners a Peer registered.
type peerPlatform struct {
	target js.Value
	names  []string
	funcs  []js.Func
}

func (p peerPlatform) release() {
	for i, f := range p.funcs {
		p.target.Call("removeEventListener", p.names[i], f)
		f.Release()
	}
}

// PrepareAhead is true in the browser: a peer for a call that rings (or is
// knocked on) applies the offer and sets its answer at once, since the
// browser's ICE agent waits without remote candidates for as long as it
// takes. Natively pion's agent fails after its checking timeout (6 s here),
// so the offer is applied only when the user answers.
const PrepareAhead = true

// answererAdopts is true in the browser: an answerer's transceivers come from
// the offer, and adoptTransceivers makes them send our tracks.
const answererAdopts = true

// adoptTransceivers takes the audio, video and screen transceivers that
// applying an offer created (in the offer's order: the first video section is
// the camera, the second the screen), makes them send and receive, and
// attaches local's tracks. An offer without a screen section leaves screen nil.
func adoptTransceivers(pc *peerConn, local *LocalMedia) (audio, video, screen *transceiver, err error) {
	defer caught(&err, "rtc: adopt transceivers")
	list := pc.v.Call("getTransceivers")
	for i, n := 0, list.Length(); i < n; i++ {
		tr := &transceiver{v: list.Index(i)}
		switch tr.receiver().Get("track").Get("kind").String() {
		case KindAudio:
			if audio == nil {
				audio = tr
			}
		case KindVideo:
			switch {
			case video == nil:
				video = tr
			case screen == nil:
				screen = tr
			}
		}
	}
	if audio == nil || video == nil {
		return nil, nil, nil, fmt.Errorf("rtc: the offer lacks an audio or a video section")
	}
	for _, tr := range []*transceiver{audio, video, screen} {
		if tr != nil {
			tr.v.Set("direction", "sendrecv")
		}
	}
	if local != nil {
		if t := local.Audio(); t != nil {
			if err := replaceTrack(audio, t); err != nil {
				return nil, nil, nil, err
			}
		}
		if t := local.Video(); t != nil {
			if err := replaceTrack(video, t); err != nil {
				return nil, nil, nil, err
			}
		}
		if t := local.Screen(); t != nil && screen != nil {
			if err := replaceTrack(screen, t); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return audio, video, screen, nil
}

func addTransceiver(pc *peerConn, kind string, t Track) (_ *transceiver, err error) {
	defer caught(&err, "addTransceiver")
	tr := &transceiver{v: pc.v.Call("addTransceiver", kind, map[string]any{"direction": "sendrecv"})}
	if t != nil {
		if err := replaceTrack(tr, t); err != nil {
			return nil, err
		}
	}
	return tr, nil
}

// replaceTrack swaps the sender's track; the browser does it without renegotiation.
func replaceTrack(tr *transceiver, t Track) (err error) {
	defer caught(&err, "rtc: replace track")
	v := js.Null()
	if jt, ok := t.(interface{ JSValue() js.Value }); ok && t != nil {
		v = jt.JSValue()
	}
	sender := tr.sender()
	if sender.Get("track").Equal(v) {
		// Already sent: a replacement would still queue behind the
		// connection's pending operations (an answer being applied while a
		// call starts) and cost the page a round trip to WebRTC's threads.
		return nil
	}
	// The returned promise only fails for a closed connection; nothing to wait for.
	sender.Call("replaceTrack", v)
	return nil
}

func hookPeer(pc *peerConn, h PeerHandlers) peerPlatform {
	p := peerPlatform{target: pc.v}
	listen := func(name string, fn func(ev js.Value)) {
		f := js.FuncOf(func(this js.Value, args []js.Value) any {
			fn(args[0])
			return nil
		})
		p.target.Call("addEventListener", name, f)
		p.names = append(p.names, name)
		p.funcs = append(p.funcs, f)
	}
	listen("connectionstatechange", func(js.Value) {
		if h.State == nil {
			return
		}
		switch s := p.target.Get("connectionState").String(); s {
		case StateConnecting, StateConnected, StateDisconnected, StateFailed, StateClosed:
			go h.State(s)
		}
	})
	listen("icecandidate", func(ev js.Value) {
		c := ev.Get("candidate")
		if c.IsNull() || c.IsUndefined() || h.Candidate == nil {
			return
		}
		j := c.Call("toJSON")
		sc := wire.Candidate{Candidate: j.Get("candidate").String()}
		if mid := j.Get("sdpMid"); mid.Type() == js.TypeString {
			s := mid.String()
			sc.SDPMid = &s
		}
		if idx := j.Get("sdpMLineIndex"); idx.Type() == js.TypeNumber {
			n := uint16(idx.Int())
			sc.SDPMLineIndex = &n
		}
		if sc.Candidate == "" {
			return // end-of-candidates marker
		}
		go h.Candidate(sc)
	})
	// The screen's transceiver, looked up once: a peer's transceivers never
	// change after its first negotiation, and the lookup walks all of them.
	// Track events run one at a time on the page's event loop.
	var screen js.Value
	listen("track", func(ev js.Value) {
		if h.Track == nil {
			return
		}
		if screen.IsUndefined() {
			screen = screenTransceiver(p.target)
		}
		tr := ev.Get("transceiver")
		go h.Track(&RemoteTrack{v: ev.Get("track"), screen: !screen.IsUndefined() && tr.Equal(screen)})
	})
	return p
}

// screenTransceiver is the connection's second video transceiver, the one a
// shared screen arrives on; undefined while it has none.
func screenTransceiver(pc js.Value) js.Value {
	list := pc.Call("getTransceivers")
	videos := 0
	for i := 0; i < list.Length(); i++ {
		t := list.Index(i)
		if !t.Get("receiver").Get("track").Get("kind").Equal(jsVideo) {
			continue
		}
		if videos++; videos == 2 {
			return t
		}
	}
	return js.Undefined()
}

// RemoteTrack is a remote MediaStreamTrack; screen marks a shared screen.
type RemoteTrack struct {
	v      js.Value
	screen bool
}

// Screen reports whether the track is a shared screen (it came on the
// screen transceiver).
func (t *RemoteTrack) Screen() bool { return t.screen }

// Kind is KindAudio or KindVideo.
func (t *RemoteTrack) Kind() string { return t.v.Get("kind").String() }

// ID identifies the track.
func (t *RemoteTrack) ID() string { return t.v.Get("id").String() }

// JSValue is the MediaStreamTrack.
func (t *RemoteTrack) JSValue() js.Value { return t.v }

// AudioLevel is the remote participant's current audio level (0 to 1), from
// the audio receiver's synchronization sources (no promise, cheap to poll).
func (p *Peer) AudioLevel() (level float64, ok bool) {
	defer func() {
		if recover() != nil {
			level, ok = 0, false
		}
	}()
	audio, _ := p.transceivers()
	if audio == nil {
		return 0, false
	}
	srcs := audio.receiver().Call("getSynchronizationSources")
	for i := 0; i < srcs.Length(); i++ {
		if l := srcs.Index(i).Get("audioLevel"); l.Type() == js.TypeNumber && l.Float() > level {
			level, ok = l.Float(), true
		}
	}
	return level, ok
}

// eachStat calls f with every report of the connection's statistics; false
// when they cannot be read. It waits for a promise: call it from a goroutine.
func (p *Peer) eachStat(f func(s js.Value)) (ok bool) {
	return eachReport(p.pc.v, f)
}

// eachReport calls f with every report of the statistics that target's
// getStats (a connection's, or one sender's) resolves to. The reports are
// copied into one array and read from Go: a Go callback per report, as
// forEach would need, resumes the Go scheduler on every call, which cost a
// page 10–50 ms per read in a video call.
func eachReport(target js.Value, f func(s js.Value)) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	stats, err := Await(target.Call("getStats"))
	if err != nil {
		return false
	}
	reports := jsArray.Call("from", stats.Call("values"))
	for i, n := 0, reports.Length(); i < n; i++ {
		f(reports.Index(i))
	}
	return true
}

// The JavaScript constructors the peer calls, and the report types and kinds
// compared with JS strings as they are, without copying each into Go.
var (
	jsArray       = js.Global().Get("Array")
	jsPromise     = js.Global().Get("Promise")
	jsMediaSource = js.ValueOf("media-source")
	jsTransport   = js.ValueOf("transport")
	jsAudio       = js.ValueOf(KindAudio)
	jsVideo       = js.ValueOf(KindVideo)
)

// LocalAudioLevel is the level of the microphone this peer sends (0 to 1),
// from the audio sender's media-source statistics (the sender's own reports,
// a fifth of the connection's in a video call). It waits for a promise: call
// it from a goroutine.
func (p *Peer) LocalAudioLevel() (level float64, ok bool) {
	audio, _ := p.transceivers()
	if audio == nil {
		return 0, false
	}
	eachReport(audio.sender(), func(s js.Value) {
		if s.Get("type").Equal(jsMediaSource) && s.Get("kind").Equal(jsAudio) {
			if l := s.Get("audioLevel"); l.Type() == js.TypeNumber {
				level, ok = l.Float(), true
			}
		}
	})
	return level, ok
}

// BytesReceived is how many bytes this connection's transports received,
// all media and control included; false when the browser cannot tell. It
// waits for a promise: call it from a goroutine.
func (p *Peer) BytesReceived() (n uint64, ok bool) {
	p.eachStat(func(s js.Value) {
		if s.Get("type").Equal(jsTransport) {
			if b := s.Get("bytesReceived"); b.Type() == js.TypeNumber {
				n, ok = n+uint64(b.Float()), true
			}
		}
	})
	return n, ok
}

// addCandidates hands the browser every candidate in cs, then waits for all
// of them at once. Waiting for each in turn, as pion's browser build did,
// costs a round trip through the page's event loop per candidate, each
// resuming the Go scheduler: a guest joining a 4-person call adds 24 while
// its connections start. The browser applies them in the order given. All
// are added even when one fails; the first failure is returned.
func (p *Peer) addCandidates(cs []wire.Candidate) (err error) {
	if len(cs) == 0 {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rtc: add candidate: %v", r)
		}
	}()
	pc := p.pc.v
	added := make([]any, len(cs))
	for i, c := range cs {
		init := map[string]any{"candidate": c.Candidate}
		if c.SDPMid != nil {
			init["sdpMid"] = *c.SDPMid
		}
		if c.SDPMLineIndex != nil {
			init["sdpMLineIndex"] = int(*c.SDPMLineIndex)
		}
		added[i] = pc.Call("addIceCandidate", init)
	}
	if _, err := Await(jsPromise.Call("all", added)); err != nil {
		return fmt.Errorf("rtc: add candidate: %w", err)
	}
	return nil
}
