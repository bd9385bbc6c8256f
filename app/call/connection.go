package call

import (
	"context"
	"errors"
	"time"

	"parley/app/call/event"
	"parley/app/wire"
)

func (e *Engine) dial(ctx context.Context, gen int) (*wire.Conn, error) {
	return e.dialGated(ctx, gen, nil)
}

// dialGated is dial whose events wait, when ready is not nil, until it is
// closed before they are queued.
func (e *Engine) dialGated(ctx context.Context, gen int, ready <-chan struct{}) (*wire.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	conn, err := wire.Dial(dctx, wire.WSURL(e.cfg.ServerURL),
		func(f wire.Frame) {
			if ready != nil {
				<-ready
			}
			e.mu.Lock()
			if gen == e.connGen && f.Seq > e.seq {
				e.seq = f.Seq
			}
			e.mu.Unlock()
			e.work.push(func() { e.handleEvent(f) })
		},
		func(code int, err error) { e.connClosed(gen, code) })
	if err != nil {
		return nil, unreachable(err)
	}
	return conn, nil
}

func unreachable(err error) *Error {
	return wire.Unreachable("The call server cannot be reached; check your network and try again. (%v)", err)
}

// request sends one request on conn, mapping transport failures to 100620.
func (e *Engine) request(ctx context.Context, conn *wire.Conn, typ string, payload, out any) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	err := conn.Request(ctx, typ, payload, out)
	var se *wire.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	default:
		return unreachable(err)
	}
}

// send is request on the current connection, for a signed-in user. What
// the user asks for while the engine is reconnecting (a blip, a server
// restart, a sign-in that failed and brought the previous session back)
// waits for the session to be back, up to the request timeout, rather than
// fail at once: a call placed 200 ms into a blip goes through.
func (e *Engine) send(ctx context.Context, typ string, payload, out any) error {
	return e.sendOn(ctx, true, typ, payload, out)
}

// sendNow is send that fails at once (100620) while the engine is
// reconnecting: for what is stale by the time the session is back
// (negotiation relayed to a peer, a media status), and for leaving a call,
// which ends here whatever the server says.
func (e *Engine) sendNow(ctx context.Context, typ string, payload, out any) error {
	return e.sendOn(ctx, false, typ, payload, out)
}

func (e *Engine) sendOn(ctx context.Context, wait bool, typ string, payload, out any) error {
	var timeout <-chan time.Time
	for {
		e.mu.Lock()
		conn, user := e.conn, e.user
		if user == nil {
			e.mu.Unlock()
			return wire.Unauthorized("Sign in first.")
		}
		if conn != nil {
			e.mu.Unlock()
			return e.request(ctx, conn, typ, payload, out)
		}
		if !wait || e.stopped {
			e.mu.Unlock()
			return unreachable(errors.New("reconnecting"))
		}
		if e.connBack == nil {
			e.connBack = make(chan struct{})
		}
		back := e.connBack
		e.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(e.cfg.RequestTimeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-back:
		case <-ctx.Done():
			return unreachable(errors.New("reconnecting"))
		case <-timeout:
			return unreachable(errors.New("still reconnecting"))
		}
	}
}

// connChangedLocked wakes the requests waiting for a connection (e.mu held).
func (e *Engine) connChangedLocked() {
	if e.connBack != nil {
		close(e.connBack)
		e.connBack = nil
	}
}

func (e *Engine) keepAlive(conn *wire.Conn) {
	t := time.NewTicker(e.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-conn.Done():
			return
		case <-t.C:
			if err := e.request(context.Background(), conn, wire.TypePing, nil, nil); err != nil {
				_ = conn.Abort() // a dead link: reconnect
				return
			}
		}
	}
}

// connClosed runs when connection gen ends. Unless the user signed out, it
// reconnects and resumes the session.
func (e *Engine) connClosed(gen, code int) {
	e.mu.Lock()
	if gen != e.connGen || e.stopped || e.user == nil {
		e.mu.Unlock()
		return
	}
	e.conn = nil
	ctx, cancel := context.WithCancel(context.Background())
	e.cancelRec = cancel
	e.mu.Unlock()
	// Signed out here: by the user elsewhere, by another connection taking
	// the session, or by the user's session cap (4012). Reconnecting would
	// only sign out another tab in turn. Every other close (4013 overloaded,
	// 4010 shutdown, a refused upgrade...) reconnects with backoff.
	if code == wire.CloseLoggedOut || code == wire.CloseReplaced || code == wire.CloseSessionLimit {
		e.sync(func() { e.endLocally("") }) // over before connectionListener hears it
		e.signOutLocally(event.Disconnected)
		return
	}
	if code == wire.CloseRevoked {
		e.signedOutElsewhere()
		return
	}
	e.emit(event.ConnectionStatus{Status: event.Reconnecting})
	go e.reconnect(ctx, gen)
}

// reconnect dials and signs in again after connection gen dropped, waiting
// between attempts as Backoff says. Peer connections are left alone: media
// flows peer to peer while the server is away.
func (e *Engine) reconnect(ctx context.Context, gen int) {
	policy := DefaultBackoff()
	start := time.Now()
	for attempt := 0; ; attempt++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(policy.Next(attempt, time.Since(start))):
		}
		e.mu.Lock()
		if gen != e.connGen || e.stopped {
			e.mu.Unlock()
			return
		}
		e.connGen++
		gen = e.connGen
		e.mu.Unlock()
		if e.resume(ctx, gen) {
			return
		}
	}
}

