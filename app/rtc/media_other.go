//go:build !(js && wasm)

package rtc

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// SyntheticMedia is the native Media: it makes an Opus audio track and a VP8
// video track that send generated frames, as a fake camera and microphone do.
// DenyMic and DenyCamera make Open fail as a user's refusal would.
type SyntheticMedia struct {
	DenyMic, DenyCamera bool
	// DenyScreen makes OpenScreen fail as a cancelled screen picker would.
	DenyScreen bool
}

// DefaultMedia is the platform's Media: synthetic natively, getUserMedia in the browser.
func DefaultMedia() Media { return SyntheticMedia{} }

var trackSeq atomic.Uint64

// Granted implements Permissions: what Open would deny is not granted.
func (s SyntheticMedia) Granted(video bool) bool {
	return !s.DenyMic && !(video && s.DenyCamera)
}

// Open implements Media.
func (s SyntheticMedia) Open(video bool) (*LocalMedia, error) {
	switch {
	case s.DenyMic && video && s.DenyCamera:
		return nil, ErrBothDenied
	case s.DenyMic:
		return nil, ErrMicDenied
	case video && s.DenyCamera:
		return nil, ErrCameraDenied
	}
	m := &LocalMedia{}
	var err error
	if m.audio, err = newLocalTrack(KindAudio, nil); err != nil {
		return nil, err
	}
	if video {
		if m.video, err = newLocalTrack(KindVideo, nil); err != nil {
			m.Stop()
			return nil, err
		}
	}
	return m, nil
}

// OpenVideo adds a video track to m (voice-to-video switch) and returns it.
func (s SyntheticMedia) OpenVideo(m *LocalMedia) (Track, error) {
	if s.DenyCamera {
		return nil, ErrCameraDenied
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.video == nil {
		v, err := newLocalTrack(KindVideo, nil)
		if err != nil {
			return nil, err
		}
		m.video = v
	}
	return m.video, nil
}

// Replace implements Media: a new synthetic track stands for the other device.
func (s SyntheticMedia) Replace(m *LocalMedia, kind, deviceID string) (Track, error) {
	if kind == KindAudio && s.DenyMic {
		return nil, ErrMicDenied
	}
	if kind == KindVideo && s.DenyCamera {
		return nil, ErrCameraDenied
	}
	// A browser's replaceTrack keeps the sender's RTP stream going: the
	// sequence numbers carry on from the old device's. The synthetic track
	// does the same, or the receiver's SRTP replay window drops every packet
	// of a stream whose new random sequence number is behind the old one.
	m.mu.Lock()
	old := m.audio
	if kind == KindVideo {
		old = m.video
	}
	m.mu.Unlock()
	var seq rtp.Sequencer
	if old != nil {
		seq = old.seq
	}
	t, err := newLocalTrack(kind, seq)
	if err != nil {
		return nil, err
	}
	m.swap(kind, t)
	return t, nil
}

// WithDevices implements Media; synthetic devices have no identity.
func (s SyntheticMedia) WithDevices(audioID, videoID string) Media { return s }

// LocalTrack is a synthetic local track. It packetizes its frames itself so
// that a track standing for another device can continue its RTP sequence.
type LocalTrack struct {
	kind     string
	track    *webrtc.TrackLocalStaticRTP
	seq      rtp.Sequencer
	pkt      rtp.Packetizer
	enabled  atomic.Bool
	stop     chan struct{}
	stopOnce sync.Once
}

// Kind is KindAudio or KindVideo.
func (t *LocalTrack) Kind() string { return t.kind }

// ID identifies the track.
func (t *LocalTrack) ID() string { return t.track.ID() }

// Enabled reports whether the track is sending (not muted).
func (t *LocalTrack) Enabled() bool { return t.enabled.Load() }

func (t *LocalTrack) setEnabled(on bool) { t.enabled.Store(on) }

func (t *LocalTrack) isEnabled() bool { return t.enabled.Load() }

func (t *LocalTrack) end() { t.stopOnce.Do(func() { close(t.stop) }) }

// newLocalTrack starts a synthetic track of kind whose packets take their
// sequence numbers from seq (a new random sequence when nil).
func newLocalTrack(kind string, seq rtp.Sequencer) (*LocalTrack, error) {
	n := trackSeq.Add(1)
	capability := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	var payloader rtp.Payloader = &codecs.OpusPayloader{}
	every := 20 * time.Millisecond
	frame := []byte{0xf8, 0xff, 0xfe} // an Opus frame of silence
	if kind == KindVideo {
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		payloader = &codecs.VP8Payloader{}
		every = 33 * time.Millisecond
		frame = make([]byte, 1200)
	}
	tr, err := webrtc.NewTrackLocalStaticRTP(capability, kind+"-"+strconv.FormatUint(n, 10), "parley-"+strconv.FormatUint(n, 10))
	if err != nil {
		return nil, fmt.Errorf("rtc: synthetic %s track: %w", kind, err)
	}
	if seq == nil {
		seq = rtp.NewRandomSequencer()
	}
	// Payload type and SSRC are set per sender by the track when it writes.
	pkt := rtp.NewPacketizer(1200, 0, 0, payloader, seq, capability.ClockRate)
	t := &LocalTrack{kind: kind, track: tr, seq: seq, pkt: pkt, stop: make(chan struct{})}
	t.enabled.Store(true)
	samples := uint32(every.Seconds() * float64(capability.ClockRate))
	go t.pump(every, frame, samples)
	return t, nil
}

func (t *LocalTrack) pump(every time.Duration, frame []byte, samples uint32) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			if t.enabled.Load() {
				for _, p := range t.pkt.Packetize(frame, samples) {
					_ = t.track.WriteRTP(p) // nothing to do about a packet that is not sent
				}
			}
		}
	}
}

// OpenScreen implements ScreenCapturer with a synthetic video track; it
// fails with ErrScreenDenied when DenyScreen is set, as a user cancelling
// the picker would. A synthetic screen never ends by itself.
func (s SyntheticMedia) OpenScreen(m *LocalMedia, _ func()) (Track, error) {
	if s.DenyScreen {
		return nil, ErrScreenDenied
	}
	// The same sender sends every share of the call: a new share continues
	// the RTP sequence of the one before (see Replace), or of the one it
	// replaces when that one was not stopped yet (a stop the engine's work
	// queue has not got to).
	m.mu.Lock()
	var seq rtp.Sequencer
	switch {
	case m.screen != nil:
		seq = m.screen.seq
	case m.lastScreen != nil:
		seq = m.lastScreen.seq
	}
	m.mu.Unlock()
	t, err := newLocalTrack(KindVideo, seq)
	if err != nil {
		return nil, err
	}
	m.setScreen(t)
	return t, nil
}
