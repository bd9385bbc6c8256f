package hub

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"parley/app/wire"
	"parley/server/store"
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
	for {
		typ, data, err := c.ws.Read(h.ctx)
		if err != nil {
			h.log.Debug("connection read ended", "remote", c.remote, "err", err)
			return
		}
		if c.isClosing() {
			continue
		}
		h.handleMessage(c, rd, typ, data)
	}
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
	c.close(websocket.StatusNormalClosure, "", false)
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
			b.do(func() { c.close(wire.CloseProtocol, "too many undecodable frames", true) })
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
		h.mu.Lock()
		b := &batch{}
		h.replyErr(b, c, f.ID, wire.Errorf(wire.CodeRateLimited, reasonRateLimited,
			"Too many requests; slow down (%g a second, bursts of %d).", h.cfg.RateLimit, h.cfg.RateBurst))
		if rd.rejected >= MaxRateRejections {
			h.log.Warn("closing connection: rate limited", "remote", c.remote)
			b.do(func() { c.close(wire.CloseRateLimited, "rate limit exceeded", true) })
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
	case wire.TypeLogout:
		h.handleLogout(c, f)
	case wire.TypeCallLogs, wire.TypeCallCreate, wire.TypeCallInvite, wire.TypeMeetCreate:
		switch s := h.currentSession(c); {
		case s == nil:
			h.sendNow(c, f.ID, nil, errUnauthorized())
		case s.u.guest:
			h.sendNow(c, f.ID, nil, errorf(wire.CodeForbidden, reasonForbidden,
				"Guests can join calls by link but cannot do %q; sign up for that.", f.Type))
		case f.Type == wire.TypeCallLogs:
			h.handleCallLogs(c, f)
		case f.Type == wire.TypeCallCreate:
			h.handleCreate(c, f)
		case f.Type == wire.TypeCallInvite:
			h.handleInvite(c, f)
		default:
			h.handleMeetCreate(c, f)
		}
	case wire.TypeCallSwitch, wire.TypeCallData:
		if h.currentSession(c) == nil {
			h.sendNow(c, f.ID, nil, errUnauthorized())
			return
		}
		h.handleMemberOp(c, f)
	case wire.TypeLinkSubscribe, wire.TypeLinkJoin, wire.TypeLinkUnsubscribe:
		if h.currentSession(c) == nil {
			h.sendNow(c, f.ID, nil, errUnauthorized())
			return
		}
		h.handleLink(c, f)
	case wire.TypeCallAnswer, wire.TypeCallDecline, wire.TypeCallEnd,
		wire.TypeCallSignal, wire.TypeCallMute, wire.TypeCallMedia:
		if h.currentSession(c) == nil {
			h.sendNow(c, f.ID, nil, errUnauthorized())
			return
		}
		h.handleRoomOp(c, f)
	default:
		h.sendNow(c, f.ID, nil, wire.UnknownType(f.Type))
	}
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

// currentSession returns c's session, or nil. Takes h.mu.
func (h *Hub) currentSession(c *conn) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return c.sess
}

// handleSignIn serves register, login and auth.
func (h *Hub) handleSignIn(c *conn, rd *reader, f wire.Frame) {
	if h.currentSession(c) != nil {
		h.sendNow(c, f.ID, nil, wire.Errorf(wire.CodeConflict, reasonConflict, "This connection is already signed in."))
		return
	}
	var (
		su     store.User
		token  string
		resume *wire.AuthRequest
		e      *wire.Error
	)
	if f.V > wire.Version {
		e = wire.Errorf(wire.CodeBadRequest, wire.ReasonUnsupportedVersion,
			"This server speaks protocol version %d, older than the client's %d; reload the page or update the app.", wire.Version, f.V)
	} else {
		onOwnStack(func() { su, token, resume, e = h.authenticate(f) })
	}
	if e != nil {
		if e.Code == wire.CodeInternal || e.Code == wire.CodeUnreachable {
			h.sendNow(c, f.ID, nil, e)
			return
		}
		rd.authFails++
		h.mu.Lock()
		b := &batch{}
		h.replyErr(b, c, f.ID, e)
		if rd.authFails >= MaxAuthFailures {
			h.log.Info("closing connection: failed sign-ins", "remote", c.remote)
			b.do(func() { c.close(wire.CloseAuthFailed, "too many failed sign-in attempts", true) })
		}
		h.commit(b)
		h.mu.Unlock()
		return
	}
	h.signIn(c, f.ID, su, token, resume)
}

