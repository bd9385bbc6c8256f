package call

import (
	"context"
	"errors"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// screenShare is a call's screen-sharing state.
type screenShare struct {
	// busy: this device shares, or is starting to (guarded by Engine.mu).
	busy bool
	// confirmed: a snapshot has named this device the sharer since its
	// share started, so a later one naming someone else (or nobody) ends
	// this share, not an earlier one whose end arrives late (Engine.mu).
	confirmed bool
	// armed: the server has answered this share's request and the events
	// that came before that answer have been applied (Engine.mu). Until
	// then a snapshot naming this device may be an earlier share's, still
	// in the work queue behind its stop, and confirms nothing: taken for
	// this share's, it let that stop's snapshot end this share.
	armed bool
	// gen counts this device's shares, so that a share's arming that runs
	// late (after its stop, and the next share's start) arms nothing
	// (Engine.mu).
	gen uint64
	// shown is the participant whose remote screen track was last reported
	// on userTrackListener, and track that track (work queue).
	shown string
	track rtc.Track
}

// ShareScreen shares your screen in the current call: the browser asks what
// to share, then every other participant gets it as a "screen" track beside
// your camera, which keeps going. One participant shares at a time: yours
// replaces anyone else's. Stopping from the browser's own control is
// StopScreenShare.
func (e *Engine) ShareScreen(ctx context.Context) error {
	room, err := e.joinedRoom()
	if err != nil {
		return err
	}
	e.mu.Lock()
	cs := e.call
	switch {
	case cs == nil:
		e.mu.Unlock()
		return notInCall()
	case cs.local == nil:
		e.mu.Unlock()
		return wire.Conflict("The call is still being set up; try again in a moment.")
	case cs.screen.busy:
		e.mu.Unlock()
		return wire.Conflict("You are already sharing your screen.")
	}
	cs.screen.busy, cs.screen.confirmed, cs.screen.armed = true, false, false
	cs.screen.gen++
	gen := cs.screen.gen
	e.mu.Unlock()
	fail := func(err error) error {
		e.mu.Lock()
		cs.screen.busy = false
		e.mu.Unlock()
		return err
	}
	sc, ok := e.currentMedia().(rtc.ScreenCapturer)
	if !ok {
		return fail(e.screenDenied(errors.New("this platform cannot capture a screen")))
	}
	var t rtc.Track
	t, err = sc.OpenScreen(cs.local, func() {
		// The browser's own "Stop sharing": as StopScreenShare, unless
		// this share is over already.
		if cs.local.Screen() == t {
			if err := e.StopScreenShare(context.Background()); err != nil {
				e.log.Debug("stop sharing after the capture ended", "err", err)
			}
		}
	})
	if err != nil {
		return fail(e.screenDenied(err))
	}
	if err := e.send(ctx, wire.TypeCallScreen, wire.ScreenRequest{RoomID: room, Sharing: new(true)}, nil); err != nil {
		cs.local.StopScreen(t)
		return fail(err)
	}
	e.work.push(func() {
		e.armShare(cs, gen)
		e.startSharing(cs, t)
	})
	return nil
}

// armShare lets snapshots confirm share gen, just started, now that every
// event sent before the server's answer to it has been applied; the current
// snapshot confirms it if it names this device (work queue).
func (e *Engine) armShare(cs *callState, gen uint64) {
	me := e.me()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !cs.screen.busy || cs.screen.gen != gen {
		return // stopped meanwhile, and maybe started again
	}
	cs.screen.armed = true
	if cs.snap != nil && cs.snap.ScreenSharer == me {
		cs.screen.confirmed = true
	}
}

// StopScreenShare stops sharing your screen.
func (e *Engine) StopScreenShare(ctx context.Context) error {
	room, err := e.joinedRoom()
	if err != nil {
		return err
	}
	e.mu.Lock()
	cs := e.call
	if cs == nil || !cs.screen.busy {
		e.mu.Unlock()
		return wire.Conflict("You are not sharing your screen.")
	}
	cs.screen.busy, cs.screen.confirmed, cs.screen.armed = false, false, false
	t := e.sharedTrack(cs)
	e.mu.Unlock()
	e.work.push(func() { e.stopSharing(cs, t) })
	err = e.send(ctx, wire.TypeCallScreen, wire.ScreenRequest{RoomID: room, Sharing: new(false)}, nil)
	var we *wire.Error
	if errors.As(err, &we) && we.Code == wire.CodeConflict {
		return nil // the server had already ended it (replaced meanwhile): stopped all the same
	}
	return err
}

// screenDenied reports a screen capture that failed on mediaErrorListener
// and returns its error.
func (e *Engine) screenDenied(err error) error {
	e.log.Debug("screen capture", "err", err)
	me := event.MediaError{StatusCode: wire.CodeScreenDenied, Device: "screen", Action: "shareScreen",
		Message: "Screen sharing was cancelled or is not allowed. Choose a screen, window or tab to share, then try again."}
	e.emit(me)
	return wire.MediaDenied(me.StatusCode, me.Message)
}

// startSharing sends the screen track t on every peer and reports it (work
// queue). Peers made from now on send it from the start (rtc.NewPeer).
func (e *Engine) startSharing(cs *callState, t rtc.Track) {
	if cs.ended || cs.local.Screen() != t {
		return
	}
	for _, ps := range cs.peers {
		if err := ps.peer.SetTrack(rtc.KindScreen, t); err != nil {
			e.log.Debug("send screen", "peer", ps.jid, "err", err)
		}
	}
	e.emitTrack(cs, e.me(), true, rtc.KindScreen, t)
}

// sharedTrack is the screen track this device shares in cs, if any, taken
// when a share is ended (with Engine.mu held, as the share's state changes):
// the work queue stops that track, and not one that a share started after
// the end (and before the queue got to it) opened.
func (e *Engine) sharedTrack(cs *callState) rtc.Track {
	if cs.local == nil {
		return nil
	}
	return cs.local.Screen()
}

// stopSharing ends the local screen track t if it is still shared: the peers
// stop sending it and its end is reported (work queue).
func (e *Engine) stopSharing(cs *callState, t rtc.Track) {
	if cs.ended || cs.local == nil || !cs.local.StopScreen(t) {
		return
	}
	for _, ps := range cs.peers {
		if err := ps.peer.SetTrack(rtc.KindScreen, nil); err != nil {
			e.log.Debug("stop sending screen", "peer", ps.jid, "err", err)
		}
	}
	e.emitTrack(cs, e.me(), true, rtc.KindScreen, nil)
}

// applyScreen reports a change of sharer between snapshots old (nil for the
// first) and nc on screenShareListener, ends this device's share when the
// server says it is over (someone replaced it), tells the server when its
// first snapshot names this device although it does not share (a reloaded
// page), and shows the sharer's screen track (work queue, after the peers
// are in line).
func (e *Engine) applyScreen(cs *callState, old, nc *wire.Call, me string) {
	was, now := "", nc.ScreenSharer
	if old != nil {
		was = old.ScreenSharer
	}
	if was != now {
		if was != "" {
			e.emit(event.ScreenShare{RoomID: nc.RoomID, UserJID: was, LocalUser: was == me, Replaced: now != "", ReplacedBy: now})
		}
		if now != "" {
			e.emit(event.ScreenShare{RoomID: nc.RoomID, UserJID: now, LocalUser: now == me, Sharing: true, Replacing: was})
		}
	}
	e.mu.Lock()
	busy := cs.screen.busy
	if busy && cs.screen.armed && now == me {
		cs.screen.confirmed = true
	}
	// The server ended this share (replaced): not the late end of an
	// earlier share, which comes before this one is confirmed.
	ended := busy && cs.screen.confirmed && now != me
	var t rtc.Track
	if ended {
		cs.screen.busy, cs.screen.confirmed, cs.screen.armed = false, false, false
		t = e.sharedTrack(cs)
	}
	e.mu.Unlock()
	switch {
	case ended:
		e.stopSharing(cs, t)
	case old == nil && now == me && !busy:
		room := nc.RoomID
		go func() {
			if err := e.sendNow(context.Background(), wire.TypeCallScreen, wire.ScreenRequest{RoomID: room, Sharing: new(false)}, nil); err != nil {
				e.log.Debug("end a share this page does not have", "err", err)
			}
		}()
	}
	e.showScreen(cs)
}

// showScreen reports the current sharer's remote screen track on
// userTrackListener once both the snapshot and the track say so, and the
// end of the one reported before (work queue).
func (e *Engine) showScreen(cs *callState) {
	var (
		jid string
		t   rtc.Track
	)
	if cs.snap != nil && !cs.ended {
		if ps := cs.peers[cs.snap.ScreenSharer]; ps != nil && ps.tracks[rtc.KindScreen] != nil {
			jid, t = ps.jid, ps.tracks[rtc.KindScreen]
		}
	}
	if jid == cs.screen.shown && t == cs.screen.track {
		return
	}
	if cs.screen.shown != "" {
		e.emitTrack(cs, cs.screen.shown, false, rtc.KindScreen, nil)
	}
	cs.screen.shown, cs.screen.track = jid, t
	if jid != "" {
		e.emitTrack(cs, jid, false, rtc.KindScreen, t)
	}
}
