// Package hub is Parley's signalling server: it accepts one WebSocket per
// browser tab at /ws, authenticates it with its first frame, keeps the
// sessions of every signed-in user, runs the calls (ringing, answering,
// leaving, the end rule), relays SDP and ICE between members of a call, and
// writes every participant's call log when their part ends.
//
// It has two layers. The core (type core; core.go, tabs.go, calls.go,
// invite.go, switch.go, customdata.go, links.go) is the call state machine:
// users and their tabs, calls, participants, ringing, video switches, link
// previews and admission. Each request is one method that returns a result
// or a *wire.Error plus effects (events for tabs, call logs, timers to start
// or stop); it knows no sockets, connections or locks, and the table tests in
// core_test.go drive it directly.
//
// The transport (type Hub; hub.go, conn.go, requests.go, handlers.go,
// session.go, guest.go, delivery.go, limits.go) wraps it: WebSockets,
// sign-in and resume, per-session event numbering and replay, rate limits,
// store calls and timers, which fire back into the core as requests. Every
// request of a signed-in connection goes through handle, which decodes it,
// calls the core under the hub's one mutex and commits the reply followed by
// the effects. Each socket is written by one writer at a time (its own
// goroutine, or for a fan-out to many tabs one goroutine that writes them in
// turn), never under that mutex. Effects are collected in a batch and
// delivered in order; a batch that carries call logs is delivered only after
// the logs are durably written, outside the mutex, so no finished call's log
// is ever acknowledged and then lost. See app/wire/PROTOCOL.md for the wire
// side.
//
// What the whole server holds for its clients is bounded (Config): open
// WebSockets, server-wide and per IP, refused before the upgrade; sessions
// per user, the oldest idle one signed out for a new one; and the bytes
// queued for all connections together, one budget from which the
// connections holding the most are cut first. An event bound for many tabs
// is encoded once: each tab's frame shares its payload and only the
// envelope with the tab's sequence number is built per tab.
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
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/store"
)

// Hub is the signalling server. Create it with New, mount it at /ws, and stop
// it with Shutdown.
type Hub struct {
	cfg    Config
	st     Store
	log    *slog.Logger
	ctx    context.Context // canceled when Shutdown gives up waiting
	cancel context.CancelFunc

	mu       sync.Mutex
	core     *core // the call state machine; used only under mu
	closed   bool
	conns    map[*conn]struct{}
	sessions map[string]*session             // by session ID
	byUser   map[int64]map[*session]struct{} // live sessions of each account
	born     uint64                          // sessions created so far
	open     int                             // WebSockets accepted or being accepted (MaxConnections)
	perIP    map[string]int                  // the same by remote IP (MaxConnectionsPerIP)
	bud      *budget                         // queued outgoing bytes of all connections (MaxQueuedBytes)
	replay   atomic.Int64                    // bytes of all sessions' replay buffers (MaxReplayBytes)
	starter  *starter                        // writers to start after the ops being run
	timers   map[timerKey]*time.Timer
	outbox   []*batch    // batches waiting for delivery, in order
	pending  map[any]int // per session or connection: queued batches that deliver to it
	flushing bool        // a flusher goroutine is running
	idle     *sync.Cond  // broadcast when the flusher stops

	wg sync.WaitGroup // connections, the flusher, running timer callbacks

	queueLimit int // MaxQueuedFrames; tests lower it
	// writeTimeout bounds one frame write (writeTimeout); a test that
	// must see another limit cut a slow reader first raises it.
	writeTimeout time.Duration

	guestLim *ipLimiter     // guest creation per remote IP
	logins   *loginThrottle // failed password logins
	linkLim  *ipLimiter     // link look-ups per remote IP
	abuse    *abuseLimits   // rings and registrations (limits.go)

	revoked map[string]time.Time // store session IDs revoked lately, by when (sessions.go)

	pushq pushQueue // Web Push messages waiting to be sent (push.go)
}

