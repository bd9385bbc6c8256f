package call

import (
	"context"

	"parley/app/rtc"
)

// SetDevices chooses the microphone and camera (browser deviceIds, "" for the
// default). Later calls open them; in a call, the change applies at once: the
// new device's track replaces the old one on every peer connection without
// renegotiation, keeping its mute state, and the old device is released.
func (e *Engine) SetDevices(ctx context.Context, audioID, videoID string) error {
	e.mu.Lock()
	prev := e.devices
	e.devices = [2]string{audioID, videoID}
	e.media = e.baseMedia.WithDevices(audioID, videoID)
	cs := e.call
	e.mu.Unlock()
	if cs == nil {
		return nil
	}
	for i, kind := range []string{rtc.KindAudio, rtc.KindVideo} {
		id := [2]string{audioID, videoID}[i]
		if id == prev[i] {
			continue
		}
		had := cs.local.Audio()
		if kind == rtc.KindVideo {
			had = cs.local.Video()
		}
		if had == nil {
			continue // no such track in this call (a voice call's camera)
		}
		t, err := e.currentMedia().Replace(cs.local, kind, id)
		if err != nil {
			return e.mediaDenied(err, "setDevices")
		}
		e.sync(func() {
			if cs.ended {
				return
			}
			for _, ps := range cs.peers {
				if err := ps.peer.SetTrack(kind, t); err != nil {
					e.log.Debug("switch device", "peer", ps.jid, "err", err)
				}
			}
			e.emitTrack(cs, e.me(), true, kind, t)
		})
	}
	return nil
}

// currentMedia is the Media for the chosen devices.
func (e *Engine) currentMedia() rtc.Media {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.media
}
