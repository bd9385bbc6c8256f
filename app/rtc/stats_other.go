//go:build !(js && wasm)

package rtc

import (
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// LineStats reports nothing natively: pion's GetStats races with a
// connection closing under it (a data race inside pion, see BytesReceived),
// and its RTP senders cannot change their encodings (no SetParameters), so a
// native peer could measure the line but not act on it. The browser build
// reads the browser's statistics (stats_js.go); the engine's classification
// and adaptation logic is tested natively on readings built by hand.
func (p *Peer) LineStats() (s LineStats, ok bool) { return LineStats{}, false }

// LimitVideo fails natively: pion's senders have no encoding parameters to
// change.
func (p *Peer) LimitVideo(VideoLimit) error {
	return fmt.Errorf("rtc: limit video: %w", errors.ErrUnsupported)
}

// PrioritizeAudio fails natively: pion's senders have no encoding
// parameters to change.
func (p *Peer) PrioritizeAudio() error {
	return fmt.Errorf("rtc: prioritize audio: %w", errors.ErrUnsupported)
}

// preferAudio does nothing natively (see PrioritizeAudio).
func preferAudio(*webrtc.RTPTransceiver) {}
