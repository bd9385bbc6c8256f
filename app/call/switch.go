package call

import (
	"context"

	"parley/app/rtc"
	"parley/app/wire"
)

// RequestVideoCallSwitch asks the other participant of a 1:1 voice call to
// switch to video. The answer comes on callSwitchListener; it times out after 20 s.
func (e *Engine) RequestVideoCallSwitch(ctx context.Context) error {
	return e.switchAction(ctx, wire.SwitchRequest)
}

// CancelVideoCallSwitchRequest withdraws your pending switch request.
func (e *Engine) CancelVideoCallSwitchRequest(ctx context.Context) error {
	return e.switchAction(ctx, wire.SwitchCancel)
}

// AcceptVideoCallSwitchRequest accepts the other participant's request: both
// sides then send and receive video in the same call.
func (e *Engine) AcceptVideoCallSwitchRequest(ctx context.Context) error {
	return e.switchAction(ctx, wire.SwitchAccept)
}

// DeclineVideoCallSwitchRequest declines the other participant's request.
func (e *Engine) DeclineVideoCallSwitchRequest(ctx context.Context) error {
	return e.switchAction(ctx, wire.SwitchDecline)
}

func (e *Engine) switchAction(ctx context.Context, action string) error {
	room, err := e.joinedRoom()
	if err != nil {
		return err
	}
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if action == wire.SwitchAccept {
		// Open the camera before accepting, so a refusal changes nothing.
		if _, err := e.currentMedia().OpenVideo(cs.local); err != nil {
			return e.mediaDenied(err, "acceptVideoCallSwitchRequest")
		}
	}
	return e.send(ctx, wire.TypeCallSwitch, wire.SwitchRequestPayload{RoomID: room, Action: action}, nil)
}

// switchToVideo turns video on in cs once the server says the call is a video
// call (work queue): the camera track replaces the empty video sender of every
// peer, and the remote video tracks that were held back are reported.
func (e *Engine) switchToVideo(cs *callState) {
	if cs.video {
		return
	}
	cs.video = true
	t, err := e.currentMedia().OpenVideo(cs.local)
	if err != nil {
		_ = e.mediaDenied(err, "videoCallSwitch") // the call goes on without our camera
	}
	me := e.me()
	if t != nil {
		for _, ps := range cs.peers {
			if err := ps.peer.SetTrack(rtc.KindVideo, t); err != nil {
				e.log.Error("send video", "peer", ps.jid, "err", err)
			}
		}
		e.emitTrack(cs, me, true, rtc.KindVideo, t)
	}
	for _, ps := range cs.peers {
		if rt := ps.tracks[rtc.KindVideo]; rt != nil {
			e.emitTrack(cs, ps.jid, false, rtc.KindVideo, rt)
		}
	}
}
