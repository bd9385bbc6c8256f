// Package rtc is the call engine's media connections: one Peer per remote
// participant, local media capture, and the tracks the listeners hand out.
// The same Peer drives pion/webrtc natively and, compiled for js/wasm, the
// browser's own RTCPeerConnection through syscall/js; the platform's parts
// live in *_js.go (browser) and *_other.go (native: pion, synthetic media)
// files.
package rtc

import (
	"errors"
)

// Track kinds.
const (
	KindAudio = "audio"
	KindVideo = "video"
)

// Track is a media track as the call engine's listeners hand it out. In the
// browser it also has JSValue() returning the MediaStreamTrack.
type Track interface {
	// Kind is KindAudio or KindVideo.
	Kind() string
	// ID identifies the track.
	ID() string
}

// Errors of Media.Open: the user or the platform denied a device.
var (
	ErrMicDenied    = errors.New("rtc: microphone access denied")
	ErrCameraDenied = errors.New("rtc: camera access denied")
	ErrBothDenied   = errors.New("rtc: microphone and camera access denied")
)

// Permissions is implemented by a Media that can tell, without asking the
// user, whether opening its devices is already allowed.
type Permissions interface {
	// Granted reports whether the microphone (and the camera, when video is
	// true) may be opened without a prompt.
	Granted(video bool) bool
}

// Granted reports whether m says its devices (the camera too when video is
// true) open without asking the user; false when m cannot tell.
func Granted(m Media, video bool) bool {
	p, ok := m.(Permissions)
	return ok && p.Granted(video)
}

// Media opens the local microphone and camera.
type Media interface {
	// Open captures audio (always) and video (when video is true).
	Open(video bool) (*LocalMedia, error)
	// OpenVideo adds a camera track to m (switching a voice call to video).
	OpenVideo(m *LocalMedia) (Track, error)
	// Replace opens device deviceID ("" for the default) for kind and puts
	// it in m instead of the track m had, which it ends.
	Replace(m *LocalMedia, kind, deviceID string) (Track, error)
	// WithDevices is this Media opening the given microphone and camera
	// ("" for the default) from now on.
	WithDevices(audioID, videoID string) Media
}
