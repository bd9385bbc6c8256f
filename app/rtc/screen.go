package rtc

import "errors"

// KindScreen is the track type of a shared screen. Its track is a video
// track sent on each peer's third transceiver, beside the camera.
const KindScreen = "screen"

// ErrScreenDenied is the error of ScreenCapturer.OpenScreen when the user
// refused or cancelled the capture, or the platform cannot capture.
var ErrScreenDenied = errors.New("rtc: screen capture refused or cancelled")

// ScreenCapturer is a Media that can also capture the screen.
type ScreenCapturer interface {
	// OpenScreen captures the screen (the user picks what, in a browser)
	// and puts it in m as its screen track, which it returns. ended is
	// called, on its own goroutine, when the capture ends by itself (the
	// browser's own "Stop sharing" button), not when StopScreen ends it.
	OpenScreen(m *LocalMedia, ended func()) (Track, error)
}

// Screen is the shared screen track, or nil when not sharing.
func (m *LocalMedia) Screen() Track {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.screen == nil {
		return nil
	}
	return m.screen
}

// StopScreen ends the shared screen track if it is still t (a share that
// was stopped, and another started since, keeps the new one); it reports
// whether it ended it.
func (m *LocalMedia) StopScreen(t Track) bool {
	m.mu.Lock()
	cur := m.screen
	if cur == nil || t == nil || Track(cur) != t {
		m.mu.Unlock()
		return false
	}
	m.screen, m.lastScreen = nil, cur
	m.mu.Unlock()
	cur.end()
	return true
}

// setScreen puts t in m as its screen track and ends the one it replaces.
func (m *LocalMedia) setScreen(t *LocalTrack) {
	m.mu.Lock()
	old := m.screen
	m.screen = t
	m.mu.Unlock()
	if old != nil {
		old.end()
	}
}

// IsScreen reports whether t is a remote shared screen.
func IsScreen(t Track) bool {
	s, ok := t.(interface{ Screen() bool })
	return ok && s.Screen()
}
