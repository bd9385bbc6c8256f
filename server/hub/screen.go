package hub

import "parley/app/wire"

// handleScreen serves call.screen.
func (h *Hub) handleScreen(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.ScreenRequest]{
		prepare: func(_ *session, req *wire.ScreenRequest) *wire.Error {
			if req.Sharing == nil {
				return wire.BadRequest("call.screen needs sharing (true or false).")
			}
			return needRoom(f.Type, req.RoomID)
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.ScreenRequest) (any, *wire.Error) {
			return nil, h.core.screen(fx, s.id, req.RoomID, *req.Sharing)
		},
	})
}

// screen starts or stops tab id's screen share in the call roomID. Only a
// joined participant, on the tab that joined, shares; one participant
// shares at a time, so a new share replaces the one before. Everyone joined
// sees the change in a call.update.
func (k *core) screen(fx *effects, id, roomID string, sharing bool) *wire.Error {
	t, cl, _, e := k.memberOf(id, roomID)
	if e != nil {
		return e
	}
	me := t.u.jid
	switch {
	case sharing && cl.snap.ScreenSharer == me:
		return wire.Conflict("You are already sharing your screen.")
	case !sharing && cl.snap.ScreenSharer != me:
		return wire.Conflict("You are not sharing your screen.")
	case sharing:
		cl.snap.ScreenSharer = me
	default:
		cl.snap.ScreenSharer = ""
	}
	k.broadcast(fx, cl, me, "")
	return nil
}

// endShare ends p's screen share, if p shares: p left the call. The caller
// broadcasts the new state.
func (k *core) endShare(cl *call, p *part) {
	if cl.snap.ScreenSharer == p.u.jid {
		cl.snap.ScreenSharer = ""
	}
}
