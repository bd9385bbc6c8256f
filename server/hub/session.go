package hub

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"parley/app/wire"
	"parley/server/store"
)

// This file holds the transport's sessions: signing in (register, login,
// auth, guest), resuming, dropping and logging out.

// currentSession returns c's session, or nil. Takes h.mu.
func (h *Hub) currentSession(c *conn) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return c.sess
}

// checkVersion refuses a first frame that speaks a newer protocol than ours.
func checkVersion(f wire.Frame) *wire.Error {
	if f.V > wire.Version {
		return wire.Errorf(wire.CodeBadRequest, wire.ReasonUnsupportedVersion,
			"This server speaks protocol version %d, older than the client's %d; reload the page or update the app.", wire.Version, f.V)
	}
	return nil
}

// handleSignIn serves register, login and auth.
func (h *Hub) handleSignIn(c *conn, rd *reader, f wire.Frame) {
	if h.currentSession(c) != nil {
		h.sendNow(c, f.ID, nil, wire.Conflict("This connection is already signed in."))
		return
	}
	var (
		su     store.User
		token  string
		resume *wire.AuthRequest
		e      = checkVersion(f)
	)
	if e == nil {
		// The auth timeout closes connections that say nothing; it does not
		// run while a sign-in is being checked, which on a busy server may
		// wait for a free password-hashing slot.
		h.authTimerPaused(c, true)
		onOwnStack(func() { su, token, resume, e = h.authenticate(f, c.remote, c.device) })
	}
	if e != nil {
		h.authTimerPaused(c, false)
		if e.Code == wire.CodeInternal || e.Code == wire.CodeUnreachable {
			h.sendNow(c, f.ID, nil, e)
			return
		}
		rd.authFails++
		if e.Code == wire.CodeUnauthorized {
			h.cfg.Metrics.LoginFailed()
		}
		h.mu.Lock()
		b := &batch{}
		h.replyErr(b, c, f.ID, e)
		if rd.authFails >= MaxAuthFailures {
			h.log.Info("closing connection: failed sign-ins", "remote", c.remote)
			b.toConn(c, func(*starter) { c.close(wire.CloseAuthFailed, "too many failed sign-in attempts", true) })
		}
		h.commit(b)
		h.mu.Unlock()
		return
	}
	refused := h.signIn(c, f.ID, su, token, resume)
	h.authTimerPaused(c, false) // again, unless c signed in
	if refused && resume == nil {
		// The token minted for this refused login or registration is not
		// handed out: revoke it.
		onOwnStack(func() {
			ctx, cancel := h.opCtx()
			defer cancel()
			if err := h.st.DeleteSession(ctx, token); err != nil && !errors.Is(err, store.ErrNotFound) {
				h.log.Warn("revoke refused session token", "err", err)
			}
		})
	}
}

// authenticate checks a register, login or auth request from remote against
// the store; a new session is labelled with device.
func (h *Hub) authenticate(f wire.Frame, remote, device string) (su store.User, token string, resume *wire.AuthRequest, e *wire.Error) {
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
		if wait := h.abuse.register.reserve(remoteIP(remote)); wait > 0 {
			h.cfg.Metrics.RateLimited(LimitRegistrations)
			return su, "", nil, wire.RetryLater(wait, "Too many accounts registered from your address; try again in %s.", wait.Round(time.Second))
		}
		su, err = h.st.Register(ctx, req.Username, req.Password, req.DisplayName)
		switch {
		case errors.Is(err, store.ErrUsernameTaken):
			return su, "", nil, wire.Conflict("The username %q is taken.", req.Username)
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
		try, wait := h.logins.attempt(req.Username, remote)
		if wait > 0 {
			h.cfg.Metrics.RateLimited(LimitLogins)
			return su, "", nil, wire.RetryLater(wait, "Too many failed sign-ins; try again in %s.", wait.Round(time.Second))
		}
		lctx := ctx
		if h.logins.knownAddress(req.Username, remote) {
			// The owner, most likely: hash ahead of queued guesses.
			lctx = store.Urgent(ctx)
		}
		su, err = h.st.Login(lctx, req.Username, req.Password)
		switch {
		case errors.Is(err, store.ErrBadCredentials):
			return su, "", nil, wire.Unauthorized("Wrong username or password.")
		case err != nil:
			try.refund()
			return su, "", nil, h.storeError("login", err)
		}
		try.refund()
		h.logins.succeeded(req.Username, remote)
	case wire.TypeAuth:
		var req wire.AuthRequest
		if e := wire.DecodeData(f, &req); e != nil {
			return su, "", nil, e
		}
		su, err = h.st.UserByToken(ctx, req.Token)
		switch {
		case errors.Is(err, store.ErrSessionExpired):
			return su, "", nil, wire.Unauthorized("Your session expired after %s unused; sign in again.", ttlText(h.st))
		case errors.Is(err, store.ErrNotFound):
			return su, "", nil, wire.Unauthorized("The token is not valid (unknown, logged out or signed out from another session).")
		case err != nil:
			return su, "", nil, h.storeError("auth", err)
		}
		return su, req.Token, &req, nil
	}
	token, err = h.st.NewDeviceSession(ctx, su.ID, device)
	if err != nil {
		return su, "", nil, h.storeError("new session", err)
	}
	return su, token, nil, nil
}

