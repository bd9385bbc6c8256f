package hub

import (
	"encoding/json"
	"errors"

	"parley/app/wire"
	"parley/server/store"
)

// handler describes one request of a signed-in connection for handle.
type handler[Req any] struct {
	// noPayload skips decoding: the request carries no data.
	noPayload bool
	// prepare, if set, runs outside h.mu after decoding: validation that
	// needs no state, and store calls. It may change req.
	prepare func(s *session, req *Req) *wire.Error
	// apply runs under h.mu while s is still c's session and the hub is
	// open. It changes state through the core, which adds its effects to fx,
	// adds transport ops that follow them to b, and returns the result for
	// the reply. When it fails it must have changed nothing.
	apply func(b *batch, fx *effects, s *session, req Req) (any, *wire.Error)
}

// handle serves one request of a signed-in connection: it decodes the
// payload, prepares it, then under h.mu checks the session, applies the
// request and commits the reply followed by the request's effects (events,
// logs, timers, then the transport ops of apply).
func handle[Req any](h *Hub, c *conn, f wire.Frame, hd handler[Req]) {
	s := h.currentSession(c)
	if s == nil { // replaced by a resume elsewhere since the dispatch
		h.sendNow(c, f.ID, nil, errUnauthorized())
		return
	}
	var req Req
	if !hd.noPayload {
		if e := wire.DecodeData(f, &req); e != nil {
			h.sendNow(c, f.ID, nil, e)
			return
		}
	}
	if hd.prepare != nil {
		if e := hd.prepare(s, &req); e != nil {
			h.sendNow(c, f.ID, nil, e)
			return
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	var (
		result any
		e      *wire.Error
		ops    = &batch{}
		fx     = &effects{}
	)
	switch {
	case h.closed:
		e = shutdownError()
	case c.sess != s:
		e = errUnauthorized()
	default:
		result, e = hd.apply(ops, fx, s, req)
	}
	b := &batch{}
	if e != nil {
		h.replyErr(b, c, f.ID, e)
	} else {
		h.reply(b, c, f.ID, result)
	}
	h.deliver(b, fx)
	b.add(ops)
	h.commit(b)
}

// needRoom is the 400 for a room request without a roomId.
func needRoom(typ, roomID string) *wire.Error {
	if roomID == "" {
		return wire.BadRequest("The %q request needs a roomId.", typ)
	}
	return nil
}

// lookupUsers loads the accounts of names from the store, outside h.mu: 404
// for an unknown user, 403 for a guest (guests join by link only).
func (h *Hub) lookupUsers(names []string) ([]store.User, *wire.Error) {
	var e *wire.Error
	accounts := make([]store.User, 0, len(names))
	onOwnStack(func() {
		ctx, cancel := h.opCtx()
		defer cancel()
		for _, name := range names {
			su, err := h.st.UserByUsername(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				e = wire.NotFound("%s is not a user of this server.", wire.JID(name, h.cfg.Domain))
				return
			}
			if err != nil {
				e = h.storeError("look up user", err)
				return
			}
			if su.Guest {
				e = wire.Forbidden("%s is a guest; guests join calls by link.", wire.JID(name, h.cfg.Domain))
				return
			}
			accounts = append(accounts, su)
		}
	})
	return accounts, e
}

// handleCallLogs serves call.logs.
func (h *Hub) handleCallLogs(c *conn, f wire.Frame) {
	var page wire.CallLogPage
	handle(h, c, f, handler[wire.CallLogsRequest]{
		prepare: func(s *session, req *wire.CallLogsRequest) *wire.Error {
			if req.Page < 1 {
				return wire.BadRequest("Pages are numbered from 1 (got %d).", req.Page)
			}
			ctx, cancel := h.opCtx()
			defer cancel()
			var err error
			onOwnStack(func() { page, err = h.st.CallLogs(ctx, s.uid, req.Page) })
			if err != nil {
				return h.storeError("call logs", err)
			}
			return nil
		},
		apply: func(*batch, *effects, *session, wire.CallLogsRequest) (any, *wire.Error) { return page, nil },
	})
}

// handleCreate serves call.create.
func (h *Hub) handleCreate(c *conn, f wire.Frame) {
	var (
		callees   []store.User
		blockedBy map[string]bool
		pushable  map[string]bool
	)
	handle(h, c, f, handler[wire.CallCreateRequest]{
		prepare: func(s *session, req *wire.CallCreateRequest) *wire.Error {
			names, e := h.core.checkCreate(s.user.Username, *req)
			if e != nil {
				return e
			}
			if callees, e = h.lookupUsers(names); e != nil { // outside the lock
				return e
			}
			if blockedBy, e = h.blockers(s.uid, callees); e != nil {
				return e
			}
			pushable, e = h.pushable(callees)
			return e
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.CallCreateRequest) (any, *wire.Error) {
			if wait := h.abuse.ringWait(s.user.Username, callees); wait > 0 {
				h.cfg.Metrics.RateLimited(LimitRings)
				return nil, tooManyRings(wait)
			}
			var (
				cl wire.Call
				e  *wire.Error
			)
			cl, e = h.core.create(fx, s.id, req, callees, blockedBy, pushable)
			if e != nil {
				return nil, e
			}
			h.abuse.rang(s.user.Username, callees)
			return wire.CallResult{Call: cl}, nil
		},
	})
}

// handleAnswer serves call.answer.
func (h *Hub) handleAnswer(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.AnswerRequest]{
		prepare: func(_ *session, req *wire.AnswerRequest) *wire.Error {
			if len(req.Signals) > wire.MaxAnswerSignals {
				return wire.BadRequest("call.answer carries at most %d signals.", wire.MaxAnswerSignals)
			}
			for _, r := range req.Signals {
				if e := checkPayload(r.Payload); e != nil {
					return e
				}
			}
			return needRoom(f.Type, req.RoomID)
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.AnswerRequest) (any, *wire.Error) {
			cl, e := h.core.answer(fx, s.id, req)
			if e != nil {
				return nil, e
			}
			return wire.CallResult{Call: cl}, nil
		},
	})
}

