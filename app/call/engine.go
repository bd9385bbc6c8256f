// Package call is Parley's call engine: sign-in, calls, participants, media
// negotiation and the listeners of the SDK contract. It runs natively (tests,
// benchmarks, bots) and in the browser, where the PWA and the JS SDK use it.
//
// The server owns call state and sends it whole on every change; the engine
// turns those snapshots into listener events and keeps one peer connection per
// other joined participant. Of each pair, the participant whose JID sorts first
// makes every offer, so offers never collide (no glare) and no rollback is
// needed; the other side asks for a new offer when it needs an ICE restart.
package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// Track is a media track handed to UserTrack listeners.
type Track = rtc.Track

// Config configures an Engine.
type Config struct {
	// ServerURL is the server's origin, "http://host:port" (or its ws:// form).
	ServerURL string
	// OnEvent receives the engine's events; see SetEventSink.
	OnEvent func(event.Event)
	// Media captures the microphone and camera; nil uses rtc.DefaultMedia().
	Media rtc.Media
	// RTC configures peer connections (ICE servers).
	RTC rtc.Config
	// RequestTimeout bounds each request to the server; default 10s.
	RequestTimeout time.Duration
	// PingInterval is how often an idle connection is checked; default 20s.
	PingInterval time.Duration
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Engine is one signed-in user's calling session. Its methods are safe for
// concurrent use. Every error it returns is an *Error.
type Engine struct {
	cfg       Config
	baseMedia rtc.Media // as configured; media is it with the chosen devices
	log       *slog.Logger
	out       *queue // listener invocations, in order
	work      *queue // call state changes and peer negotiation, in order

	mu        sync.Mutex
	media     rtc.Media
	devices   [2]string // chosen microphone and camera
	sink      func(event.Event)
	conn      *wire.Conn
	connGen   int // which connection is current; older ones' callbacks are ignored
	user      *wire.User
	limits    wire.Limits // the server's, from the last sign-in
	token     string
	session   string
	seq       uint64 // last event sequence number seen in this session
	stopped   bool   // signed out or closed: do not reconnect
	closed    bool   // Close was called: the engine is done
	call      *callState
	sub       *subscription // the call previewed through a link
	incoming  []wire.Call
	cancelRec context.CancelFunc
}

// New returns an Engine that is not yet signed in.
func New(cfg Config) *Engine {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 20 * time.Second
	}
	e := &Engine{cfg: cfg, media: cfg.Media, log: cfg.Logger, sink: cfg.OnEvent, limits: wire.DefaultLimits()}
	if e.media == nil {
		e.media = rtc.DefaultMedia()
	}
	e.baseMedia = e.media
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.out = newQueue()
	e.work = newQueue()
	return e
}

// SetEventSink sets the function that receives every event (nil drops them).
// It runs on the engine's event goroutine, one event at a time and in order;
// it must not block for long, and a sink that panics does not break the engine.
func (e *Engine) SetEventSink(sink func(event.Event)) {
	e.mu.Lock()
	e.sink = sink
	e.mu.Unlock()
}

// emit queues ev for the event sink.
func (e *Engine) emit(ev event.Event) {
	e.mu.Lock()
	sink := e.sink
	e.mu.Unlock()
	if sink == nil {
		return
	}
	e.out.push(func() {
		defer func() {
			if r := recover(); r != nil {
				e.log.Warn("event sink panicked", "event", ev.Listener(), "panic", r)
			}
		}()
		sink(ev)
	})
}

// Flush waits until every event emitted so far has been delivered to the listeners.
func (e *Engine) Flush() {
	done := make(chan struct{})
	if e.work.push(func() {
		if !e.out.push(func() { close(done) }) {
			close(done)
		}
	}) {
		<-done
	}
}

// Register creates an account and signs in with it.
func (e *Engine) Register(ctx context.Context, username, password, displayName string) (wire.User, error) {
	if err := wire.CheckUsername(username); err != nil {
		return wire.User{}, err
	}
	if len(password) < 8 {
		return wire.User{}, wire.BadRequest("A password needs at least 8 characters.")
	}
	return e.signIn(ctx, wire.TypeRegister, wire.RegisterRequest{Username: username, Password: password, DisplayName: displayName})
}

// Connect signs in with a username (or JID) and password.
func (e *Engine) Connect(ctx context.Context, username, password string) (wire.User, error) {
	if username == "" || password == "" {
		return wire.User{}, wire.BadRequest("Enter a username and a password.")
	}
	return e.signIn(ctx, wire.TypeLogin, wire.LoginRequest{Username: username, Password: password})
}

// ConnectToken signs in with a token saved from an earlier sign-in.
func (e *Engine) ConnectToken(ctx context.Context, token string) (wire.User, error) {
	if token == "" {
		return wire.User{}, &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "There is no saved session; sign in."}
	}
	return e.signIn(ctx, wire.TypeAuth, wire.AuthRequest{Token: token})
}

// Token is the session token of the signed-in user, to save for ConnectToken.
func (e *Engine) Token() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.token
}

// User is the signed-in user.
func (e *Engine) User() (wire.User, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == nil {
		return wire.User{}, false
	}
	return *e.user, true
}

// Limits are the server's limits as of the last sign-in (wire.DefaultLimits
// before the first).
func (e *Engine) Limits() wire.Limits {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limits
}

