//go:build js && wasm

package rtc

import (
	"errors"
	"fmt"
	"syscall/js"
)

// LineStats reads the connection's statistics (getStats): round-trip time,
// packets received and lost, the loss the other side reports on what we
// send, audio jitter, and the size and rate of the video received and sent;
// false when they cannot be read. The video sizes and rate are the
// camera's: a shared screen's stream (the third transceiver, its own mid)
// counts for loss but not for them. It waits for a promise: call it from a
// goroutine.
func (p *Peer) LineStats() (s LineStats, ok bool) {
	s.RTT, s.SentLoss = -1, -1
	screenMid := ""
	p.mu.Lock()
	if p.screen != nil {
		if mid := p.screen.v.Get("mid"); mid.Type() == js.TypeString {
			screenMid = mid.String()
		}
	}
	p.mu.Unlock()
	isScreen := func(r js.Value) bool {
		mid := r.Get("mid")
		return screenMid != "" && mid.Type() == js.TypeString && mid.String() == screenMid
	}
	pairRTT := map[string]float64{}
	selected := ""
	reportRTT := -1.0
	num := func(v js.Value, name string) (float64, bool) {
		f := v.Get(name)
		if f.Type() != js.TypeNumber {
			return 0, false
		}
		return f.Float(), true
	}
	read := p.eachStat(func(r js.Value) {
		switch r.Get("type").String() {
		case "transport":
			if id := r.Get("selectedCandidatePairId"); id.Type() == js.TypeString {
				selected = id.String()
			}
		case "candidate-pair":
			if rtt, ok := num(r, "currentRoundTripTime"); ok {
				pairRTT[r.Get("id").String()] = rtt * 1000
			}
		case "remote-inbound-rtp":
			if rtt, ok := num(r, "roundTripTime"); ok && rtt*1000 > reportRTT {
				reportRTT = rtt * 1000
			}
			if fl, ok := num(r, "fractionLost"); ok && fl > s.SentLoss {
				s.SentLoss = fl
			}
		case "inbound-rtp":
			if n, ok := num(r, "packetsReceived"); ok && n > 0 {
				s.PacketsReceived += uint64(n)
			}
			if n, ok := num(r, "packetsLost"); ok && n > 0 {
				s.PacketsLost += uint64(n)
			}
			switch r.Get("kind").String() {
			case KindAudio:
				if j, ok := num(r, "jitter"); ok {
					s.Jitter = j * 1000
				}
			case KindVideo:
				if isScreen(r) {
					break
				}
				w, _ := num(r, "frameWidth")
				h, _ := num(r, "frameHeight")
				fps, _ := num(r, "framesPerSecond")
				if int(w)*int(h) > s.Width*s.Height {
					s.Width, s.Height, s.FPS = int(w), int(h), fps
				}
			}
		case "outbound-rtp":
			if r.Get("kind").String() == KindVideo && !isScreen(r) {
				w, _ := num(r, "frameWidth")
				h, _ := num(r, "frameHeight")
				if int(w)*int(h) > s.SentWidth*s.SentHeight {
					s.SentWidth, s.SentHeight = int(w), int(h)
				}
			}
		}
	})
	if !read {
		return LineStats{}, false
	}
	if rtt, ok := pairRTT[selected]; ok {
		s.RTT = rtt
	} else {
		s.RTT = reportRTT
	}
	return s, true
}

// SetVideoLimit caps the camera video this peer sends from now on: a
// scaled down resolution, a frame rate cap and a bit rate cap, or none of
// them for the zero VideoLimit. It does not wait: the sender gets the new
// encoding parameters at once when it has encodings, and a peer answering an
// offer gets them as it takes over the offer's transceivers (Accept), so
// that a cap set when the peer is made holds from its first frame.
func (p *Peer) SetVideoLimit(l VideoLimit) {
	p.mu.Lock()
	p.limit = l
	video := p.video
	p.mu.Unlock()
	if video != nil {
		p.sendLimit(video, l)
	}
}

