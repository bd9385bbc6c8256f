package hub

import (
	"log/slog"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// This file holds what the hub tells operations: the Metrics interface it
// reports counts and timings to, the Stats it is sampled for, and the log of
// call lifecycle events. The core records lifecycle events as notes among
// its effects; deliver, the one place where effects are committed, logs them
// and reports them, so neither is sprinkled over the state machine.

// Metrics receives counts and timings of what the hub does. The hub calls it
// from many goroutines, some of them holding the hub's lock: every method
// must be cheap (an atomic add), safe for concurrent use, and must not call
// back into the hub. Gauges (connections, sessions, live calls) are not
// reported here: sample them with Hub.Stats.
type Metrics interface {
	// SignedIn counts a session signed in: SignInUser, SignInGuest or
	// SignInResume.
	SignedIn(kind string)
	// LoginFailed counts a sign-in refused for its credentials: a wrong
	// username or password, an unknown or revoked token.
	LoginFailed()
	// RateLimited counts a request refused by a rate limit: LimitRequests,
	// LimitGuests or LimitLinks.
	RateLimited(limit string)
	// CallCreated counts a call created: CallKindCall (call.create) or
	// CallKindMeet (meet.create).
	CallCreated(kind string)
	// Rang counts one callee rung (call.create or call.invite).
	Rang()
	// RingEnded counts how the ringing of one callee ended: OutcomeAnswered,
	// OutcomeDeclined, OutcomeMissed, OutcomeCancelled or OutcomeBusy.
	RingEnded(outcome string)
	// CallConnected observes a call's setup time: from its creation (for a
	// meet call, from its first join) until a member first reports its
	// media connected (call.media). Once per call.
	CallConnected(setup time.Duration)
	// CallEnded counts a call that ended and why (EndHangUp, EndUnanswered,
	// EndCancelled or EndIdle). When someone answered or
	// joined it (answered), active is how long it was active from then.
	CallEnded(reason string, answered bool, active time.Duration)
	// Relayed counts one frame relayed to a member of a call: kind is
	// wire.EventSignal (SDP, ICE) or wire.EventData (custom data), bytes is
	// the size of its payload.
	Relayed(kind string, bytes int)
	// ConnectionClosed counts a WebSocket that ended, by why (Closed*),
	// and an upgrade refused for a connection limit (ClosedServerFull,
	// ClosedIPFull).
	ConnectionClosed(reason string)
}

// Values of the Metrics methods' string arguments.
const (
	SignInUser   = "user"   // a registered user signed in (register, login, auth)
	SignInGuest  = "guest"  // a guest signed in
	SignInResume = "resume" // a dropped session resumed

	LimitRequests = "requests" // the per-connection request rate
	LimitGuests   = "guests"   // guest creations per remote IP
	LimitLinks    = "links"    // link look-ups per remote IP
	LimitLogins   = "logins"   // failed password logins (see loginThrottle)

	CallKindCall = "call" // call.create
	CallKindMeet = "meet" // meet.create

	OutcomeAnswered  = "answered"  // the callee answered (or joined by link while rung)
	OutcomeDeclined  = "declined"  // the callee declined
	OutcomeMissed    = "missed"    // nobody answered within the ring timeout
	OutcomeCancelled = "cancelled" // the call ended while the callee was rung
	OutcomeBusy      = "busy"      // the callee was in another call and was not rung

	EndHangUp     = "hangup"     // fewer than two members remained (a meet call: none) after an answer
	EndUnanswered = "unanswered" // every callee declined, missed or was busy
	EndCancelled  = "cancelled"  // the caller left before anyone answered
	EndIdle       = "idle"       // a meet call stayed empty for MeetIdleTimeout

	ClosedServerFull   = "server_full"   // refused: MaxConnections open
	ClosedIPFull       = "ip_full"       // refused: MaxConnectionsPerIP open from its address
	ClosedOverloaded   = "overloaded"    // wire.CloseOverloaded: slowest when the queued-bytes budget was full
	ClosedTooSlow      = "too_slow"      // its own queue was full (CloseTooSlow)
	ClosedSessionLimit = "session_limit" // wire.CloseSessionLimit
	ClosedIdle         = "idle"          // wire.CloseIdle
	ClosedAuthFailed   = "auth_failed"   // wire.CloseAuthFailed
	ClosedProtocol     = "protocol"      // wire.CloseProtocol
	ClosedRateLimited  = "rate_limited"  // wire.CloseRateLimited
	ClosedReplaced     = "replaced"      // wire.CloseReplaced
	ClosedLoggedOut    = "logged_out"    // wire.CloseLoggedOut
	ClosedShutdown     = "shutdown"      // wire.CloseShutdown
	ClosedClient       = "client"        // the client closed or the network dropped it
)

// ClosedReasons lists every ConnectionClosed reason.
func ClosedReasons() []string {
	return []string{ClosedServerFull, ClosedIPFull, ClosedOverloaded, ClosedTooSlow, ClosedSessionLimit, ClosedIdle,
		ClosedAuthFailed, ClosedProtocol, ClosedRateLimited, ClosedReplaced, ClosedLoggedOut, ClosedShutdown, ClosedClient}
}

// closeReason is the ConnectionClosed reason of a connection the hub closed
// with code (0 or a normal closure when the client went first).
func closeReason(code websocket.StatusCode) string {
	switch code {
	case CloseOverloaded:
		return ClosedOverloaded
	case CloseTooSlow:
		return ClosedTooSlow
	case CloseSessionLimit:
		return ClosedSessionLimit
	case wire.CloseIdle:
		return ClosedIdle
	case wire.CloseAuthFailed:
		return ClosedAuthFailed
	case wire.CloseProtocol:
		return ClosedProtocol
	case wire.CloseRateLimited:
		return ClosedRateLimited
	case wire.CloseReplaced:
		return ClosedReplaced
	case wire.CloseLoggedOut:
		return ClosedLoggedOut
	case wire.CloseShutdown:
		return ClosedShutdown
	}
	return ClosedClient
}

// Stats is a sample of the hub's state for gauges.
type Stats struct {
	// Connections is the number of open WebSockets, signed in or not.
	Connections int
	// Sessions is the number of signed-in sessions (tabs), those within
	// their resume grace included.
	Sessions int
	// Users is the number of distinct users with at least one session.
	Users int
	// Ringing, Active and Waiting count the live calls: ringing (nobody
	// has answered yet), active (someone answered or joined), waiting (a
	// meet call nobody has joined yet).
	Ringing, Active, Waiting int
	// Sizes counts the live calls by their joined members.
	Sizes map[int]int
	// QueuedBytes is the outgoing bytes queued for all connections, which
	// Config.MaxQueuedBytes bounds.
	QueuedBytes int64
	// ReplayBytes is the bytes of the events all sessions keep for resuming,
	// which Config.MaxReplayBytes bounds.
	ReplayBytes int64
}

// Stats samples the hub's state. It takes the hub's lock briefly.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Stats{Connections: len(h.conns), Sessions: len(h.sessions), Sizes: make(map[int]int), QueuedBytes: h.bud.used.Load(), ReplayBytes: h.replay.Load()}
	for _, u := range h.core.users {
		if len(u.tabs) > 0 {
			s.Users++
		}
	}
	for _, cl := range h.core.calls {
		switch {
		case cl.snap.StartedAt != 0:
			s.Active++
		case cl.snap.Meet:
			s.Waiting++
		default:
			s.Ringing++
		}
		joined, _ := cl.counts()
		s.Sizes[joined]++
	}
	return s
}

