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
	// RTC configures peer connections; the server's ICE servers are added
	// to its own.
	RTC rtc.Config
	// ICEPolicy "relay" makes this page use relayed candidates only, even
	// when the server allows all (privacy: peers never learn its address).
	ICEPolicy string
	// RequestTimeout bounds each request to the server; default 10s.
	RequestTimeout time.Duration
	// PingInterval is how often an idle connection is checked; default 20s.
	PingInterval time.Duration
	// Logger receives diagnostics; nil discards them. A *slog.Logger is one.
	Logger Logger
}

// Engine is one signed-in user's calling session. Its methods are safe for
// concurrent use. Every error it returns is an *Error.
type Engine struct {
	cfg       Config
	baseMedia rtc.Media // as configured; media is it with the chosen devices
	log       Logger
	out       *queue // listener invocations, in order
	work      *queue // call state changes and peer negotiation, in order

	mu        sync.Mutex
	media     rtc.Media
	devices   [2]string // chosen microphone and camera
	sink      func(event.Event)
	conn      *wire.Conn
	connGen   int           // which connection is current; older ones' callbacks are ignored
	connBack  chan struct{} // closed and cleared when a connection becomes current or the user signs out (send waits on it)
	user      *wire.User
	limits    wire.Limits    // the server's, from the last sign-in
	ice       wire.ICEConfig // STUN/TURN servers from the last sign-in or refresh
	icePolicy string         // the page's own policy (Config.ICEPolicy, SetICEPolicy)
	token     string
	session   string
	seq       uint64 // last event sequence number seen in this session
	stopped   bool   // signed out or closed: do not reconnect
	closed    bool   // Close was called: the engine is done
	call      *callState
	dialling  *callState                 // a makeCall opening the devices, before it becomes call
	sub       *subscription              // the call previewed through a link
	knock     *knockWait                 // JoinCall waiting to be let in (admission.go)
	joinReqs  map[string]wire.KnockEvent // knocks on the current call, by request ID
	incoming  []wire.Call
	// ringGrants says, per call ringing here, whether its devices were
	// already allowed when it started ringing (answer opens them beside
	// the answer then).
	ringGrants map[string]bool
	// prep holds the peers prepared for calls ringing here, by room and
	// by the JID of who pre-offered (preoffer.go). Work queue.
	prep      map[string]map[string]*peerState
	cancelRec context.CancelFunc

	// createdHook, set only by tests, runs when the server has answered a
	// makeCall and before the engine takes the reply in.
	createdHook func()
	// signalHook, set only by tests, sees every call.signal payload from
	// another participant on the work queue, before it is applied.
	signalHook func(from string, p wire.Payload)
	// noICERestart, set only by tests, stops this engine restarting ICE on
	// its own (iceRestart.go); an offerer still answers requests for one.
	noICERestart bool
}

// New returns an Engine that is not yet signed in.
func New(cfg Config) *Engine {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 20 * time.Second
	}
	e := &Engine{cfg: cfg, media: cfg.Media, log: cfg.Logger, sink: cfg.OnEvent, limits: wire.DefaultLimits(), icePolicy: cfg.ICEPolicy}
	if e.media == nil {
		e.media = rtc.DefaultMedia()
	}
	e.baseMedia = e.media
	if e.log == nil {
		e.log = discard{}
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
		return wire.User{}, wire.Unauthorized("There is no saved session; sign in.")
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
		return wire.User{}, wire.Conflict("Another sign-in replaced this one.")
	}
	return e.signedInLocked(conn, res), nil
}

// signedInLocked makes conn and the sign-in result res this engine's,
// releases e.mu (held by the caller), reports CONNECTED and starts the
// connection's keepalive and ICE refresh. It returns the signed-in user.
func (e *Engine) signedInLocked(conn *wire.Conn, res wire.AuthResult) wire.User {
	e.conn = conn
	e.connChangedLocked()
	if !res.Resumed {
		e.seq = 0
	}
	u := res.User
	e.user = &u
	e.limits = res.Limits.OrDefault()
	e.setICE(res.ICE)
	e.token = res.Token
	e.session = res.Session
	e.mu.Unlock()
	e.emit(event.ConnectionStatus{Status: event.Connected})
	go e.keepAlive(conn)
	go e.refreshICE(conn)
	return u
}

func (e *Engine) String() string {
	u, ok := e.User()
	if !ok {
		return "call.Engine(signed out)"
	}
	return fmt.Sprintf("call.Engine(%s)", u.JID)
}
