// Package hub is Parley's signalling server: it accepts one WebSocket per
// browser tab at /ws, authenticates it with its first frame, keeps the
// sessions of every signed-in user, runs the calls (ringing, answering,
// leaving, the end rule), relays SDP and ICE between members of a call, and
// writes every participant's call log when their part ends.
//
// The hub is authoritative for call state and sends whole wire.Call
// snapshots. All of its state lives under one mutex; sockets are written only
// by one writer goroutine per connection, never under that mutex. Effects of a
// state change (replies, events, closes) are collected in a batch and
// delivered in order; a batch that carries call logs is delivered only after
// the logs are durably written, outside the mutex, so no finished call's log
// is ever acknowledged and then lost. See app/wire/PROTOCOL.md for the wire side.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/store"
)

// Config configures a Hub. Zero fields take the documented defaults.
type Config struct {
	// Domain is the JID domain, e.g. "localhost".
	Domain string
	// RingTimeout is how long each callee is rung, default 30s.
	RingTimeout time.Duration
	// ResumeGrace is how long a dropped session may be resumed, default 15s.
	ResumeGrace time.Duration
	// MaxParticipants bounds a call, including the caller, default 8.
	MaxParticipants int
	// AllowedOrigins are extra Origin host patterns accepted on /ws (see
	// websocket.AcceptOptions.OriginPatterns); same-origin is always allowed.
	AllowedOrigins []string
	// RateLimit is the sustained requests per second per connection, default 50
	// (an 8-person mesh trickles many ICE candidates at once).
	RateLimit float64
	// RateBurst is the burst of requests per connection, default 200.
	RateBurst int
	// AuthTimeout is how long a connection may stay unauthenticated, default 10s.
	AuthTimeout time.Duration
	// SwitchTimeout is how long a voice-to-video switch request waits for
	// an answer, default 20s.
	SwitchTimeout time.Duration
	// MeetIdleTimeout ends a meet.create call when nobody has been joined in
	// it for this long, default 1h.
	MeetIdleTimeout time.Duration
	// Logger receives the hub's logs; default slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultRingTimeout     = 30 * time.Second
	DefaultResumeGrace     = 15 * time.Second
	DefaultMaxParticipants = 8
	DefaultRateLimit       = 50
	DefaultRateBurst       = 200
	DefaultAuthTimeout     = 10 * time.Second
	DefaultSwitchTimeout   = 20 * time.Second
	DefaultMeetIdleTimeout = time.Hour
)

// Limits of the protocol that are not configurable.
const (
	// EventBuffer is how many events a session keeps for replay on resume.
	EventBuffer = 256
	// EventBufferBytes caps the bytes of those events (the oldest go first).
	EventBufferBytes = 4 << 20
	// MaxQueuedFrames is how many frames may wait for a slow connection before
	// it is closed with CloseTooSlow.
	MaxQueuedFrames = 1024
	// MaxQueuedBytes caps the bytes of those frames likewise.
	MaxQueuedBytes = 16 << 20
	// MaxBadFrames is how many undecodable frames close a connection with
	// wire.CloseProtocol.
	MaxBadFrames = 5
	// MaxAuthFailures is how many failed sign-in attempts close a connection
	// with wire.CloseAuthFailed.
	MaxAuthFailures = 5
	// MaxRateRejections is how many rate-limited requests within
	// RateRejectWindow close a connection with wire.CloseRateLimited.
	MaxRateRejections = 50
	// RateRejectWindow: see MaxRateRejections.
	RateRejectWindow = 10 * time.Second
	// MaxCallees is the most entries call.create accepts in "to" before
	// de-duplication (the participant limit applies after).
	MaxCallees = 64
	// MaxGroupIDLen is the longest groupId, in bytes.
	MaxGroupIDLen = 128
	// CloseTooSlow is the code recorded for a connection that does not read
	// its frames fast enough (1013, "try again later"). Such a connection is
	// cut without a close handshake (its peer is not reading), so the client
	// sees an abnormal closure; its session may be resumed.
	CloseTooSlow = websocket.StatusTryAgainLater
	// writeTimeout bounds one frame write.
	writeTimeout = 10 * time.Second
	// eventEnvelope bounds the bytes an event frame adds around its data.
	eventEnvelope = 128
	// endedMemory is how many ended room IDs are remembered to answer
	// call_ended rather than not_found.
	endedMemory = 4096
)