// noMetrics is the Metrics of a hub configured with none.
type noMetrics struct{}

func (noMetrics) SignedIn(string)                       {}
func (noMetrics) LoginFailed()                          {}
func (noMetrics) RateLimited(string)                    {}
func (noMetrics) CallCreated(string)                    {}
func (noMetrics) Rang()                                 {}
func (noMetrics) RingEnded(string)                      {}
func (noMetrics) CallConnected(time.Duration)           {}
func (noMetrics) CallEnded(string, bool, time.Duration) {}
func (noMetrics) Relayed(string, int)                   {}
func (noMetrics) ConnectionClosed(string)               {}

// noteKind names a call lifecycle event.
type noteKind int

const (
	noteCreated   noteKind = iota // a call was created; detail: CallKind*
	noteRinging                   // a callee is rung
	noteRingEnded                 // a callee's ringing ended; detail: Outcome*
	noteJoined                    // someone joined by link (not while rung)
	noteLeft                      // a member left
	noteConnected                 // a member first reported media connected; d: setup time
	noteEnded                     // the call ended; detail: End*, d: time active, answered: it was
	noteInvited                   // a member invited others (each rung is a noteRinging)
	noteAdmission                 // a link shared, a knock, or a knock resolved (admission.go)
)

// note is one call lifecycle event, for the log and the metrics. msg and
// attrs make its log line (none when msg is empty); room is logged first.
type note struct {
	kind     noteKind
	detail   string
	d        time.Duration
	answered bool
	room     string
	msg      string
	attrs    []any
}

// note records a lifecycle event of call cl.
func (fx *effects) note(cl *call, kind noteKind, detail string, d time.Duration, msg string, attrs ...any) {
	fx.notes = append(fx.notes, note{kind: kind, detail: detail, d: d, room: cl.snap.RoomID, msg: msg, attrs: attrs})
}

// observe logs the notes and relayed events of committed effects and reports
// them to the metrics. Called by deliver, with h.mu held.
func (h *Hub) observe(fx *effects) {
	m := h.cfg.Metrics
	for _, ev := range fx.events {
		if ev.typ == wire.EventSignal || ev.typ == wire.EventData {
			m.Relayed(ev.typ, len(ev.data))
		}
	}
	for _, n := range fx.notes {
		switch n.kind {
		case noteCreated:
			m.CallCreated(n.detail)
		case noteRinging:
			m.Rang()
		case noteRingEnded:
			m.RingEnded(n.detail)
		case noteConnected:
			m.CallConnected(n.d)
		case noteEnded:
			m.CallEnded(n.detail, n.answered, n.d)
		}
		if n.msg != "" && h.log.Enabled(h.ctx, slog.LevelInfo) {
			h.log.Info(n.msg, append([]any{"room", n.room}, n.attrs...)...)
		}
	}
}

// endReason is why cl ends when the end rule ends it, unless a caller of
// endCall set cl.why.
func endReason(cl *call) string {
	if cl.why != "" {
		return cl.why
	}
	if cl.snap.StartedAt == 0 {
		return EndUnanswered
	}
	return EndHangUp
}