// handleDecline serves call.decline.
func (h *Hub) handleDecline(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.RoomRequest]{
		prepare: func(_ *session, req *wire.RoomRequest) *wire.Error { return needRoom(f.Type, req.RoomID) },
		apply: func(_ *batch, fx *effects, s *session, req wire.RoomRequest) (any, *wire.Error) {
			return nil, h.core.declineCall(fx, s.id, req.RoomID)
		},
	})
}

// handleEnd serves call.end.
func (h *Hub) handleEnd(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.RoomRequest]{
		prepare: func(_ *session, req *wire.RoomRequest) *wire.Error { return needRoom(f.Type, req.RoomID) },
		apply: func(_ *batch, fx *effects, s *session, req wire.RoomRequest) (any, *wire.Error) {
			return nil, h.core.end(fx, s.id, req.RoomID)
		},
	})
}

// handleSignal serves call.signal.
func (h *Hub) handleSignal(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.SignalRequest]{
		prepare: func(_ *session, req *wire.SignalRequest) *wire.Error {
			if e := checkPayload(req.Payload); e != nil {
				return e
			}
			return needRoom(f.Type, req.RoomID)
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.SignalRequest) (any, *wire.Error) {
			return nil, h.core.signal(fx, s.id, req)
		},
	})
}

// handleMute serves call.mute.
func (h *Hub) handleMute(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.MuteRequest]{
		prepare: func(_ *session, req *wire.MuteRequest) *wire.Error {
			if req.Audio == nil && req.Video == nil {
				return wire.BadRequest("call.mute needs audio, video or both.")
			}
			return needRoom(f.Type, req.RoomID)
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.MuteRequest) (any, *wire.Error) {
			return nil, h.core.mute(fx, s.id, req)
		},
	})
}

// handleMedia serves call.media.
func (h *Hub) handleMedia(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.MediaRequest]{
		prepare: func(_ *session, req *wire.MediaRequest) *wire.Error {
			if req.Status != wire.StatusConnected && req.Status != wire.StatusReconnecting {
				return wire.BadRequest("call.media status must be %q or %q.", wire.StatusConnected, wire.StatusReconnecting)
			}
			return needRoom(f.Type, req.RoomID)
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.MediaRequest) (any, *wire.Error) {
			return nil, h.core.media(fx, s.id, req)
		},
	})
}