// signIn attaches c to a new session of su, or re-attaches the session named
// in resume when it belongs to su and is still within its grace period. It
// reports whether it refused a new session for the per-user cap.
func (h *Hub) signIn(c *conn, id uint64, su store.User, token string, resume *wire.AuthRequest) (refused bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.isClosing() {
		return false
	}
	if h.closed {
		b := &batch{}
		h.replyErr(b, c, id, shutdownError())
		h.commit(b)
		return false
	}
	if h.revokedLately(token) {
		// Revoked between the store's check and now.
		b := &batch{}
		h.replyErr(b, c, id, wire.Unauthorized("The token is not valid (signed out from another session)."))
		h.commit(b)
		return
	}
	c.authed = true
	if c.authTimer != nil {
		c.authTimer.Stop()
		c.authTimer = nil
	}
	if resume != nil && resume.Resume != "" {
		if s := h.sessions[resume.Resume]; s != nil && !s.removed && s.uid == su.ID && s.user.Username == su.Username {
			h.resume(c, id, s, token, resume.LastSeq)
			return false
		}
	}
	if e := h.makeRoom(su.ID); e != nil {
		b := &batch{}
		h.replyErr(b, c, id, e)
		h.commit(b)
		return true
	}
	h.born++
	s := &session{
		id: randomID(16), uid: su.ID, token: token, c: c, born: h.born,
		user: wire.User{JID: wire.JID(su.Username, h.cfg.Domain), Username: su.Username, DisplayName: su.DisplayName, Guest: su.Guest},
	}
	h.sessions[s.id] = s
	if h.byUser[s.uid] == nil {
		h.byUser[s.uid] = make(map[*session]struct{})
	}
	h.byUser[s.uid][s] = struct{}{}
	c.sess = s
	if su.Guest {
		h.cfg.Metrics.SignedIn(SignInGuest)
	} else {
		h.cfg.Metrics.SignedIn(SignInUser)
	}
	b := &batch{}
	h.reply(b, c, id, wire.AuthResult{User: s.user, Token: token, Session: s.id, Version: wire.Version, Limits: h.limits(), ICE: h.iceConfig(s.user.JID)})
	fx := &effects{}
	h.core.addTab(fx, su, s.id)
	h.deliver(b, fx)
	h.commit(b)
	return false
}

// makeRoom makes room for one more session of account uid under
// MaxSessionsPerUser: it signs out the account's oldest sessions that are
// not joined in a call (wire.CloseSessionLimit), or returns the error to
// refuse the new one with when every session is in a call. Called with h.mu
// held.
func (h *Hub) makeRoom(uid int64) *wire.Error {
	need := len(h.byUser[uid]) - h.cfg.MaxSessionsPerUser + 1
	if need <= 0 {
		return nil
	}
	list := slices.SortedFunc(maps.Keys(h.byUser[uid]), func(a, b *session) int { return cmp.Compare(a.born, b.born) })
	var victims []*session
	for _, s := range list { // oldest first
		if len(victims) < need && !h.core.tabInCall(s.id) {
			victims = append(victims, s)
		}
	}
	if len(victims) < need {
		return wire.Errorf(wire.CodeConflict, wire.ReasonTooManySessions,
			"You are signed in on %d tabs or devices in calls, the most this server allows; leave a call or sign out of one first.", h.cfg.MaxSessionsPerUser)
	}
	b := &batch{}
	fx := &effects{}
	for _, s := range victims {
		h.log.Info("session signed out: too many sessions", "user", s.user.Username, "max", h.cfg.MaxSessionsPerUser)
		if c := s.c; c != nil {
			b.toSession(s, func(*starter) { // after what is queued for s
				c.close(CloseSessionLimit, "signed in on too many tabs or devices; this one was signed out", true)
			})
			c.sess = nil
		}
		h.removeSession(fx, s)
	}
	h.deliver(b, fx)
	h.commit(b)
	return nil
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

// iceConfig is the ICE configuration for the user with this JID.
func (h *Hub) iceConfig(jid string) wire.ICEConfig {
	if h.cfg.ICE == nil {
		return wire.ICEConfig{}
	}
	return h.cfg.ICE.ICEConfig(jid)
}

// handleICERefresh replies with fresh ICE credentials. Minting them needs
// no hub state, so the lock is not taken.
func (h *Hub) handleICERefresh(c *conn, f wire.Frame) {
	s := h.currentSession(c)
	if s == nil {
		h.sendNow(c, f.ID, nil, errUnauthorized())
		return
	}
	h.sendNow(c, f.ID, h.iceConfig(s.user.JID), nil)
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
				h.replyErr(b, c, id, wire.Conflict("The session ended while resuming; sign in again."))
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
	s.mu.Lock()
	s.c = c
	s.mu.Unlock()
	s.token, c.sess = token, s
	early := s.takeEarly(lastSeq)
	h.cfg.Metrics.SignedIn(SignInResume)
	h.log.Debug("session resumed", "user", s.user.Username, "lastSeq", lastSeq, "seq", s.seq)

	fx := &effects{}
	current := h.core.resumeTab(fx, s.id)
	b := &batch{}
	h.reply(b, c, id, wire.AuthResult{User: s.user, Token: token, Session: s.id, Resumed: true, Call: current,
		Version: wire.Version, Limits: h.limits(), ICE: h.iceConfig(s.user.JID)})
	for _, ev := range s.buf {
		if ev.seq > lastSeq {
			frame := ev.frame
			b.toConn(c, func(st *starter) { c.enqueue(frame, st) })
		}
	}
	for _, ev := range early { // a restored session's first resume
		b.toSession(s, func(st *starter) { h.sendEvent(s, ev.typ, ev.data, st) })
	}
	h.deliver(b, fx)
	h.commit(b)
}

// tokenOf is the sign-in token of session s (guarded by h.mu).
func (h *Hub) tokenOf(s *session) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return s.token
}

