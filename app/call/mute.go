package call

import (
	"context"

	"parley/app/rtc"
	"parley/app/wire"
)

// MuteAudio mutes (true) or unmutes (false) your microphone in the current call.
func (e *Engine) MuteAudio(ctx context.Context, mute bool) error {
	return e.mute(ctx, rtc.KindAudio, mute)
}

// MuteVideo turns your camera off (true) or on (false) in the current call.
func (e *Engine) MuteVideo(ctx context.Context, mute bool) error {
	return e.mute(ctx, rtc.KindVideo, mute)
}

func (e *Engine) mute(ctx context.Context, kind string, mute bool) error {
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if cs == nil {
		return notInCall()
	}
	e.mu.Lock()
	id := cs.roomID
	e.mu.Unlock()
	if id == "" {
		return wire.Conflict("The call is still being set up; try again in a moment.")
	}
	cs.local.SetEnabled(kind, !mute)
	req := wire.MuteRequest{RoomID: id}
	if kind == rtc.KindAudio {
		req.Audio = &mute
	} else {
		req.Video = &mute
	}
	e.mu.Lock()
	if kind == rtc.KindAudio {
		cs.muted[0] = mute
	} else {
		cs.muted[1] = mute
	}
	e.mu.Unlock()
	return e.send(ctx, wire.TypeCallMute, req, nil)
}

// IsUserAudioMuted reports whether userJID ("" for yourself) has muted their
// microphone in the current call.
func (e *Engine) IsUserAudioMuted(userJID string) (bool, error) {
	return e.isMuted(userJID, 0)
}

// IsUserVideoMuted reports whether userJID ("" for yourself) has turned their
// camera off in the current call.
func (e *Engine) IsUserVideoMuted(userJID string) (bool, error) {
	return e.isMuted(userJID, 1)
}

func (e *Engine) isMuted(jid string, which int) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == nil {
		return false, wire.Unauthorized("Sign in first.")
	}
	cs := e.call
	if cs == nil {
		return false, notInCall()
	}
	if jid == "" || jid == e.user.JID || jid == e.user.Username {
		return cs.muted[which], nil
	}
	if cs.snap != nil {
		for _, p := range cs.snap.Participants {
			if p.JID == jid || p.JID == jid+"@"+domainOf(e.user.JID) {
				if which == 0 {
					return p.AudioMuted, nil
				}
				return p.VideoMuted, nil
			}
		}
	}
	return false, wire.NotFound("That user is not in your call.")
}