// sendLimit hands tr's sender the encoding parameters of l without waiting
// (a refusal goes to the Refused handler). A sender without encodings yet
// (not negotiated) is left alone.
func (p *Peer) sendLimit(tr *transceiver, l VideoLimit) {
	scale := l.ScaleDown
	if scale < 1 {
		scale = 1
	}
	p.setEncodingsSoon(tr, ErrVideoLimitRefused, func(enc js.Value) {
		enc.Set("scaleResolutionDownBy", scale)
		if l.MaxFramerate > 0 {
			enc.Set("maxFramerate", l.MaxFramerate)
		} else {
			enc.Delete("maxFramerate")
		}
		if l.MaxBitrate > 0 {
			enc.Set("maxBitrate", l.MaxBitrate)
		} else {
			enc.Delete("maxBitrate")
		}
	})
}

// PrioritizeAudio gives the audio sender's encoding a high priority, both
// for the bandwidth the browser shares out between our streams (priority)
// and for the network's queues (networkPriority, DSCP), so that a
// congested line drops video before voice. It waits for a promise: call it
// from a goroutine.
func (p *Peer) PrioritizeAudio() error {
	audio, _ := p.transceivers()
	return setEncodings(audio, "prioritize audio", highPriority)
}

// highPriority marks an encoding high priority (see PrioritizeAudio).
func highPriority(enc js.Value) {
	enc.Set("priority", "high")
	enc.Set("networkPriority", "high")
}

// errPriorityRefused: the browser would not give the audio high priority.
var errPriorityRefused = errors.New("rtc: the browser refused the audio's priority")

// errNoEncodings: the sender has no encodings yet (not negotiated).
var errNoEncodings = errors.New("the sender has no encodings yet")

// setEncodings changes every encoding of tr's sender with f and applies the
// parameters, waiting for the browser to take them.
func setEncodings(tr *transceiver, what string, f func(enc js.Value)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rtc: %s: %v", what, r)
		}
	}()
	if tr == nil {
		return fmt.Errorf("rtc: %s: no transceiver yet", what)
	}
	applied, ok := editEncodings(tr, f)
	if !ok {
		return fmt.Errorf("rtc: %s: %w", what, errNoEncodings)
	}
	if _, err := Await(applied); err != nil {
		return fmt.Errorf("rtc: %s: setParameters: %w", what, err)
	}
	return nil
}

// setEncodingsSoon is setEncodings without waiting: a refusal goes to the
// peer's Refused handler, if any, when the browser gives it; a sender
// without encodings yet is left alone.
func (p *Peer) setEncodingsSoon(tr *transceiver, what error, f func(enc js.Value)) {
	defer func() { _ = recover() }()
	if tr == nil {
		return
	}
	applied, ok := editEncodings(tr, f)
	if !ok {
		return
	}
	refused := p.h.Refused
	if refused == nil {
		applied.Call("catch", js.Global().Get("Boolean")) // throws nothing
		return
	}
	var fail js.Func
	fail = js.FuncOf(func(this js.Value, args []js.Value) any {
		fail.Release()
		refused(fmt.Errorf("%w: %w", what, rejection(args)))
		return nil
	})
	applied.Call("catch", fail)
}

// editEncodings changes every encoding of tr's sender with f (getParameters,
// then setParameters in the same task, as the transaction id requires) and
// returns setParameters' promise; false when the sender has no encodings.
func editEncodings(tr *transceiver, f func(enc js.Value)) (applied js.Value, ok bool) {
	sender := tr.sender()
	params := sender.Call("getParameters")
	encs := params.Get("encodings")
	if encs.Type() != js.TypeObject || encs.Length() == 0 {
		return js.Undefined(), false
	}
	for i := 0; i < encs.Length(); i++ {
		f(encs.Index(i))
	}
	return sender.Call("setParameters", params), true
}

// preferAudio asks, without waiting, for tr's sender (the audio one of a
// new peer) to have high priority, as PrioritizeAudio does; the call
// engine's line monitor makes sure of it later.
func (p *Peer) preferAudio(tr *transceiver) {
	p.setEncodingsSoon(tr, errPriorityRefused, highPriority)
}
