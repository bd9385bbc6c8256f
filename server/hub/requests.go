package hub

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"parley/app/wire"
)

// reader is the per-connection state only the reading goroutine touches.
type reader struct {
	lim         *rate.Limiter
	badFrames   int
	authFails   int
	rejected    int
	rejectStart time.Time
}

// readLoop reads frames until the connection fails or closes. Once the
// connection is closing, frames are read and dropped, so the close handshake
// completes.
func (h *Hub) readLoop(c *conn) {
	rd := &reader{lim: rate.NewLimiter(rate.Limit(h.cfg.RateLimit), h.cfg.RateBurst)}
	err := c.readEach(h.ctx, func(typ websocket.MessageType, data []byte) {
		c.idleTimer.Reset(h.cfg.IdleTimeout)
		if c.isClosing() {
			return
		}
		h.handleMessage(c, rd, typ, data)
	})
	h.log.Debug("connection read ended", "remote", c.remote, "err", err)
}

// connGone detaches a connection whose reader ended: its session (if any)
// starts its resume grace period.
func (h *Hub) connGone(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	c.idleTimer.Stop()
	c.close(websocket.StatusNormalClosure, "", false)
	h.bud.untrack(c)
	h.cfg.Metrics.ConnectionClosed(closeReason(c.closeCode()))
	if s := c.sess; s != nil {
		c.sess = nil
		if s.c == c {
			h.detach(s)
		}
	}
}

// opCtx is the context for a store call made while serving a request.
func (h *Hub) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, 15*time.Second)
}

// handleMessage serves one WebSocket message.
func (h *Hub) handleMessage(c *conn, rd *reader, typ websocket.MessageType, data []byte) {
	var (
		f   wire.Frame
		err error
	)
	if typ != websocket.MessageText {
		err = errors.New("binary messages are not part of the protocol")
	} else {
		f, err = wire.Decode(data)
	}
	if err != nil {
		rd.badFrames++
		h.mu.Lock()
		b := &batch{}
		h.replyErr(b, c, 0, wire.BadRequest("The frame could not be decoded: %s.", truncate(err.Error(), 200)))
		if rd.badFrames >= MaxBadFrames {
			h.log.Warn("closing connection: undecodable frames", "remote", c.remote)
			b.toConn(c, func(*starter) { c.close(wire.CloseProtocol, "too many undecodable frames", true) })
		}
		h.commit(b)
		h.mu.Unlock()
		return
	}

	if !rd.lim.Allow() {
		now := time.Now()
		if now.Sub(rd.rejectStart) > RateRejectWindow {
			rd.rejectStart, rd.rejected = now, 0
		}
		rd.rejected++
		h.cfg.Metrics.RateLimited(LimitRequests)
		h.mu.Lock()
		b := &batch{}
		h.replyErr(b, c, f.ID, wire.RateLimited("Too many requests; slow down (%g a second, bursts of %d).", h.cfg.RateLimit, h.cfg.RateBurst))
		if rd.rejected >= MaxRateRejections {
			h.log.Warn("closing connection: rate limited", "remote", c.remote)
			b.toConn(c, func(*starter) { c.close(wire.CloseRateLimited, "rate limit exceeded", true) })
		}
		h.commit(b)
		h.mu.Unlock()
		return
	}

	if f.ID == 0 {
		h.sendNow(c, 0, nil, wire.BadRequest("Every request needs a non-zero id (the %q request has none).", truncate(f.Type, 64)))
		return
	}

	switch f.Type {
	case wire.TypePing:
		h.sendNow(c, f.ID, nil, nil)
	case wire.TypeRegister, wire.TypeLogin, wire.TypeAuth:
		h.handleSignIn(c, rd, f)
	case wire.TypeGuest:
		h.handleGuest(c, f)
	default:
		serve := handlerFor(f.Type)
		if serve == nil {
			h.sendNow(c, f.ID, nil, wire.UnknownType(f.Type))
			return
		}
		switch s := h.currentSession(c); {
		case s == nil:
			h.sendNow(c, f.ID, nil, errUnauthorized())
		case s.user.Guest && registeredOnly(f.Type):
			h.sendNow(c, f.ID, nil, wire.Forbidden("Guests can join calls by link but cannot do %q; sign up for that.", f.Type))
		default:
			serve(h, c, f)
		}
	}
}

// handlerFor returns the handler of a request type of a signed-in
// connection, or nil for an unknown type.
func handlerFor(typ string) func(*Hub, *conn, wire.Frame) {
	switch typ {
	case wire.TypeLogout:
		return (*Hub).handleLogout
	case wire.TypeICERefresh:
		return (*Hub).handleICERefresh
	case wire.TypeCallLogs:
		return (*Hub).handleCallLogs
	case wire.TypeCallCreate:
		return (*Hub).handleCreate
	case wire.TypeCallAnswer:
		return (*Hub).handleAnswer
	case wire.TypeCallDecline:
		return (*Hub).handleDecline
	case wire.TypeCallEnd:
		return (*Hub).handleEnd
	case wire.TypeCallSignal:
		return (*Hub).handleSignal
	case wire.TypeCallMute:
		return (*Hub).handleMute
	case wire.TypeCallMedia:
		return (*Hub).handleMedia
	case wire.TypeCallInvite:
		return (*Hub).handleInvite
	case wire.TypeCallSwitch:
		return (*Hub).handleSwitch
	case wire.TypeCallData:
		return (*Hub).handleData
	case wire.TypeLinkSubscribe:
		return (*Hub).handleLinkSubscribe
	case wire.TypeLinkJoin:
		return (*Hub).handleLinkJoin
	case wire.TypeLinkUnsubscribe:
		return (*Hub).handleLinkUnsubscribe
	case wire.TypeMeetCreate:
		return (*Hub).handleMeetCreate
	case wire.TypeBlockAdd, wire.TypeBlockRemove, wire.TypeBlockList:
		return blockHandler(typ)
	case wire.TypeSessionList:
		return (*Hub).handleSessionList
	case wire.TypeSessionRevoke:
		return (*Hub).handleSessionRevoke
	case wire.TypeSessionRevokeOthers:
		return (*Hub).handleSessionRevokeOthers
	case wire.TypeCallShare:
		return (*Hub).handleShare
	case wire.TypeCallAdmit, wire.TypeCallDeny:
		return (*Hub).handleAdmission
	case wire.TypeCallScreen:
		return (*Hub).handleScreen
	case wire.TypePushKey:
		return (*Hub).handlePushKey
	case wire.TypePushRegister:
		return (*Hub).handlePushRegister
	case wire.TypePushUnregister:
		return (*Hub).handlePushUnregister
	case wire.TypeTabVisibility:
		return (*Hub).handleTabVisibility
	}
	return nil
}

// registeredOnly reports whether guests may not make requests of type typ.
func registeredOnly(typ string) bool {
	switch typ {
	case wire.TypeCallLogs, wire.TypeCallCreate, wire.TypeCallInvite, wire.TypeMeetCreate,
		wire.TypeBlockAdd, wire.TypeBlockRemove, wire.TypeBlockList,
		wire.TypeSessionList, wire.TypeSessionRevoke, wire.TypeSessionRevokeOthers,
		wire.TypeCallAdmit, wire.TypeCallDeny,
		wire.TypePushRegister:
		return true
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
