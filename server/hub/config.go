package hub

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
	"parley/server/push"
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
	// IdleTimeout closes a connection (wire.CloseIdle) that sent nothing, not
	// even a ping, for this long, default 2m: a dead link or a client that
	// holds sockets open for free.
	IdleTimeout time.Duration
	// SwitchTimeout is how long a voice-to-video switch request waits for
	// an answer, default 20s.
	SwitchTimeout time.Duration
	// MeetIdleTimeout ends a meet.create call when nobody has been joined in
	// it for this long, default 1h.
	MeetIdleTimeout time.Duration
	// MaxBlocks is how many users one account may block, default
	// wire.DefaultMaxBlocks.
	MaxBlocks int
	// MaxMeetLinksPerUser bounds the live meet.create links of one account
	// (a link lives until its call has been empty for MeetIdleTimeout),
	// default 20.
	MaxMeetLinksPerUser int
	// MaxMeetLinksPerIP bounds the live meet.create links made from one
	// remote address, whatever the account, default 50.
	MaxMeetLinksPerIP int
	// RingsPerMinute bounds the users one caller may ring (call.create and
	// call.invite, each user named counts) per minute; it is also the
	// burst. Default 30.
	RingsPerMinute int
	// PairRingBurst and PairRingInterval bound how often one caller may
	// ring one callee: a burst, then one per interval. Default 3 and 20s.
	PairRingBurst    int
	PairRingInterval time.Duration
	// RegisterBurst and RegisterInterval bound account registrations per
	// remote address: a burst, then one per interval. Default 10 and 1m.
	RegisterBurst    int
	RegisterInterval time.Duration
	// KnockTimeout is how long someone joining by link waits for a member
	// to admit or deny them before they are refused, default 60s.
	KnockTimeout time.Duration
	// MaxConnections caps the open WebSockets of the whole server, default
	// 10000. An upgrade over it is refused with HTTP 503 before the
	// WebSocket is accepted.
	MaxConnections int
	// MaxConnectionsPerIP caps the open WebSockets from one remote IP
	// address, default 500 (behind a reverse proxy every client shares the
	// proxy's address: raise it). An upgrade over it is refused with
	// HTTP 429.
	MaxConnectionsPerIP int
	// MaxSessionsPerUser caps one user's signed-in sessions (tabs, those
	// within their resume grace included), default 20. A new sign-in over
	// it removes the user's oldest session that is not in a call (its
	// connection is closed with wire.CloseSessionLimit), or is refused when
	// every session is in a call. Resumes do not count as new sign-ins.
	MaxSessionsPerUser int
	// MaxQueuedBytes is the budget of outgoing bytes queued for all
	// connections together, default 256 MiB. A frame that would exceed it
	// first closes the connections holding the most queued bytes with
	// wire.CloseOverloaded. Each connection is also capped on its own
	// (MaxQueuedFrames, MaxQueuedBytesPerConn).
	MaxQueuedBytes int64
	// MaxReplayBytes is the budget of the events all sessions keep for
	// resuming (each also at most EventBuffer events and EventBufferBytes),
	// default 256 MiB. Over it, a session that receives an event drops its
	// oldest ones first; a resume then misses them (the call snapshot in
	// the resume result still says where the call is).
	MaxReplayBytes int64
	// TrustedProxies are the reverse proxies (addresses and prefixes) whose
	// X-Forwarded-For is believed: behind one, every client would otherwise
	// share the proxy's address in the per-address limits. None by default:
	// the header is ignored.
	TrustedProxies []netip.Prefix
	// Logger receives the hub's logs; default slog.Default().
	Logger *slog.Logger
	// ICE gives each signed-in session its STUN/TURN servers and transport
	// policy; nil offers none (peers on one LAN or machine need none).
	ICE ICEProvider
	// Metrics receives counts and timings of what the hub does (see
	// Metrics); nil records nothing.
	Metrics Metrics
	// Push sends Web Push messages to ring users with no open tab (push.go);
	// nil turns push off (push.key answers 404).
	Push *push.Sender
	// PushAllowHTTP accepts push subscriptions with plain http:// endpoints
	// (a local push service in tests); otherwise they must be https://.
	PushAllowHTTP bool
	// PushWhenHidden also rings by push a user whose online tabs all
	// reported their page hidden (tab.visibility), not only one with no
	// online tab.
	PushWhenHidden bool

	// checkSaved, set by tests, is told when a live call changed without
	// being marked for saving (a change a restart would lose): the hub then
	// compares every live call with its saved state after each request.
	checkSaved func(error)
}

