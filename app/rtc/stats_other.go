//go:build !(js && wasm)

package rtc

import (
	"errors"
	"fmt"
)

// LineStats reports nothing natively: pion's GetStats races with a
// connection closing under it (a data race inside pion, see BytesReceived),
// and its RTP senders cannot change their encodings (no SetParameters), so a
// native peer could measure the line but not act on it. The browser build
// reads the browser's statistics (stats_js.go); the engine's classification
// and adaptation logic is tested natively on readings built by hand.
func (p *Peer) LineStats() (s LineStats, ok bool) { return LineStats{}, false }

// SetVideoLimit only records l natively: pion's senders have no encoding
// parameters to change.
func (p *Peer) SetVideoLimit(l VideoLimit) {
	p.mu.Lock()
	p.limit = l
	p.mu.Unlock()
}

// sendLimit does nothing natively (see SetVideoLimit).
func (p *Peer) sendLimit(*transceiver, VideoLimit) {}

// PrioritizeAudio fails natively: pion's senders have no encoding
// parameters to change.
func (p *Peer) PrioritizeAudio() error {
	return fmt.Errorf("rtc: prioritize audio: %w", errors.ErrUnsupported)
}

// preferAudio does nothing natively (see PrioritizeAudio).
func (p *Peer) preferAudio(*transceiver) {}