// session is one tab's signed-in state on the transport side: its
// connection and its numbered events. It outlives its connection by
// ResumeGrace. The core knows it as a tab with the same ID.
type session struct {
	id       string
	user     wire.User // the account, as sent in AuthResult
	uid      int64     // the account's store ID
	token    string
	c        *conn // attached connection; nil while dropped
	seq      uint64
	buf      []sentEvent // the last EventBuffer events, at most EventBufferBytes
	bufBytes int
	grace    *time.Timer
	gen      uint64 // incremented on every drop, so a stale grace timer does nothing

	// mu guards seq, buf and bufBytes, which the flusher changes without
	// Hub.mu, and writes of c and removed (made with Hub.mu held too, so
	// code holding Hub.mu may read them).
	mu      sync.Mutex
	removed bool
	born    uint64 // creation order (Hub.born), oldest first for the per-user cap

	// restored marks a session brought back by Restore and not resumed
	// since: its numbering continues from the client's lastSeq, so the
	// events for it meanwhile wait in early (under mu) to be numbered then.
	restored   bool
	early      []earlyEvent
	earlyBytes int
}

// earlyEvent is an event for a restored session not yet resumed.
type earlyEvent struct {
	typ  string
	data json.RawMessage
}

type sentEvent struct {
	seq   uint64
	frame frame
}

// batch is the ordered effect of one state change on the transport. logs are
// written before any op runs. keys are the sessions and connections its ops
// deliver to: a batch is delivered after every earlier batch that shares a
// key with it, and may overtake those that share none (one client cannot
// tell), so a fan-out or a call log being written holds up only the tabs it
// concerns.
type batch struct {
	logs []store.CallLog
	live []store.LiveCall // saved with logs, in their transaction
	ops  []func(st *starter)
	keys []any
}

// toConn adds an op on connection c (and so on its session, if any). Called
// with h.mu held.
func (b *batch) toConn(c *conn, f func(st *starter)) {
	b.ops = append(b.ops, f)
	b.keys = append(b.keys, c)
	if c.sess != nil {
		b.keys = append(b.keys, c.sess)
	}
}

// toSession adds an op on session s (and so on its connection, if any).
// Called with h.mu held.
func (b *batch) toSession(s *session, f func(st *starter)) {
	b.ops = append(b.ops, f)
	b.keys = append(b.keys, s)
	if s.c != nil {
		b.keys = append(b.keys, s.c)
	}
}