// ICEProvider hands out ICE configurations: TURN credentials are minted per
// user and expire, so every sign-in, resume and refresh asks anew.
type ICEProvider interface {
	// ICEConfig returns the configuration for the user with this JID.
	ICEConfig(jid string) wire.ICEConfig
}

// Defaults of Config.
const (
	DefaultRingTimeout     = 30 * time.Second
	DefaultResumeGrace     = 15 * time.Second
	DefaultMaxParticipants = 8
	DefaultRateLimit       = 50
	DefaultRateBurst       = 200
	DefaultAuthTimeout     = 10 * time.Second
	DefaultIdleTimeout     = 2 * time.Minute
	DefaultSwitchTimeout   = 20 * time.Second
	DefaultMeetIdleTimeout = time.Hour

	DefaultMaxMeetLinksPerUser = 20
	DefaultMaxMeetLinksPerIP   = 50
	DefaultRingsPerMinute      = 30
	DefaultPairRingBurst       = 3
	DefaultPairRingInterval    = 20 * time.Second
	DefaultRegisterBurst       = 10
	DefaultRegisterInterval    = time.Minute
	DefaultKnockTimeout        = 60 * time.Second
	DefaultMaxConnections      = 10000
	DefaultMaxConnectionsPerIP = 500
	DefaultMaxSessionsPerUser  = 20
	DefaultMaxQueuedBytes      = 256 << 20
	DefaultMaxReplayBytes      = 256 << 20
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
	// MaxQueuedBytesPerConn caps the bytes of those frames likewise.
	MaxQueuedBytesPerConn = 16 << 20
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
	// MaxKnocks is the most knocks that may wait on one call at once: a
	// crowd of guests cannot bury its members in join requests.
	MaxKnocks = 10
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
	// CloseOverloaded is wire.CloseOverloaded: the hub's budget of queued
	// bytes (Config.MaxQueuedBytes) was full and this connection held the
	// most. The close frame is written when the peer still reads; its
	// session may be resumed.
	CloseOverloaded = websocket.StatusCode(wire.CloseOverloaded)
	// CloseSessionLimit is wire.CloseSessionLimit: the user signed in once
	// more than Config.MaxSessionsPerUser and this idle session gave way; it
	// is removed and cannot be resumed.
	CloseSessionLimit = websocket.StatusCode(wire.CloseSessionLimit)
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
	NewDeviceSession(ctx context.Context, userID int64, device string) (string, error)
	UserByToken(ctx context.Context, token string) (store.User, error)
	DeleteSession(ctx context.Context, token string) error
	// Sessions lists an account's unexpired sessions; DeleteSessionByID,
	// DeleteOtherSessions, DeleteExpiredSessions and TouchSessions revoke,
	// expire and slide them (see server/hub/sessions.go).
	Sessions(ctx context.Context, userID int64) ([]store.Session, error)
	DeleteSessionByID(ctx context.Context, userID int64, id string) error
	DeleteOtherSessions(ctx context.Context, userID int64, keepToken string) ([]string, error)
	DeleteExpiredSessions(ctx context.Context) (int64, error)
	TouchSessions(ctx context.Context, tokens []string) error
	// SaveCalls writes call logs and live call state in one transaction;
	// LiveCalls reads the live call state back (restore.go).
	SaveCalls(ctx context.Context, logs []store.CallLog, live []store.LiveCall) error
	LiveCalls(ctx context.Context) ([]store.LiveCall, error)
	CallLogs(ctx context.Context, userID int64, page int) (wire.CallLogPage, error)
	Block(ctx context.Context, userID, blockedID int64, max int) (store.Blocked, error)
	Unblock(ctx context.Context, userID, blockedID int64) (bool, error)
	BlockedUsers(ctx context.Context, userID int64) ([]store.Blocked, error)
	Blockers(ctx context.Context, blockedID int64, among ...int64) ([]int64, error)
}