// signIn dials a fresh connection and authenticates it. A previous connection
// (and any call on it) is dropped first.
func (e *Engine) signIn(ctx context.Context, typ string, req any) (wire.User, error) {
	e.dropConnection()
	e.mu.Lock()
	e.stopped = false
	e.connGen++
	gen := e.connGen
	e.mu.Unlock()
	conn, err := e.dial(ctx, gen)
	if err != nil {
		return wire.User{}, err
	}
	var res wire.AuthResult
	if err := e.request(ctx, conn, typ, req, &res); err != nil {
		_ = conn.Close()
		var se *Error
		if errors.As(err, &se) && se.Code == wire.CodeUnauthorized {
			e.emit(event.ConnectionStatus{Status: event.AuthFail})
		}
		return wire.User{}, err
	}
	e.mu.Lock()
	if gen != e.connGen {
		e.mu.Unlock()
		_ = conn.Close()
		return wire.User{}, &Error{Code: wire.CodeConflict, Reason: "conflict", Message: "Another sign-in replaced this one."}
	}
	e.conn = conn
	e.seq = 0
	u := res.User
	e.user = &u
	if res.Limits.MaxParticipants > 0 {
		e.limits = res.Limits
	}
	e.token = res.Token
	e.session = res.Session
	e.mu.Unlock()
	e.emit(event.ConnectionStatus{Status: event.Connected})
	go e.keepAlive(conn)
	return u, nil
}

func (e *Engine) dial(ctx context.Context, gen int) (*wire.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	conn, err := wire.Dial(dctx, wire.WSURL(e.cfg.ServerURL),
		func(f wire.Frame) {
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
	return &Error{Code: wire.CodeUnreachable, Reason: "unreachable", Message: "The call server cannot be reached; check your network and try again. (" + err.Error() + ")"}
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

// send is request on the current connection, for a signed-in user.
func (e *Engine) send(ctx context.Context, typ string, payload, out any) error {
	e.mu.Lock()
	conn, user := e.conn, e.user
	e.mu.Unlock()
	if user == nil {
		return &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "Sign in first."}
	}
	if conn == nil {
		return unreachable(errors.New("reconnecting"))
	}
	return e.request(ctx, conn, typ, payload, out)
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
	if code == wire.CloseLoggedOut || code == wire.CloseReplaced {
		e.work.push(func() { e.endLocally("") })
		e.signOutLocally(event.Disconnected)
		return
	}
	e.emit(event.ConnectionStatus{Status: event.Reconnecting})
	go e.reconnect(ctx, gen)
}

func (e *Engine) reconnect(ctx context.Context, gen int) {
	delay := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if delay < 5*time.Second {
			delay *= 2
		}
		e.mu.Lock()
		if gen != e.connGen || e.stopped {
			e.mu.Unlock()
			return
		}
		e.connGen++
		gen = e.connGen
		token, session, seq := e.token, e.session, e.seq
		e.mu.Unlock()
		conn, err := e.dial(ctx, gen)
		if err != nil {
			continue
		}
		var res wire.AuthResult
		err = e.request(ctx, conn, wire.TypeAuth, wire.AuthRequest{Token: token, Resume: session, LastSeq: seq}, &res)
		var se *Error
		if errors.As(err, &se) && se.Code == wire.CodeUnauthorized {
			_ = conn.Close()
			e.signOutLocally(event.AuthFail)
			return
		}
		if err != nil {
			_ = conn.Abort()
			continue
		}
		e.mu.Lock()
		if gen != e.connGen || e.stopped {
			e.mu.Unlock()
			_ = conn.Close()
			return
		}
		e.conn = conn
		e.session = res.Session
		if !res.Resumed {
			e.seq = 0
		}
		e.mu.Unlock()
		if !res.Resumed {
			// The server forgot this session: any call we were in is over for us.
			e.work.push(func() { e.endLocally("") })
		}
		e.emit(event.ConnectionStatus{Status: event.Connected})
		go e.keepAlive(conn)
		return
	}
}

// signOutLocally forgets the session and reports status on connectionListener.
func (e *Engine) signOutLocally(status string) {
	e.mu.Lock()
	e.stopped = true
	e.user = nil
	e.token = ""
	e.session = ""
	e.conn = nil
	e.incoming = nil
	e.mu.Unlock()
	e.emit(event.ConnectionStatus{Status: status})
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
	e.sync(func() { e.endLocally("") })
}

// sync runs f on the work queue and waits for it (it does nothing once the
// engine is closed).
func (e *Engine) sync(f func()) {
	done := make(chan struct{})
	if e.work.push(func() { f(); close(done) }) {
		<-done
	}
}

// Logout signs out: the token is revoked, any call is left, the connection closed.
func (e *Engine) Logout(ctx context.Context) error {
	e.mu.Lock()
	conn, user := e.conn, e.user
	e.mu.Unlock()
	if user == nil {
		return &Error{Code: wire.CodeUnauthorized, Reason: "unauthorized", Message: "You are not signed in."}
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

// queue runs functions one at a time, in order, on its own goroutine, without
// ever blocking the caller.
type queue struct {
	mu     sync.Mutex
	items  []func()
	closed bool
	wake   chan struct{}
}

func newQueue() *queue {
	q := &queue{wake: make(chan struct{}, 1)}
	go q.run()
	return q
}

// push queues f; it reports false (and drops f) once the queue is closed.
func (q *queue) push(f func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// close ends the queue's goroutine once what was pushed has run; later pushes
// are dropped.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) run() {
	for range q.wake {
		for {
			q.mu.Lock()
			if len(q.items) == 0 {
				closed := q.closed
				q.mu.Unlock()
				if closed {
					return
				}
				break
			}
			f := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			f()
		}
	}
}

func (e *Engine) String() string {
	u, ok := e.User()
	if !ok {
		return "call.Engine(signed out)"
	}
	return fmt.Sprintf("call.Engine(%s)", u.JID)
}