// handleLogout revokes the session's token, leaves its calls and closes the
// connection with wire.CloseLoggedOut.
func (h *Hub) handleLogout(c *conn, f wire.Frame) {
	handle(h, c, f, handler[struct{}]{
		noPayload: true,
		prepare: func(s *session, _ *struct{}) *wire.Error {
			token := h.tokenOf(s)
			ctx, cancel := h.opCtx()
			defer cancel()
			var err error
			onOwnStack(func() { err = h.st.DeleteSession(ctx, token) })
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return h.storeError("logout", err)
			}
			return nil
		},
		apply: func(b *batch, fx *effects, s *session, _ struct{}) (any, *wire.Error) {
			c.sess = nil
			h.removeSession(fx, s)
			b.toConn(c, func(*starter) { c.close(wire.CloseLoggedOut, "logged out", true) })
			return nil, nil
		},
	})
}

// detach starts the grace period of a session whose connection dropped: its
// joined calls show it reconnecting until it resumes or the grace expires.
// Called with h.mu held.
func (h *Hub) detach(s *session) {
	s.mu.Lock()
	s.c = nil
	s.mu.Unlock()
	s.gen++
	if h.closed {
		// Shutting down: calls stay as saved, for the next process to
		// restore (restore.go); this tab may resume there.
		return
	}
	h.startGrace(s)
	b := &batch{}
	fx := &effects{}
	h.core.dropTab(fx, s.id)
	h.deliver(b, fx)
	h.commit(b)
}

// startGrace starts session s's resume grace: unless it resumes by then, it
// is removed, leaving its calls. Called with h.mu held.
func (h *Hub) startGrace(s *session) {
	gen := s.gen
	if s.grace != nil {
		s.grace.Stop()
	}
	s.grace = h.afterFunc(h.cfg.ResumeGrace, func() {
		if s.removed || s.c != nil || s.gen != gen {
			return
		}
		h.log.Debug("session expired", "user", s.user.Username)
		b := &batch{}
		fx := &effects{}
		h.removeSession(fx, s)
		h.deliver(b, fx)
		h.commit(b)
	})
}

// removeSession ends a session for good (logout, grace expired): the core
// removes its tab, which leaves the calls it is joined in. Called with h.mu
// held.
func (h *Hub) removeSession(fx *effects, s *session) {
	if s.removed {
		return
	}
	h.core.removeTab(fx, s.id)
	s.mu.Lock()
	s.removed = true
	s.c = nil
	h.replay.Add(-int64(s.bufBytes))
	s.buf, s.bufBytes = nil, 0
	s.mu.Unlock()
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	delete(h.sessions, s.id)
	delete(h.byUser[s.uid], s)
	if len(h.byUser[s.uid]) == 0 {
		delete(h.byUser, s.uid)
	}
}

// authTimerPaused stops c's auth timer (paused) or starts it again for a
// whole AuthTimeout, unless c has signed in (or the hub is closing). Takes
// h.mu.
func (h *Hub) authTimerPaused(c *conn, paused bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.authTimer == nil {
		return
	}
	if paused {
		c.authTimer.Stop()
		return
	}
	if !c.authed && c.sess == nil && !h.closed {
		c.authTimer.Reset(h.cfg.AuthTimeout)
	}
}
