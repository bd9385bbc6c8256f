package rtc

import "sync"

// LocalMedia is the local microphone and camera of one call. Its tracks are
// *LocalTrack values of the platform (browser MediaStreamTracks, or synthetic
// tracks natively).
type LocalMedia struct {
	mu           sync.Mutex
	audio, video *LocalTrack
	// screen is the shared screen, nil when not sharing; lastScreen is the
	// one shared before (natively, a new share continues its RTP sequence).
	screen, lastScreen *LocalTrack
	// For media a call started with before its devices were open (Fill):
	// the kinds muted meanwhile, and whether Stop ran first.
	audioOff, videoOff, stopped bool
}

// Audio is the microphone track, or nil.
func (m *LocalMedia) Audio() Track {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.audio == nil {
		return nil
	}
	return m.audio
}

// Video is the camera track, or nil.
func (m *LocalMedia) Video() Track {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.video == nil {
		return nil
	}
	return m.video
}

// SetEnabled turns sending of the track of kind on or off (mute).
func (m *LocalMedia) SetEnabled(kind string, on bool) {
	m.mu.Lock()
	t := m.audio
	if kind == KindVideo {
		t = m.video
	}
	if t == nil { // not open yet: Fill applies it
		if kind == KindVideo {
			m.videoOff = !on
		} else {
			m.audioOff = !on
		}
	}
	m.mu.Unlock()
	if t != nil {
		t.setEnabled(on)
	}
}

// Fill moves the microphone and camera of o, just opened, into m, which a
// call started with before its devices were open; a kind muted meanwhile
// stays muted. If m was stopped first (the call ended), it ends o's tracks
// instead and reports false.
func (m *LocalMedia) Fill(o *LocalMedia) bool {
	o.mu.Lock()
	audio, video := o.audio, o.video
	o.audio, o.video = nil, nil
	o.mu.Unlock()
	m.mu.Lock()
	stopped := m.stopped
	if !stopped {
		m.audio, m.video = audio, video
	}
	audioOff, videoOff := m.audioOff, m.videoOff
	m.mu.Unlock()
	for _, t := range []struct {
		t   *LocalTrack
		off bool
	}{{audio, audioOff}, {video, videoOff}} {
		switch {
		case t.t == nil:
		case stopped:
			t.t.end()
		case t.off:
			t.t.setEnabled(false)
		}
	}
	return !stopped
}

// Stop ends every track and releases the devices.
func (m *LocalMedia) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	for _, t := range []*LocalTrack{m.audio, m.video, m.screen} {
		if t != nil {
			t.end()
		}
	}
}

// swap puts t in m as its track of kind and ends the one it replaces.
func (m *LocalMedia) swap(kind string, t *LocalTrack) {
	m.mu.Lock()
	var old *LocalTrack
	if kind == KindVideo {
		old, m.video = m.video, t
	} else {
		old, m.audio = m.audio, t
	}
	m.mu.Unlock()
	if old != nil {
		if !old.isEnabled() {
			t.setEnabled(false) // a muted microphone stays muted on the new device
		}
		old.end()
	}
}
