package hub

import "parley/app/wire"

// switchStep applies one call.switch step (request, cancel, accept or
// decline) from tab id, which must be joined in the call.
func (k *core) switchStep(fx *effects, id string, req wire.SwitchRequestPayload) *wire.Error {
	_, cl, p, e := k.memberOf(id, req.RoomID)
	if e != nil {
		return e
	}
	sw := cl.sw
	switch req.Action {
	case wire.SwitchRequest:
		if cl.snap.Mode != wire.ModeOneToOne {
			return wire.Forbidden("Switching to video works in one-to-one calls; turn your camera on instead.")
		}
		var other *part
		n := 0
		for _, q := range cl.parts {
			if !q.done && wire.Joined(cl.status(q)) {
				n++
				if q != p {
					other = q
				}
			}
		}
		switch {
		case n != 2 || other == nil:
			return wire.Conflict("The other participant has not joined the call yet.")
		case cl.snap.Type == wire.TypeVideo:
			return wire.Conflict("This is already a video call.")
		case sw != nil:
			return wire.Conflict("A switch to video is already being asked for.")
		}
		cl.sw = &switchReq{from: p, to: other}
		cl.swGen++
		cl.swUntil = k.now() + k.cfg.SwitchTimeout.Milliseconds()
		fx.start(timerKey{timerSwitch, cl.snap.RoomID, ""}, cl.swGen, k.cfg.SwitchTimeout)
		k.switchEvent(fx, cl, other, p, wire.SwitchRequest)
	case wire.SwitchCancel:
		if sw == nil || sw.from != p {
			return wire.Conflict("You have no switch request to cancel.")
		}
		k.stopSwitch(fx, cl)
		k.switchEvent(fx, cl, sw.to, p, wire.SwitchCancel)
	case wire.SwitchAccept, wire.SwitchDecline:
		if sw == nil || sw.to != p {
			return wire.Conflict("There is no switch request to %s.", req.Action)
		}
		k.stopSwitch(fx, cl)
		k.switchEvent(fx, cl, sw.from, p, req.Action)
		if req.Action == wire.SwitchAccept {
			cl.snap.Type = wire.TypeVideo
			k.broadcast(fx, cl, p.u.jid, "")
		}
	default:
		return wire.BadRequest("call.switch action must be request, cancel, accept or decline.")
	}
	return nil
}

// switchEvent sends a call.switch event to p's bound tab.
func (k *core) switchEvent(fx *effects, cl *call, to, from *part, action string) {
	if to.tab != nil && !to.done {
		fx.emit(to.tab, wire.EventSwitch, wire.SwitchEvent{RoomID: cl.snap.RoomID, From: from.u.jid, Action: action})
	}
}

// stopSwitch forgets cl's pending switch request and stops its timer.
func (k *core) stopSwitch(fx *effects, cl *call) {
	if cl.sw != nil {
		cl.sw = nil
		cl.swGen++
		fx.stop(timerKey{timerSwitch, cl.snap.RoomID, ""})
	}
}