// add appends other's ops after b's.
func (b *batch) add(other *batch) {
	b.ops = append(b.ops, other.ops...)
	b.keys = append(b.keys, other.keys...)
}

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
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
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
	if cfg.MaxBlocks <= 0 {
		cfg.MaxBlocks = DefaultMaxBlocks
	}
	cfg.limitDefaults()
	if cfg.KnockTimeout <= 0 {
		cfg.KnockTimeout = DefaultKnockTimeout
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.MaxConnectionsPerIP <= 0 {
		cfg.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if cfg.MaxSessionsPerUser <= 0 {
		cfg.MaxSessionsPerUser = DefaultMaxSessionsPerUser
	}
	if cfg.MaxQueuedBytes <= 0 {
		cfg.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if cfg.MaxReplayBytes <= 0 {
		cfg.MaxReplayBytes = DefaultMaxReplayBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg: cfg, st: st, log: cfg.Logger, ctx: ctx, cancel: cancel, queueLimit: MaxQueuedFrames, writeTimeout: writeTimeout,
		core: newCore(coreConfig{
			Domain: cfg.Domain, MaxParticipants: cfg.MaxParticipants, RingTimeout: cfg.RingTimeout,
			SwitchTimeout: cfg.SwitchTimeout, MeetIdleTimeout: cfg.MeetIdleTimeout,
			MaxMeetLinksPerUser: cfg.MaxMeetLinksPerUser, MaxMeetLinksPerIP: cfg.MaxMeetLinksPerIP,
			KnockTimeout: cfg.KnockTimeout, PushWhenHidden: cfg.PushWhenHidden,
		}, cfg.Logger),
		conns:    make(map[*conn]struct{}),
		sessions: make(map[string]*session),
		byUser:   make(map[int64]map[*session]struct{}),
		perIP:    make(map[string]int),
		starter:  &starter{},
		pending:  make(map[any]int),
		timers:   make(map[timerKey]*time.Timer),
		guestLim: newIPLimiter(GuestRate, GuestBurst),
		logins:   newLoginThrottle(),
		linkLim:  newIPLimiter(LinkRate, LinkBurst),
		abuse:    newAbuseLimits(cfg),
	}
	h.idle = sync.NewCond(&h.mu)
	h.bud = newBudget(cfg.MaxQueuedBytes, func(c *conn) {
		h.log.Warn("closing connection: queued-bytes budget full and it reads slowest", "remote", c.remote)
	})
	return h
}

// ServeHTTP upgrades the request to a WebSocket and starts serving it.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	remote := clientAddr(r, h.cfg.TrustedProxies)
	ip := remoteIP(remote)
	if refused := h.admit(ip); refused != "" {
		h.mu.Unlock()
		h.cfg.Metrics.ConnectionClosed(refused)
		w.Header().Set("Retry-After", "10")
		if refused == ClosedServerFull {
			http.Error(w, "server full: too many connections", http.StatusServiceUnavailable)
		} else {
			http.Error(w, "too many connections from your address", http.StatusTooManyRequests)
		}
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()

	lw := &leanWriter{ResponseWriter: w}
	ws, err := websocket.Accept(lw, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.AllowedOrigins})
	if err != nil {
		h.release(ip)
		h.wg.Done()
		h.log.Debug("websocket accept", "remote", remote, "err", err)
		return // Accept wrote the HTTP error
	}
	// The connection is served on a goroutine of its own, and this handler
	// returns: the request, net/http's per-connection state and the deep
	// stack of its goroutine are not kept for the life of the socket.
	c := newConn(ws, remote, h.queueLimit, h.bud, h.writeTimeout)
	c.device = deviceLabel(r.UserAgent())
	c.br, c.raw, c.nc = lw.br, lw.raw, lw.nc
	go h.serve(c, ip)
}

// serve runs an accepted WebSocket until it closes. The caller counted it in
// h.wg and h.open.
func (h *Hub) serve(c *conn, ip string) {
	defer h.wg.Done()
	defer h.release(ip)
	ws := c.ws
	ws.SetReadLimit(wire.MaxFrameBytes)
	h.bud.track(c)

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.bud.untrack(c)
		ws.Close(wire.CloseShutdown, "server shutting down")
		return
	}
	h.conns[c] = struct{}{}
	c.authTimer = h.afterFunc(h.cfg.AuthTimeout, func() {
		if c.sess == nil && !c.authed {
			b := &batch{}
			b.toConn(c, func(*starter) { c.close(wire.CloseAuthFailed, "authentication timeout", false) })
			h.commit(b)
		}
	})
	c.idleTimer = h.afterFunc(h.cfg.IdleTimeout, func() {
		h.log.Debug("closing idle connection", "remote", c.remote)
		b := &batch{}
		b.toConn(c, func(*starter) { c.close(wire.CloseIdle, "idle", false) })
		h.commit(b)
	})
	h.mu.Unlock()

	h.readLoop(c)
	h.connGone(c) // closes c
	c.wait()
}

// admit counts one more WebSocket from ip, or names the limit it is over
// (ClosedServerFull, ClosedIPFull) and counts nothing. Called with h.mu held.
func (h *Hub) admit(ip string) string {
	if h.open >= h.cfg.MaxConnections {
		return ClosedServerFull
	}
	if h.perIP[ip] >= h.cfg.MaxConnectionsPerIP {
		return ClosedIPFull
	}
	h.open++
	h.perIP[ip]++
	return ""
}