// Store is what the hub needs from the database; *store.Store satisfies it.
type Store interface {
	Register(ctx context.Context, username, password, displayName string) (store.User, error)
	Login(ctx context.Context, username, password string) (store.User, error)
	CreateGuest(ctx context.Context, displayName string) (store.User, error)
	UserByUsername(ctx context.Context, username string) (store.User, error)
	NewSession(ctx context.Context, userID int64) (string, error)
	UserByToken(ctx context.Context, token string) (store.User, error)
	DeleteSession(ctx context.Context, token string) error
	AddCallLogs(ctx context.Context, logs ...store.CallLog) error
	CallLogs(ctx context.Context, userID int64, page int) (wire.CallLogPage, error)
}

// Hub is the signalling server. Create it with New, mount it at /ws, and stop
// it with Shutdown.
type Hub struct {
	cfg    Config
	st     Store
	log    *slog.Logger
	ctx    context.Context // canceled when Shutdown gives up waiting
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	conns    map[*conn]struct{}
	users    map[string]*user    // by username: users with sessions or live calls
	sessions map[string]*session // by session ID
	calls    map[string]*call    // live calls by room ID
	links    map[string]*call    // live calls by link code
	ended    map[string]struct{} // recently ended room IDs
	endedL   map[string]struct{} // recently ended link codes
	endedQ   []endedCall         // ended, oldest first
	outbox   []*batch            // batches waiting for delivery, in order
	flushing bool                // a flusher goroutine is running
	idle     *sync.Cond          // broadcast when the flusher stops

	wg sync.WaitGroup // connections, the flusher, running timer callbacks

	queueLimit int // MaxQueuedFrames; tests lower it

	guestLim *ipLimiter // guest creation per remote IP
	linkLim  *ipLimiter // link look-ups per remote IP
}

// endedCall is one entry of the memory of ended calls.
type endedCall struct{ room, link string }

// user is the hub's view of one account that has sessions or live calls.
type user struct {
	id       int64
	name     string
	display  string
	jid      string
	sessions map[string]*session
	parts    map[*call]*part // live calls this user has an unfinished part in
	guest    bool            // a temporary identity made by the guest request
}

// session is one tab's signed-in state; it outlives its connection by
// ResumeGrace.
type session struct {
	id       string
	u        *user
	token    string
	c        *conn // attached connection; nil while dropped
	seq      uint64
	buf      []sentEvent // the last EventBuffer events, at most EventBufferBytes
	bufBytes int
	grace    *time.Timer
	gen      uint64 // incremented on every drop, so a stale grace timer does nothing
	removed  bool
	sub      *call // the call this session previews by link (link.subscribe), if any
}

type sentEvent struct {
	seq   uint64
	frame []byte
}

// batch is the ordered effect of one state change. logs are written before
// any op runs; ops run under h.mu.
type batch struct {
	logs []store.CallLog
	ops  []func()
}

func (b *batch) do(f func()) { b.ops = append(b.ops, f) }

// New returns a hub using st for accounts, sessions and call logs.
func New(cfg Config, st Store) *Hub {
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	if cfg.ResumeGrace <= 0 {
		cfg.ResumeGrace = DefaultResumeGrace
	}
	if cfg.MaxParticipants <= 0 {
		cfg.MaxParticipants = DefaultMaxParticipants
	}
	if cfg.MaxParticipants < 2 {
		cfg.MaxParticipants = 2
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = DefaultAuthTimeout
	}
	if cfg.SwitchTimeout <= 0 {
		cfg.SwitchTimeout = DefaultSwitchTimeout
	}
	if cfg.MeetIdleTimeout <= 0 {
		cfg.MeetIdleTimeout = DefaultMeetIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg: cfg, st: st, log: cfg.Logger, ctx: ctx, cancel: cancel, queueLimit: MaxQueuedFrames,
		conns:    make(map[*conn]struct{}),
		users:    make(map[string]*user),
		sessions: make(map[string]*session),
		calls:    make(map[string]*call),
		links:    make(map[string]*call),
		ended:    make(map[string]struct{}),
		endedL:   make(map[string]struct{}),
		guestLim: newIPLimiter(GuestRate, GuestBurst),
		linkLim:  newIPLimiter(LinkRate, LinkBurst),
	}
	h.idle = sync.NewCond(&h.mu)
	return h
}

// ServeHTTP upgrades the request to a WebSocket and serves it until it closes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.AllowedOrigins})
	if err != nil {
		h.log.Debug("websocket accept", "remote", r.RemoteAddr, "err", err)
		return // Accept wrote the HTTP error
	}
	ws.SetReadLimit(wire.MaxFrameBytes)
	c := newConn(ws, r.RemoteAddr, h.queueLimit)

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		ws.Close(wire.CloseShutdown, "server shutting down")
		return
	}
	h.conns[c] = struct{}{}
	c.authTimer = h.afterFunc(h.cfg.AuthTimeout, func() {
		if c.sess == nil && !c.authed {
			b := &batch{}
			b.do(func() { c.close(wire.CloseAuthFailed, "authentication timeout", false) })
			h.commit(b)
		}
	})
	h.mu.Unlock()

	h.readLoop(c)
	h.connGone(c) // closes c
	c.wait()
}

