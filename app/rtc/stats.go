package rtc

import "errors"

// LineStats is one reading of a peer connection's statistics, as the call
// engine's line-quality monitor needs them. Counters are cumulative since the
// connection started; the monitor takes differences between two readings.
type LineStats struct {
	// RTT is the round-trip time in milliseconds of the selected candidate
	// pair (STUN consent checks), or of the RTCP reports when the pair has
	// none; negative when not known yet.
	RTT float64
	// PacketsReceived and PacketsLost count the RTP packets received from
	// the other side and the ones that never arrived, audio and video.
	PacketsReceived, PacketsLost uint64
	// SentLoss is the fraction (0 to 1) of our packets the other side
	// reported lost in its latest receiver report, the worse of audio and
	// video; negative when it has reported nothing yet.
	SentLoss float64
	// Jitter is the audio received's interarrival jitter in milliseconds.
	Jitter float64
	// Width, Height and FPS describe the video received (zero when none).
	Width, Height int
	FPS           float64
	// SentWidth and SentHeight are the frame size of the video we send.
	SentWidth, SentHeight int
}

// VideoLimit caps the video a peer sends: the zero value sends it as
// captured. It maps to the video sender's encoding parameters.
type VideoLimit struct {
	// ScaleDown divides the width and height (scaleResolutionDownBy); 0 or
	// 1 keeps them.
	ScaleDown float64
	// MaxFramerate caps the frame rate (0: no cap).
	MaxFramerate float64
	// MaxBitrate caps the bit rate in bits per second (0: no cap).
	MaxBitrate int
}

// ErrVideoLimitRefused is (wrapped in) the error a Refused handler gets when
// the browser would not take a video limit (SetVideoLimit): the video is
// sent as before.
var ErrVideoLimitRefused = errors.New("rtc: the browser refused the video limit")
