package call

import (
	"errors"
	"math"
	"time"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// Line quality. Every qualityCheck the engine reads the statistics of the
// peer connection to each other participant (rtc.Peer.LineStats) and grades
// the line good, fair or poor from its packet loss and round-trip time:
//
//   - poor: loss > 10 % or RTT > 400 ms
//   - fair: loss > 2 % or RTT > 200 ms
//   - good: otherwise
//
// Loss is the worse of the packets lost on the way to us over the last
// sample and the fraction the other side reports losing of ours. A line gets
// worse at the first sample over a threshold, but better only after
// qualityRecover samples in a row under the better level's thresholds scaled
// by qualityMargin, so that a line on a threshold does not flap.
// callQualityListener hears of every change of level, and otherwise at most
// every qualityRepeat with fresh numbers. Jitter and the received video's
// size and frame rate are reported, not graded.
//
// While the line is poor, the video we send that peer steps down one
// videoStep a sample (half the size at 15 fps, then a quarter at 10 fps with
// a lower bit rate), before its audio suffers; once the line has been good
// for qualityRestore samples in a row it steps back up one step, and so on.
// A fair line holds the current step. Audio has high priority (bandwidth
// share and DSCP) on every peer connection from its first reading.
//
// The call's size caps the video too (groupVideo): with every other
// participant this device encodes and sends one more stream, so from four
// people on each goes at half the size and a lower bit rate, and from six at
// 15 fps. A peer sends at the stricter of its line's step and the call's cap.
//
// Browser only: natively LineStats reports nothing (see package rtc), so
// the monitor idles; the grading and stepping below are tested natively.
const (
	// qualityCheck is how often each peer's statistics are read.
	qualityCheck = 2 * time.Second
	// qualityRepeat is the longest time between two reports of a peer's
	// line when its level does not change.
	qualityRepeat = 10 * time.Second
	// poorLoss and poorRTT (ms) make a line poor, fairLoss and fairRTT fair.
	poorLoss, poorRTT = 0.10, 400.0
	fairLoss, fairRTT = 0.02, 200.0
	// qualityMargin scales the thresholds a line must be under to get
	// better (hysteresis).
	qualityMargin = 0.75
	// qualityRecover is how many samples in a row must be better before
	// the level rises.
	qualityRecover = 2
	// qualityRestore is how many good samples in a row bring the sent video
	// one step back up.
	qualityRestore = 3
	// qualityMinPackets is the fewest packets a sample needs for its own
	// loss to count (fewer say nothing about loss).
	qualityMinPackets = 20
)

// Quality levels, worse upwards; levelNone before the first sample.
const (
	levelNone = iota
	levelGood
	levelFair
	levelPoor
)

// levelName is the listener's name for a level.
func levelName(l int) string {
	switch l {
	case levelFair:
		return event.QualityFair
	case levelPoor:
		return event.QualityPoor
	default:
		return event.QualityGood
	}
}

// gradeLine is the level of a line with this loss (0 to 1) and rtt (ms; <0
// unknown), against the thresholds scaled by margin.
func gradeLine(loss, rtt, margin float64) int {
	switch {
	case loss > poorLoss*margin || rtt > poorRTT*margin:
		return levelPoor
	case loss > fairLoss*margin || rtt > fairRTT*margin:
		return levelFair
	default:
		return levelGood
	}
}

// maxVideoStep is the lowest video a poor line brings the sender down to.
const maxVideoStep = 2

// videoStep is the limit on the sent video at step n (0: none).
func videoStep(n int) rtc.VideoLimit {
	switch {
	case n <= 0:
		return rtc.VideoLimit{}
	case n == 1:
		return rtc.VideoLimit{ScaleDown: 2, MaxFramerate: 15, MaxBitrate: 500_000}
	default:
		return rtc.VideoLimit{ScaleDown: 4, MaxFramerate: 10, MaxBitrate: 150_000}
	}
}

// lineWatch is one peer's line quality, owned by the work queue.
type lineWatch struct {
	last     rtc.LineStats  // previous reading
	have     bool           // last is set
	level    int            // current level
	better   int            // samples in a row better than level
	reported time.Time      // last report
	step     int            // video step the line asks for
	applied  rtc.VideoLimit // the limit the sender was given
	good     int            // good samples in a row since the step last changed
	audioHi  bool           // audio has high priority
}

// lineSample is what one reading of a peer's statistics decided.
type lineSample struct {
	loss   float64 // the sample's loss
	report bool    // tell the listener
	step   int     // video step to send at
}

// observe takes reading s at at and decides the line's level, whether to
// report it, and the video step.
func (w *lineWatch) observe(s rtc.LineStats, at time.Time) lineSample {
	loss := 0.0
	if w.have && s.PacketsReceived >= w.last.PacketsReceived && s.PacketsLost >= w.last.PacketsLost {
		got, lost := s.PacketsReceived-w.last.PacketsReceived, s.PacketsLost-w.last.PacketsLost
		if got+lost >= qualityMinPackets {
			loss = float64(lost) / float64(got+lost)
		}
	}
	if s.SentLoss > loss {
		loss = s.SentLoss
	}
	w.last, w.have = s, true

	prev := w.level
	switch worse, better := gradeLine(loss, s.RTT, 1), gradeLine(loss, s.RTT, qualityMargin); {
	case w.level == levelNone || worse > w.level:
		w.level, w.better = worse, 0
	case better < w.level:
		w.better++
		if w.better >= qualityRecover {
			w.level, w.better = better, 0
		}
	default:
		w.better = 0
	}

	switch w.level {
	case levelPoor:
		w.good = 0
		if w.step < maxVideoStep {
			w.step++
		}
	case levelGood:
		w.good++
		if w.step > 0 && w.good >= qualityRestore {
			w.step--
			w.good = 0
		}
	default:
		w.good = 0
	}

	report := w.level != prev || at.Sub(w.reported) >= qualityRepeat
	if report {
		w.reported = at
	}
	return lineSample{loss: loss, report: report, step: w.step}
}

// qualityMonitor reads every peer's line statistics while cs lasts, reports
// them (callQualityListener) and limits the video sent on a poor line.
func (e *Engine) qualityMonitor(cs *callState, stop <-chan struct{}) {
	e.everyTick(cs, stop, qualityCheck, func(probes []peerProbe) {
		audioHi := make([]bool, len(probes))
		e.sync(func() {
			for i, p := range probes {
				audioHi[i] = p.ps.line.audioHi
			}
		})
		for i, p := range probes {
			select {
			case <-stop:
				return
			default:
			}
			if !audioHi[i] {
				err := p.peer.PrioritizeAudio() // waits for a promise: not on the work queue
				if err == nil {
					e.work.push(func() { p.ps.line.audioHi = true })
				} else if !errors.Is(err, errors.ErrUnsupported) {
					e.log.Debug("audio priority", "peer", p.ps.jid, "err", err)
				}
			}
			s, ok := p.peer.LineStats()
			if !ok {
				continue
			}
			at := time.Now()
			e.sync(func() { e.onLineStats(cs, p.ps, p.peer, s, at) })
		}
	})
}

// onLineStats follows ps's line with reading s taken at at (work queue): it
// reports the line when it should and sends the video at the line's step.
func (e *Engine) onLineStats(cs *callState, ps *peerState, peer *rtc.Peer, s rtc.LineStats, at time.Time) {
	if cs.ended || cs.peers[ps.jid] != ps || ps.peer != peer {
		return
	}
	w := &ps.line
	d := w.observe(s, at)
	e.fitVideo(cs, ps)
	if d.report {
		scale, reason := sentScale(w.applied, videoStep(w.step))
		e.emit(event.CallQuality{
			UserJID: ps.jid, RoomID: cs.roomID, Quality: levelName(w.level),
			RTT: round1(s.RTT), Loss: round3(d.loss), Jitter: round1(s.Jitter),
			Width: s.Width, Height: s.Height, FPS: round1(s.FPS),
			SentScale: scale, SentWidth: s.SentWidth, SentHeight: s.SentHeight,
			SentScaleReason: reason,
		})
	}
}

// sentScale is the scale of the video sent under applied (at least 1) and
// why it is scaled down: the line's step (line) when that alone asks for as
// much, else the call's size.
func sentScale(applied, line rtc.VideoLimit) (scale float64, reason string) {
	scale = max(applied.ScaleDown, 1)
	switch {
	case scale == 1:
		return scale, ""
	case line.ScaleDown >= scale:
		return scale, event.SentScaleLine
	default:
		return scale, event.SentScaleCallSize
	}
}

// groupVideo is the cap on the video sent to each other participant of a
// call of size people (joined or ringing, this device's user included).
// Each other participant costs this device an encoder and a share of its
// upload: a 640×480 stream each to three others is three times the 1:1
// call's CPU and bit rate, and on a two-core machine four such pages take
// seconds to show a joiner's first frames. Half the size (a quarter of the
// pixels) suits the smaller tiles of a grid.
func groupVideo(size int) rtc.VideoLimit {
	switch {
	case size < 4:
		return rtc.VideoLimit{}
	case size < 6:
		return rtc.VideoLimit{ScaleDown: 2, MaxBitrate: 400_000}
	default:
		return rtc.VideoLimit{ScaleDown: 2, MaxFramerate: 15, MaxBitrate: 250_000}
	}
}

// stricter is the limit that caps the video as much as a and b together do.
func stricter(a, b rtc.VideoLimit) rtc.VideoLimit {
	out := a
	out.ScaleDown = max(a.ScaleDown, b.ScaleDown)
	if b.MaxFramerate > 0 && (out.MaxFramerate == 0 || b.MaxFramerate < out.MaxFramerate) {
		out.MaxFramerate = b.MaxFramerate
	}
	if b.MaxBitrate > 0 && (out.MaxBitrate == 0 || b.MaxBitrate < out.MaxBitrate) {
		out.MaxBitrate = b.MaxBitrate
	}
	return out
}

// notApplied is lineWatch.applied when the sender's limit is not known (the
// browser refused the last one): it equals no limit fitVideo asks for.
var notApplied = rtc.VideoLimit{ScaleDown: -1}

// fitVideo gives ps's video sender the stricter of its line's step and the
// call's cap when that changed (work queue).
func (e *Engine) fitVideo(cs *callState, ps *peerState) {
	want := stricter(videoStep(ps.line.step), cs.group)
	if ps.peer == nil || want == ps.line.applied {
		return
	}
	ps.peer.SetVideoLimit(want)
	ps.line.applied = want
}

// callSize is how many people are in call c or being rung into it.
func callSize(c *wire.Call) int {
	size := 0
	for _, p := range c.Participants {
		if wire.Joined(p.Status) || wire.Pending(p.Status) {
			size++
		}
	}
	return size
}

// sizeVideo caps every peer's video for the size of call c (groupVideo;
// work queue).
func (e *Engine) sizeVideo(cs *callState, c *wire.Call) {
	cs.group = groupVideo(callSize(c))
	for _, ps := range cs.peers {
		e.fitVideo(cs, ps)
	}
	for _, ps := range cs.pre {
		e.fitVideo(cs, ps)
	}
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