// afterFunc runs f under h.mu after d, unless the hub has shut down by then.
// Shutdown waits for a callback that is running.
func (h *Hub) afterFunc(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return
		}
		h.wg.Add(1)
		defer h.wg.Done()
		defer h.mu.Unlock()
		f()
	})
}

// commit delivers b in order after every batch committed before it. A batch
// without logs is delivered at once when nothing is waiting; otherwise it is
// queued for the flusher, which writes logs outside h.mu. Called with h.mu held.
func (h *Hub) commit(b *batch) {
	if len(b.logs) == 0 && len(h.outbox) == 0 && !h.flushing {
		for _, op := range b.ops {
			op()
		}
		return
	}
	h.outbox = append(h.outbox, b)
	if !h.flushing {
		h.flushing = true
		h.wg.Add(1)
		go h.flush()
	}
}

// flush delivers queued batches until none is left, writing each batch's logs
// (and those of the batches queued behind it, in one transaction) before
// running its ops.
func (h *Hub) flush() {
	defer h.wg.Done()
	for {
		h.mu.Lock()
		if len(h.outbox) == 0 {
			h.flushing = false
			h.outbox = nil
			h.idle.Broadcast()
			h.mu.Unlock()
			return
		}
		batches := h.outbox
		h.outbox = nil
		h.mu.Unlock()

		var logs []store.CallLog
		for _, b := range batches {
			logs = append(logs, b.logs...)
		}
		if len(logs) > 0 {
			h.writeLogs(logs)
		}

		h.mu.Lock()
		for _, b := range batches {
			for _, op := range b.ops {
				op()
			}
		}
		h.mu.Unlock()
	}
}

// writeLogs writes call logs, retrying a few times; a log that still cannot
// be written is reported and the calls go on.
func (h *Hub) writeLogs(logs []store.CallLog) {
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 50 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = h.st.AddCallLogs(ctx, logs...)
		cancel()
		if err == nil {
			return
		}
	}
	h.log.Error("call logs lost", "count", len(logs), "err", err)
}

// Shutdown ends every open call (joined participants get a final call.update
// with state "ended", pending callees call.missed), writes their logs, closes
// every connection with wire.CloseShutdown after its queued frames, and
// waits for the hub's goroutines. When ctx ends first it drops the remaining
// connections and returns ctx's error.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		now := nowMillis()
		b := &batch{}
		for _, c := range h.calls {
			h.endCall(b, c, wire.StatusEnded, now)
		}
		for _, s := range h.sessions {
			if s.grace != nil {
				s.grace.Stop()
			}
		}
		for c := range h.conns {
			if c.authTimer != nil {
				c.authTimer.Stop()
			}
			b.do(func() { c.close(wire.CloseShutdown, "server shutting down", true) })
		}
		h.commit(b)
	}
	h.mu.Unlock()

	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		h.cancel()
		return nil
	case <-ctx.Done():
		h.cancel()
		h.mu.Lock()
		conns := make([]*conn, 0, len(h.conns))
		for c := range h.conns {
			c.close(wire.CloseShutdown, "server shutting down", false)
			conns = append(conns, c)
		}
		h.mu.Unlock()
		for _, c := range conns {
			c.ws.CloseNow()
		}
		return fmt.Errorf("hub shutdown: %w", ctx.Err())
	}
}

// userFor returns the hub's user for an account, creating it. Called with h.mu held.
func (h *Hub) userFor(su store.User) *user {
	u := h.users[su.Username]
	if u == nil {
		u = &user{
			id: su.ID, name: su.Username, display: su.DisplayName, jid: wire.JID(su.Username, h.cfg.Domain),
			sessions: make(map[string]*session), parts: make(map[*call]*part), guest: su.Guest,
		}
		h.users[su.Username] = u
	}
	return u
}

// gcUser forgets a user with no sessions and no live calls. Called with h.mu held.
func (h *Hub) gcUser(u *user) {
	if len(u.sessions) == 0 && len(u.parts) == 0 && h.users[u.name] == u {
		delete(h.users, u.name)
	}
}