// handleInvite serves call.invite.
func (h *Hub) handleInvite(c *conn, f wire.Frame) {
	var (
		accounts  []store.User
		blockedBy map[string]bool
		pushable  map[string]bool
	)
	handle(h, c, f, handler[wire.InviteRequest]{
		prepare: func(s *session, req *wire.InviteRequest) *wire.Error {
			// Membership first: a stranger learns nothing about the invitees.
			h.mu.Lock()
			_, _, _, e := h.core.memberOf(s.id, req.RoomID)
			h.mu.Unlock()
			if e != nil {
				return e
			}
			names, e := h.core.parseUsers(s.user.Username, req.To)
			if e != nil {
				return e
			}
			if accounts, e = h.lookupUsers(names); e != nil { // outside the lock
				return e
			}
			if blockedBy, e = h.blockers(s.uid, accounts); e != nil {
				return e
			}
			pushable, e = h.pushable(accounts)
			return e
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.InviteRequest) (any, *wire.Error) {
			rung := h.core.toRing(req.RoomID, accounts) // not those already in the call
			if wait := h.abuse.ringWait(s.user.Username, rung); wait > 0 {
				h.cfg.Metrics.RateLimited(LimitRings)
				return nil, tooManyRings(wait)
			}
			var e *wire.Error
			e = h.core.invite(fx, s.id, req.RoomID, accounts, blockedBy, pushable)
			if e != nil {
				return nil, e
			}
			h.abuse.rang(s.user.Username, rung)
			return nil, nil
		},
	})
}

// handleSwitch serves call.switch.
func (h *Hub) handleSwitch(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.SwitchRequestPayload]{
		prepare: func(_ *session, req *wire.SwitchRequestPayload) *wire.Error {
			switch req.Action {
			case wire.SwitchRequest, wire.SwitchCancel, wire.SwitchAccept, wire.SwitchDecline:
				return nil
			}
			return wire.BadRequest("call.switch action must be request, cancel, accept or decline.")
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.SwitchRequestPayload) (any, *wire.Error) {
			return nil, h.core.switchStep(fx, s.id, req)
		},
	})
}

// handleData serves call.data.
func (h *Hub) handleData(c *conn, f wire.Frame) {
	var data json.RawMessage
	handle(h, c, f, handler[wire.DataRequest]{
		prepare: func(_ *session, req *wire.DataRequest) (e *wire.Error) {
			data, e = checkData(*req)
			return e
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.DataRequest) (any, *wire.Error) {
			return nil, h.core.data(fx, s.id, req.RoomID, data)
		},
	})
}

// linkRequest prepares link.subscribe and link.join: the look-up is counted
// against the remote address, then the link and display name are checked.
func (h *Hub) linkRequest(c *conn, code, name *string) func(*session, *wire.LinkRequest) *wire.Error {
	return func(_ *session, req *wire.LinkRequest) (e *wire.Error) {
		if !h.linkLim.allow(c.remote) {
			h.cfg.Metrics.RateLimited(LimitLinks)
			return wire.RateLimited("Too many call link look-ups from your address; wait a moment.")
		}
		*code, *name, e = checkLink(*req)
		return e
	}
}

// handleLinkSubscribe serves link.subscribe.
func (h *Hub) handleLinkSubscribe(c *conn, f wire.Frame) {
	var code, name string
	handle(h, c, f, handler[wire.LinkRequest]{
		prepare: h.linkRequest(c, &code, &name),
		apply: func(_ *batch, _ *effects, s *session, _ wire.LinkRequest) (any, *wire.Error) {
			p, e := h.core.subscribe(s.id, code, name)
			if e != nil {
				return nil, e
			}
			return p, nil
		},
	})
}

// handleLinkJoin serves link.join.
func (h *Hub) handleLinkJoin(c *conn, f wire.Frame) {
	var code, name string
	handle(h, c, f, handler[wire.LinkRequest]{
		prepare: h.linkRequest(c, &code, &name),
		apply: func(_ *batch, fx *effects, s *session, _ wire.LinkRequest) (any, *wire.Error) {
			res, e := h.core.linkJoin(fx, s.id, code, name)
			if e != nil {
				return nil, e
			}
			return res, nil
		},
	})
}

// handleLinkUnsubscribe serves link.unsubscribe.
func (h *Hub) handleLinkUnsubscribe(c *conn, f wire.Frame) {
	handle(h, c, f, handler[struct{}]{
		noPayload: true,
		apply: func(_ *batch, fx *effects, s *session, _ struct{}) (any, *wire.Error) {
			return nil, h.core.unsubscribeTab(fx, s.id)
		},
	})
}

// handleMeetCreate serves meet.create.
func (h *Hub) handleMeetCreate(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.MeetRequest]{
		apply: func(_ *batch, fx *effects, s *session, req wire.MeetRequest) (any, *wire.Error) {
			cl, e := h.core.meetCreate(fx, s.id, remoteIP(c.remote), req)
			if e != nil {
				if e.Reason == wire.ReasonLimitReached {
					h.cfg.Metrics.RateLimited(LimitMeetLinks)
				}
				return nil, e
			}
			return wire.CallResult{Call: cl}, nil
		},
	})
}
