//go:build !(js && wasm)

package rtc

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// SyntheticMedia is the native Media: it makes an Opus audio track and a VP8
// video track that send generated frames, as a fake camera and microphone do.
// DenyMic and DenyCamera make Open fail as a user's refusal would.
type SyntheticMedia struct {
	DenyMic, DenyCamera bool
}

// DefaultMedia is the platform's Media: synthetic natively, getUserMedia in the browser.
func DefaultMedia() Media { return SyntheticMedia{} }

var trackSeq atomic.Uint64

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
	if m.audio, err = newLocalTrack(KindAudio); err != nil {
		return nil, err
	}
	if video {
		if m.video, err = newLocalTrack(KindVideo); err != nil {
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
		v, err := newLocalTrack(KindVideo)
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
	t, err := newLocalTrack(kind)
	if err != nil {
		return nil, err
	}
	m.swap(kind, t)
	return t, nil
}

// WithDevices implements Media; synthetic devices have no identity.
func (s SyntheticMedia) WithDevices(audioID, videoID string) Media { return s }

// LocalTrack is a synthetic local track.
type LocalTrack struct {
	kind     string
	sample   *webrtc.TrackLocalStaticSample
	enabled  atomic.Bool
	stop     chan struct{}
	stopOnce sync.Once
}

// Kind is KindAudio or KindVideo.
func (t *LocalTrack) Kind() string { return t.kind }

// ID identifies the track.
func (t *LocalTrack) ID() string { return t.sample.ID() }

// Enabled reports whether the track is sending (not muted).
func (t *LocalTrack) Enabled() bool { return t.enabled.Load() }

func (t *LocalTrack) setEnabled(on bool) { t.enabled.Store(on) }

func (t *LocalTrack) isEnabled() bool { return t.enabled.Load() }

func (t *LocalTrack) end() { t.stopOnce.Do(func() { close(t.stop) }) }

func newLocalTrack(kind string) (*LocalTrack, error) {
	n := trackSeq.Add(1)
	capability := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	every := 20 * time.Millisecond
	frame := []byte{0xf8, 0xff, 0xfe} // an Opus frame of silence
	if kind == KindVideo {
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		every = 33 * time.Millisecond
		frame = make([]byte, 1200)
	}
	s, err := webrtc.NewTrackLocalStaticSample(capability, kind+"-"+strconv.FormatUint(n, 10), "parley-"+strconv.FormatUint(n, 10))
	if err != nil {
		return nil, err
	}
	t := &LocalTrack{kind: kind, sample: s, stop: make(chan struct{})}
	t.enabled.Store(true)
	go t.pump(every, frame)
	return t, nil
}

func (t *LocalTrack) pump(every time.Duration, frame []byte) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			if t.enabled.Load() {
				_ = t.sample.WriteSample(media.Sample{Data: frame, Duration: every})
			}
		}
	}
}