// sendEvent numbers an event for session s, keeps it for replay and queues it
// on the session's connection, if any. Called with h.mu held.
func (h *Hub) sendEvent(s *session, typ string, data json.RawMessage) {
	if s.removed {
		return
	}
	s.seq++
	// Not HTML-escaped: relayed custom data keeps its size (and bytes).
	frame, err := wire.Marshal(wire.Frame{Type: typ, Seq: s.seq, Data: data})
	if err != nil {
		h.log.Error("encode event", "type", typ, "err", err)
		return
	}
	s.buf = append(s.buf, sentEvent{s.seq, frame})
	s.bufBytes += len(frame)
	drop := 0
	for len(s.buf)-drop > EventBuffer || (s.bufBytes > EventBufferBytes && len(s.buf)-drop > 1) {
		s.bufBytes -= len(s.buf[drop].frame)
		drop++
	}
	if drop > 0 {
		n := copy(s.buf, s.buf[drop:])
		clear(s.buf[n:])
		s.buf = s.buf[:n]
	}
	if s.c != nil {
		s.c.enqueue(frame)
	}
}

// event adds an event for s to b; the payload is encoded now, so it is the
// state at this point. Called with h.mu held.
func (h *Hub) event(b *batch, s *session, typ string, payload any) {
	data := mustJSON(payload)
	b.do(func() { h.sendEvent(s, typ, data) })
}

// reply adds the success reply to request id on c to b.
func (h *Hub) reply(b *batch, c *conn, id uint64, payload any) {
	f := wire.Frame{Type: wire.TypeResult, ID: id}
	if payload != nil {
		f.Data = mustJSON(payload)
	}
	frame, err := wire.Encode(f)
	if err != nil {
		h.log.Error("encode reply", "err", err)
		h.replyErr(b, c, id, internalError())
		return
	}
	b.do(func() { c.enqueue(frame) })
}

// replyErr adds the error reply to request id on c to b.
func (h *Hub) replyErr(b *batch, c *conn, id uint64, e *wire.Error) {
	frame, err := wire.Encode(wire.ErrorReply(id, e))
	if err != nil {
		h.log.Error("encode error reply", "err", err)
		return
	}
	b.do(func() { c.enqueue(frame) })
}

// sendNow replies (payload or e) to request id at once, in order with earlier
// batches. Takes h.mu.
func (h *Hub) sendNow(c *conn, id uint64, payload any, e *wire.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	if e != nil {
		h.replyErr(b, c, id, e)
	} else {
		h.reply(b, c, id, payload)
	}
	h.commit(b)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the hub's own well-typed values reach here.
		panic(fmt.Sprintf("hub: marshal %T: %v", v, err))
	}
	return b
}

// onOwnStack runs f on a fresh goroutine and waits for it. Store calls run
// this way: the SQLite driver needs deep stacks, and a connection's reader
// goroutine, which lives as long as the connection, would otherwise keep that
// stack while idle.
func onOwnStack(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// randomID returns n random bytes, base64url without padding.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("hub: crypto/rand: %v", err)) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// linkCode returns a call link code: three groups of 3, 4 and 3 lowercase
// letters (26^10, about 47 bits), e.g. "abc-defg-hij".
func linkCode() string {
	out := make([]byte, 0, 12)
	var buf [32]byte
	for n := 0; n < 10; {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(fmt.Sprintf("hub: crypto/rand: %v", err))
		}
		for _, x := range buf {
			if n == 10 {
				break
			}
			if x >= 26*9 { // reject to stay uniform
				continue
			}
			if n == 3 || n == 7 {
				out = append(out, '-')
			}
			out = append(out, 'a'+x%26)
			n++
		}
	}
	return string(out)
}

// Error reasons of the hub, beside signal's bad_request and unknown_type.
const (
	reasonUnauthorized = "unauthorized"
	reasonForbidden    = "forbidden"
	reasonNotFound     = "not_found"
	reasonConflict     = "conflict"
	reasonCallEnded    = "call_ended"
	reasonCallFull     = "call_full"
	reasonRateLimited  = "rate_limited"
	reasonInternal     = "internal"
	reasonNotSupported = "not_supported"
	reasonShutdown     = "shutting_down"
	reasonTooLarge     = "too_large"
	reasonNotInCall    = "not_in_call"
	reasonInvalidLink  = "invalid_link"
)

func internalError() *wire.Error {
	return wire.Errorf(wire.CodeInternal, reasonInternal, "Something went wrong on the server; try again.")
}

func shutdownError() *wire.Error {
	return wire.Errorf(wire.CodeUnreachable, reasonShutdown, "The server is shutting down; reconnect shortly.")
}

func errUnauthorized() *wire.Error {
	return wire.Errorf(wire.CodeUnauthorized, reasonUnauthorized, "Sign in first (register, login or auth).")
}

// storeError maps an unexpected store error to a 500 and logs it.
func (h *Hub) storeError(op string, err error) *wire.Error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return shutdownError()
	}
	h.log.Error("store", "op", op, "err", err)
	return internalError()
}

func errorf(code int, reason, format string, args ...any) *wire.Error {
	return wire.Errorf(code, reason, format, args...)
}