// resume makes one attempt at reconnecting as connection gen, and reports
// whether reconnecting is over (signed in again, or given up).
func (e *Engine) resume(ctx context.Context, gen int) (over bool) {
	e.mu.Lock()
	token, session, seq := e.token, e.session, e.seq
	e.mu.Unlock()
	// The events after the reply (replayed and new ones) are newer than the
	// reply's call snapshot: they wait until it is queued.
	ready := make(chan struct{})
	defer close(ready)
	conn, err := e.dialGated(ctx, gen, ready)
	if err != nil {
		return false
	}
	var res wire.AuthResult
	err = e.request(ctx, conn, wire.TypeAuth, wire.AuthRequest{Token: token, Resume: session, LastSeq: seq}, &res)
	var se *Error
	if errors.As(err, &se) && se.Code == wire.CodeUnauthorized {
		_ = conn.Close()
		e.signOutLocally(event.AuthFail)
		return true
	}
	if err != nil {
		_ = conn.Abort()
		return false
	}
	e.mu.Lock()
	if gen != e.connGen || e.stopped {
		e.mu.Unlock()
		_ = conn.Close()
		return true
	}
	e.conn = conn
	e.connChangedLocked()
	e.session = res.Session
	if !res.Resumed {
		e.seq = 0
	}
	e.mu.Unlock()
	if res.Resumed {
		snap := res.Call
		e.work.push(func() { e.takeResumedCall(snap) })
	} else {
		// The server forgot this session: any call we were in is over for
		// us, and so is a knock (joinCall waiting to be let in).
		e.cancelKnock()
		e.work.push(func() { e.endLocally("") })
	}
	e.emit(event.ConnectionStatus{Status: event.Connected})
	go e.keepAlive(conn)
	go e.refreshICE(conn)
	return true
}

// takeResumedCall brings the call in line with the snapshot of a resume reply
// (work queue): it is the truth about the call, whatever happened while this
// device was away, events lost with a restarted server included. A resumed
// session that is in no call (or another one) ends this device's call.
func (e *Engine) takeResumedCall(snap *wire.Call) {
	e.mu.Lock()
	cs := e.call
	adopted := cs != nil && cs.adopted && !cs.ended
	room := ""
	if adopted {
		room = cs.roomID
	}
	e.mu.Unlock()
	if !adopted {
		return // no call, or one still being made: its own reply decides
	}
	if snap != nil && snap.RoomID == room {
		e.apply(cs, *snap, "")
		e.restartCutOff(cs)
		return
	}
	e.endCallState(cs, "")
}

// signOutLocally forgets the session and reports status on connectionListener.
func (e *Engine) signOutLocally(status string) {
	e.signOut(event.ConnectionStatus{Status: status})
}

// signOut forgets the session and reports ev on connectionListener.
func (e *Engine) signOut(ev event.ConnectionStatus) {
	e.mu.Lock()
	e.stopped = true
	e.user = nil
	e.token = ""
	e.session = ""
	e.conn = nil
	e.connChangedLocked()
	e.incoming = nil
	e.mu.Unlock()
	e.work.push(func() { e.dropPrep("") })
	e.cancelKnock()
	e.emit(ev)
}

// dropConnection closes the current connection without signing out on the server.
func (e *Engine) dropConnection() {
	e.mu.Lock()
	conn := e.conn
	e.conn = nil
	e.connGen++
	if e.cancelRec != nil {
		e.cancelRec()
		e.cancelRec = nil
	}
	sub := e.sub
	e.sub = nil
	e.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
	if sub != nil {
		e.sync(func() { e.stopPreview(sub) })
	}
	e.cancelKnock()
	e.sync(func() { e.endLocally("") })
}

// Logout signs out: the token is revoked, any call is left, the connection closed.
func (e *Engine) Logout(ctx context.Context) error {
	e.mu.Lock()
	conn, user := e.conn, e.user
	e.mu.Unlock()
	if user == nil {
		return wire.Unauthorized("You are not signed in.")
	}
	e.leaveCall(ctx)
	e.releaseSubscription(ctx)
	e.mu.Lock()
	e.stopped = true
	e.connGen++
	if e.cancelRec != nil {
		e.cancelRec()
	}
	e.mu.Unlock()
	if conn != nil {
		_ = e.request(ctx, conn, wire.TypeLogout, nil, nil)
		_ = conn.Close()
	}
	e.signOutLocally(event.Disconnected)
	return nil
}

// Close drops the connection and ends any call locally, without signing out.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.stopped = true
	e.connChangedLocked() // requests waiting for a reconnect give up
	e.mu.Unlock()
	e.dropConnection()
	e.Flush()
	e.work.close()
	e.out.close()
}

// Abort drops the signalling connection as a network failure would (for tests
// of reconnection); the engine then reconnects and resumes.
func (e *Engine) Abort() {
	e.mu.Lock()
	conn := e.conn
	e.mu.Unlock()
	if conn != nil {
		_ = conn.Abort()
	}
}