// release uncounts a WebSocket admitted from ip. Takes h.mu.
func (h *Hub) release(ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.open--
	if h.perIP[ip]--; h.perIP[ip] <= 0 {
		delete(h.perIP, ip)
	}
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

// commit delivers b in order after every batch committed before it. A small
// batch without logs is delivered at once when nothing is waiting; otherwise
// it is queued for the flusher, which writes logs and runs ops outside h.mu,
// so a fan-out to thousands of tabs holds no lock that other calls need.
// Called with h.mu held.
func (h *Hub) commit(b *batch) {
	if len(b.logs) == 0 && len(b.live) == 0 && len(b.ops) <= inlineOps && !h.waiting(b) {
		for _, op := range b.ops {
			op(h.starter)
		}
		h.starter.flush()
		return
	}
	h.outbox = append(h.outbox, b)
	for _, k := range b.keys {
		h.pending[k]++
	}
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

		var (
			logs []store.CallLog
			live []store.LiveCall
		)
		for _, b := range batches {
			logs = append(logs, b.logs...)
			live = append(live, b.live...)
		}
		if len(logs) > 0 || len(live) > 0 {
			h.save(logs, live)
		}

		// Without h.mu: ops touch only connections (their own locks) and
		// sessions' delivery state (session.mu). commit runs a batch inline
		// only when it shares no key with a queued one, so nothing else
		// delivers to these keys meanwhile.
		st := &starter{}
		for _, b := range batches {
			for _, op := range b.ops {
				op(st)
			}
		}
		st.flush()
		h.mu.Lock()
		for _, b := range batches {
			for _, k := range b.keys {
				if h.pending[k]--; h.pending[k] <= 0 {
					delete(h.pending, k)
				}
			}
		}
		h.mu.Unlock()
	}
}

// waiting reports whether b shares a key with a batch not yet delivered.
// Called with h.mu held.
func (h *Hub) waiting(b *batch) bool {
	if len(h.pending) == 0 {
		return false
	}
	for _, k := range b.keys {
		if h.pending[k] > 0 {
			return true
		}
	}
	return false
}

// inlineOps is the most ops a batch may have to be run at once by commit,
// under h.mu; a bigger one (a ring or an update to many tabs) goes to the
// flusher, which runs it without the lock.
const inlineOps = 32

// save writes call logs and live call state in one transaction, retrying a
// few times; what still cannot be written is reported and the calls go on.
func (h *Hub) save(logs []store.CallLog, live []store.LiveCall) {
	if h.st == nil {
		return
	}
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 50 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = h.st.SaveCalls(ctx, logs, live)
		cancel()
		if err == nil {
			return
		}
	}
	h.log.Error("call logs and state lost", "logs", len(logs), "calls", len(live), "err", err)
}

// Shutdown closes every connection with wire.CloseShutdown after its queued
// frames (clients reconnect), writes what is still queued for the store and
// waits for the hub's goroutines. Live calls are not ended: they stay saved
// as they are, and the next hub on the same store restores them (Restore);
// their members, whose media does not go through the server, resume there. When ctx ends first it drops the remaining
// connections and returns ctx's error.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		// Live calls are not ended: they are saved as they are, and the
		// next process on this store restores them (restore.go).
		b := &batch{}
		for _, t := range h.timers {
			t.Stop()
		}
		clear(h.timers)
		for _, s := range h.sessions {
			if s.grace != nil {
				s.grace.Stop()
			}
		}
		for c := range h.conns {
			if c.authTimer != nil {
				c.authTimer.Stop()
			}
			c.idleTimer.Stop()
			b.toConn(c, func(*starter) { c.close(wire.CloseShutdown, "server shutting down", true) })
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

func internalError() *wire.Error {
	return wire.Internal("Something went wrong on the server; try again.")
}

func shutdownError() *wire.Error {
	return wire.Errorf(wire.CodeUnreachable, wire.ReasonShutdown, "The server is shutting down; reconnect shortly.")
}

// storeError maps an unexpected store error to a 500 and logs it. A store
// call cut short says why: the hub shutting down, or the call outlasting its
// deadline (opCtx) on a server too busy, which is not the same news.
func (h *Hub) storeError(op string, err error) *wire.Error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if h.ctx.Err() != nil {
			return shutdownError()
		}
		h.log.Warn("store call out of time", "op", op, "err", err)
		return wire.Errorf(wire.CodeInternal, wire.ReasonBusy, "The server is too busy to finish this in time; try again in a moment.")
	}
	h.log.Error("store", "op", op, "err", err)
	return internalError()
}