// authenticate checks a register, login or auth request against the store.
func (h *Hub) authenticate(f wire.Frame) (su store.User, token string, resume *wire.AuthRequest, e *wire.Error) {
	ctx, cancel := h.opCtx()
	defer cancel()
	var err error
	switch f.Type {
	case wire.TypeRegister:
		var req wire.RegisterRequest
		if e := wire.DecodeData(f, &req); e != nil {
			return su, "", nil, e
		}
		if e := wire.CheckUsername(req.Username); e != nil {
			return su, "", nil, e
		}
		if strings.HasPrefix(req.Username, store.GuestPrefix) {
			return su, "", nil, wire.BadRequest("Usernames starting with %q are reserved for guests.", store.GuestPrefix)
		}
		if utf8.RuneCountInString(req.Password) < store.MinPasswordLen || len(req.Password) > store.MaxPasswordLen {
			return su, "", nil, wire.BadRequest("A password is %d to %d characters.", store.MinPasswordLen, store.MaxPasswordLen)
		}
		if _, ok := store.CleanDisplayName(req.DisplayName); !ok {
			return su, "", nil, wire.BadRequest("A display name is at most %d characters, without control characters.", store.MaxDisplayNameLen)
		}
		su, err = h.st.Register(ctx, req.Username, req.Password, req.DisplayName)
		switch {
		case errors.Is(err, store.ErrUsernameTaken):
			return su, "", nil, wire.Errorf(wire.CodeConflict, reasonConflict, "The username %q is taken.", req.Username)
		case errors.Is(err, store.ErrInvalid):
			return su, "", nil, wire.BadRequest("The registration was refused: %v.", err)
		case err != nil:
			return su, "", nil, h.storeError("register", err)
		}
	case wire.TypeLogin:
		var req wire.LoginRequest
		if e := wire.DecodeData(f, &req); e != nil {
			return su, "", nil, e
		}
		su, err = h.st.Login(ctx, req.Username, req.Password)
		switch {
		case errors.Is(err, store.ErrBadCredentials):
			return su, "", nil, wire.Errorf(wire.CodeUnauthorized, reasonUnauthorized, "Wrong username or password.")
		case err != nil:
			return su, "", nil, h.storeError("login", err)
		}
	case wire.TypeAuth:
		var req wire.AuthRequest
		if e := wire.DecodeData(f, &req); e != nil {
			return su, "", nil, e
		}
		su, err = h.st.UserByToken(ctx, req.Token)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return su, "", nil, wire.Errorf(wire.CodeUnauthorized, reasonUnauthorized, "The token is not valid (unknown or logged out).")
		case err != nil:
			return su, "", nil, h.storeError("auth", err)
		}
		return su, req.Token, &req, nil
	}
	token, err = h.st.NewSession(ctx, su.ID)
	if err != nil {
		return su, "", nil, h.storeError("new session", err)
	}
	return su, token, nil, nil
}

// signIn attaches c to a new session of su, or re-attaches the session named
// in resume when it belongs to su and is still within its grace period.
func (h *Hub) signIn(c *conn, id uint64, su store.User, token string, resume *wire.AuthRequest) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.isClosing() {
		return
	}
	if h.closed {
		b := &batch{}
		h.replyErr(b, c, id, shutdownError())
		h.commit(b)
		return
	}
	u := h.userFor(su)
	c.authed = true
	if c.authTimer != nil {
		c.authTimer.Stop()
		c.authTimer = nil
	}
	if resume != nil && resume.Resume != "" {
		if s := h.sessions[resume.Resume]; s != nil && !s.removed && s.u == u && u.id == su.ID {
			h.resume(c, id, s, token, resume.LastSeq)
			return
		}
	}
	s := &session{id: randomID(16), u: u, token: token, c: c}
	h.sessions[s.id] = s
	u.sessions[s.id] = s
	c.sess = s
	b := &batch{}
	h.reply(b, c, id, wire.AuthResult{User: u.public(), Token: token, Session: s.id, Version: wire.Version, Limits: h.limits()})
	h.ringSession(b, s, true)
	h.commit(b)
}

// limits are the limits sent to clients in every AuthResult.
func (h *Hub) limits() wire.Limits {
	return wire.Limits{
		MaxParticipants: h.cfg.MaxParticipants,
		MaxDisplayName:  store.MaxDisplayNameLen,
		MaxGroupID:      MaxGroupIDLen,
		MaxCustomData:   wire.MaxCustomDataBytes,
	}
}

func (u *user) public() wire.User {
	return wire.User{JID: u.jid, Username: u.name, DisplayName: u.display, Guest: u.guest}
}

// resume re-attaches session s to c: it replies with the session's current
// call, replays the events after lastSeq, and restores the statuses the drop
// had set to reconnecting. Called with h.mu held.
func (h *Hub) resume(c *conn, id uint64, s *session, token string, lastSeq uint64) {
	// Replaying from the session's buffer is only in order when every earlier
	// batch has been delivered: wait for the flusher to go idle.
	for h.flushing {
		h.idle.Wait()
		if s.removed || h.closed || c.isClosing() {
			b := &batch{}
			if !c.isClosing() {
				h.replyErr(b, c, id, wire.Errorf(wire.CodeConflict, reasonConflict, "The session ended while resuming; sign in again."))
			}
			h.commit(b)
			return
		}
	}
	if old := s.c; old != nil && old != c {
		// The old connection is still open (a half-open socket, or a second
		// tab claiming the session): it loses the session.
		old.sess = nil
		old.close(wire.CloseReplaced, "session resumed elsewhere", false)
	}
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.c, s.token, c.sess = c, token, s
	h.log.Debug("session resumed", "user", s.u.name, "lastSeq", lastSeq, "seq", s.seq)

	after := &batch{}
	var current *wire.Call
	for cl, p := range s.u.parts {
		if p.done || p.sess != s {
			continue
		}
		if st := cl.status(p); p.prev != "" && st == wire.StatusReconnecting && p.prev != st {
			cl.setStatus(p, p.prev)
			h.broadcast(after, cl, s.u.jid, "")
		}
		p.prev = ""
		snap := cl.snapshot()
		current = &snap
	}
	h.ringSession(after, s, false)

	b := &batch{}
	h.reply(b, c, id, wire.AuthResult{User: s.u.public(), Token: token, Session: s.id, Resumed: true, Call: current,
		Version: wire.Version, Limits: h.limits()})
	for _, ev := range s.buf {
		if ev.seq > lastSeq {
			frame := ev.frame
			b.do(func() { c.enqueue(frame) })
		}
	}
	b.ops = append(b.ops, after.ops...)
	b.logs = append(b.logs, after.logs...)
	h.commit(b)
}

// handleLogout revokes the session's token, leaves its calls and closes the
// connection with wire.CloseLoggedOut.
func (h *Hub) handleLogout(c *conn, f wire.Frame) {
	s := h.currentSession(c)
	if s == nil {
		h.sendNow(c, f.ID, nil, errUnauthorized())
		return
	}
	h.mu.Lock()
	token := s.token
	h.mu.Unlock()
	ctx, cancel := h.opCtx()
	var err error
	onOwnStack(func() { err = h.st.DeleteSession(ctx, token) })
	cancel()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.sendNow(c, f.ID, nil, h.storeError("logout", err))
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	if c.sess == s {
		c.sess = nil
		if !s.removed {
			h.removeSession(b, s, nowMillis())
		}
	}
	h.reply(b, c, f.ID, nil)
	b.do(func() { c.close(wire.CloseLoggedOut, "logged out", true) })
	h.commit(b)
}

// handleCallLogs serves call.logs.
func (h *Hub) handleCallLogs(c *conn, f wire.Frame) {
	s := h.currentSession(c)
	if s == nil {
		h.sendNow(c, f.ID, nil, errUnauthorized())
		return
	}
	var req wire.CallLogsRequest
	if e := wire.DecodeData(f, &req); e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	if req.Page < 1 {
		h.sendNow(c, f.ID, nil, wire.BadRequest("Pages are numbered from 1 (got %d).", req.Page))
		return
	}
	ctx, cancel := h.opCtx()
	var (
		page wire.CallLogPage
		err  error
	)
	onOwnStack(func() { page, err = h.st.CallLogs(ctx, s.u.id, req.Page) })
	cancel()
	if err != nil {
		h.sendNow(c, f.ID, nil, h.storeError("call logs", err))
		return
	}
	h.sendNow(c, f.ID, page, nil)
}

// detach starts the grace period of a session whose connection dropped: its
// joined calls show it reconnecting until it resumes or the grace expires.
// Called with h.mu held.
func (h *Hub) detach(s *session) {
	s.c = nil
	s.gen++
	if h.closed {
		b := &batch{}
		h.removeSession(b, s, nowMillis())
		h.commit(b)
		return
	}
	gen := s.gen
	if s.grace != nil {
		s.grace.Stop()
	}
	s.grace = h.afterFunc(h.cfg.ResumeGrace, func() {
		if s.removed || s.c != nil || s.gen != gen {
			return
		}
		h.log.Debug("session expired", "user", s.u.name)
		b := &batch{}
		h.removeSession(b, s, nowMillis())
		h.commit(b)
	})
	b := &batch{}
	for cl, p := range s.u.parts {
		if p.done || p.sess != s {
			continue
		}
		if st := cl.status(p); wire.Joined(st) {
			p.prev = st
			if st != wire.StatusReconnecting {
				cl.setStatus(p, wire.StatusReconnecting)
				h.broadcast(b, cl, s.u.jid, "")
			}
		}
	}
	h.commit(b)
}

// removeSession ends a session for good (logout, grace expired): it leaves
// the calls it is joined in. Called with h.mu held.
func (h *Hub) removeSession(b *batch, s *session, now int64) {
	for cl, p := range s.u.parts {
		if !p.done && p.sess == s && wire.Joined(cl.status(p)) {
			h.leave(b, cl, p, now)
		}
	}
	h.unsubscribe(s)
	s.removed = true
	s.c = nil
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.buf, s.bufBytes = nil, 0
	delete(h.sessions, s.id)
	delete(s.u.sessions, s.id)
	h.gcUser(s.u)
}

// sessionCheck returns c's session under h.mu, or the error to reply.
func (h *Hub) sessionCheck(c *conn) (*session, *wire.Error) {
	if h.closed {
		return nil, shutdownError()
	}
	if c.sess == nil {
		return nil, errUnauthorized()
	}
	return c.sess, nil
}
