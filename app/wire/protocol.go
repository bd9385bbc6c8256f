// Package signal defines Parley's signalling wire protocol: the frames that travel
// as JSON text messages over one WebSocket per browser tab, their payloads, the
// error codes, and validation. The server and the call engine both import it, so
// it stays free of pion, go-app and syscall/js.
//
// Every client request carries an ID and gets exactly one reply with that ID:
// either Type "result" with Data, or Type "error" with Error. Server events carry
// a per-session sequence number (Seq) so that a reconnecting client can resume.
package wire

import (
	"encoding/json"
)

// MaxFrameBytes is the largest frame either side accepts. Custom data is limited
// to MaxCustomDataBytes on its own; the rest is room for the envelope and SDP.
const MaxFrameBytes = 256 << 10

// MaxCustomDataBytes is the largest custom data value, in encoded JSON bytes.
const MaxCustomDataBytes = 64 << 10

// Version is the protocol version this package speaks. A client puts it in V
// of its first frame (the sign-in request); a server refuses a newer version
// than its own with ReasonUnsupportedVersion and states its own in AuthResult.
// A first frame without V is taken as version 1.
const Version = 1

// Limits are the server's limits that clients must respect. The server sends
// them in every AuthResult, so no client hard-codes them; DefaultLimits holds
// until a client has signed in.
type Limits struct {
	// MaxParticipants is the most people in one call, its initiator included.
	MaxParticipants int `json:"maxParticipants"`
	// MaxDisplayName is the longest display name, in characters.
	MaxDisplayName int `json:"maxDisplayName"`
	// MaxGroupID is the longest groupId, in bytes.
	MaxGroupID int `json:"maxGroupId"`
	// MaxCustomData is the largest custom data value, in encoded JSON bytes.
	MaxCustomData int `json:"maxCustomData"`
}

// DefaultLimits are the limits of a server started without flags.
func DefaultLimits() Limits {
	return Limits{MaxParticipants: 8, MaxDisplayName: 64, MaxGroupID: 128, MaxCustomData: MaxCustomDataBytes}
}

// OrDefault is l with every unset (zero) limit taken from DefaultLimits, so a
// server that leaves a limit out gets the default rather than zero.
func (l Limits) OrDefault() Limits {
	def := DefaultLimits()
	if l.MaxParticipants < 2 {
		l.MaxParticipants = def.MaxParticipants
	}
	if l.MaxDisplayName <= 0 {
		l.MaxDisplayName = def.MaxDisplayName
	}
	if l.MaxGroupID <= 0 {
		l.MaxGroupID = def.MaxGroupID
	}
	if l.MaxCustomData <= 0 {
		l.MaxCustomData = def.MaxCustomData
	}
	return l
}

// Frame is one WebSocket text message.
type Frame struct {
	// Type names the request, the event, or "result"/"error" for replies.
	Type string `json:"type"`
	// V is the protocol version the client speaks, set on its first frame only.
	V int `json:"v,omitempty"`
	// ID is set by the client on every request and echoed on its reply.
	ID uint64 `json:"id,omitempty"`
	// Seq numbers server events within a session, starting at 1.
	Seq uint64 `json:"seq,omitempty"`
	// Data is the payload; its shape depends on Type.
	Data json.RawMessage `json:"data,omitempty"`
	// Error is set on Type "error".
	Error *Error `json:"error,omitempty"`
}

// Reply frame types.
const (
	TypeResult = "result"
	TypeError  = "error"
)

// Requests a client may send before it is authenticated.
const (
	// TypeRegister creates an account and signs in: RegisterRequest -> AuthResult.
	TypeRegister = "register"
	// TypeLogin signs in with a password: LoginRequest -> AuthResult.
	TypeLogin = "login"
	// TypeAuth signs in with a session token, optionally resuming: AuthRequest -> AuthResult.
	TypeAuth = "auth"
	// TypeGuest creates a temporary identity for joining by link: GuestRequest -> AuthResult.
	TypeGuest = "guest"
	// TypePing keeps the connection alive: no payload -> no payload. Allowed at any time.
	TypePing = "ping"
)

// Requests of an authenticated client.
const (
	// TypeLogout revokes the session token; the server then closes with CloseLoggedOut.
	TypeLogout = "logout"
	// TypeICERefresh asks for fresh ICE credentials before the current ones
	// expire: no payload -> ICEConfig.
	TypeICERefresh = "ice.refresh"
	// TypeCallCreate starts a call: CallCreateRequest -> CallResult.
	TypeCallCreate = "call.create"
	// TypeCallAnswer answers a ringing call on this tab: AnswerRequest ->
	// CallResult. Its signals (the answers to offers that came while the call
	// rang) are relayed as call.signal events right after the answer.
	TypeCallAnswer = "call.answer"
	// TypeCallDecline declines a ringing call on every tab: RoomRequest -> nothing.
	TypeCallDecline = "call.decline"
	// TypeCallEnd leaves (or, before anyone answered, cancels) a call: RoomRequest -> nothing.
	TypeCallEnd = "call.end"
	// TypeCallSignal relays SDP or ICE to one member of the same call: SignalRequest -> nothing.
	TypeCallSignal = "call.signal"
	// TypeCallMute publishes this participant's mute state: MuteRequest -> nothing.
	TypeCallMute = "call.mute"
	// TypeCallMedia reports this participant's media state: MediaRequest -> nothing.
	TypeCallMedia = "call.media"
	// TypeCallLogs pages through this user's call log: CallLogsRequest -> CallLogPage.
	TypeCallLogs = "call.logs"
)

// Server events.
const (
	// EventIncoming rings this tab: CallEvent.
	EventIncoming = "call.incoming"
	// EventUpdate carries the full new state of a call this tab is part of: CallEvent.
	EventUpdate = "call.update"
	// EventSignal is SDP or ICE relayed from another member: SignalEvent.
	EventSignal = "call.signal"
	// EventDismissed stops ringing on this tab: DismissEvent.
	EventDismissed = "call.dismissed"
	// EventMissed tells every tab of a callee that a call was missed: CallEvent (Reason set).
	EventMissed = "call.missed"
)

// Participant and call statuses, lower case as in the SDK contract.
const (
	StatusCalling      = "calling"
	StatusRinging      = "ringing"
	StatusConnecting   = "connecting"
	StatusConnected    = "connected"
	StatusReconnecting = "reconnecting"
	StatusDisconnected = "disconnected"
	StatusDeclined     = "declined"
	StatusEngaged      = "engaged"
	StatusNoAnswer     = "noanswer"
	StatusEnded        = "ended"
)

// Call states.
const (
	CallStateRinging = "ringing" // nobody but the initiator has joined yet
	CallStateActive  = "active"  // at least two participants joined
	CallStateEnded   = "ended"
)

// Call types and modes.
const (
	TypeAudio     = "audio"
	TypeVideo     = "video"
	ModeOneToOne  = "onetoone"
	ModeOneToMany = "onetomany"
)

// Dismiss reasons.
const (
	ReasonAnsweredElsewhere = "answered_elsewhere"
	ReasonDeclinedElsewhere = "declined_elsewhere"
	ReasonCanceled          = "canceled"
	ReasonTimeout           = "timeout"
)

// WebSocket close codes used by the server.
const (
	// CloseProtocol: a frame could not be decoded or broke the protocol.
	CloseProtocol = 4000
	// CloseAuthFailed: authentication failed too often or never came.
	CloseAuthFailed = 4001
	// CloseLoggedOut: the session was logged out.
	CloseLoggedOut = 4003
	// CloseRateLimited: the client kept sending over its request rate.
	CloseRateLimited = 4008
	// CloseReplaced: another connection resumed this session.
	CloseReplaced = 4009
	// CloseShutdown: the server is shutting down.
	CloseShutdown = 4010
	// CloseIdle: nothing arrived for the idle timeout (2 minutes; clients
	// ping every 20 s), so the link is presumed dead.
	CloseIdle = 4011
	// CloseSessionLimit: the user signed in on more tabs or devices than
	// the server allows (-max-sessions-per-user) and this session, the
	// oldest one not in a call, was signed out to make room. It cannot be
	// resumed; the token stays valid. Clients do not reconnect by themselves.
	CloseSessionLimit = 4012
	// CloseOverloaded: the server's budget of queued outgoing bytes
	// (-max-queued-bytes) was full and this connection, holding the most,
	// was too slow to read. The session may be resumed: reconnect with
	// backoff. Often not seen: a peer that does not read gets no close frame.
	CloseOverloaded = 4013
)

// RegisterRequest is the payload of TypeRegister.
type RegisterRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"displayName,omitempty"`
}

// LoginRequest is the payload of TypeLogin.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// AuthRequest is the payload of TypeAuth. Resume and LastSeq ask the server to
// re-attach a session that dropped within the grace period and to replay the
// events after LastSeq.
type AuthRequest struct {
	Token   string `json:"token"`
	Resume  string `json:"resume,omitempty"`
	LastSeq uint64 `json:"lastSeq,omitempty"`
}

// GuestRequest is the payload of TypeGuest.
type GuestRequest struct {
	DisplayName string `json:"displayName"`
}

// User is an account as the other side sees it.
type User struct {
	JID         string `json:"userJid"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	Guest       bool   `json:"guest,omitempty"`
}

// AuthResult is the reply to TypeRegister, TypeLogin, TypeAuth and TypeGuest.
type AuthResult struct {
	User User `json:"user"`
	// Token signs in later connections of this user (TypeAuth).
	Token string `json:"token"`
	// Session identifies this connection's session for resuming.
	Session string `json:"session"`
	// Resumed is true when Resume was honoured and missed events follow.
	Resumed bool `json:"resumed,omitempty"`
	// Call is the call this session is part of after a resume, if any.
	Call *Call `json:"call,omitempty"`
	// Version is the server's protocol version.
	Version int `json:"version"`
	// Limits are the server's limits.
	Limits Limits `json:"limits"`
	// ICE is the STUN/TURN configuration for this session's peer
	// connections; empty when the server offers none (loopback, LAN).
	ICE ICEConfig `json:"ice"`
}

// ICEConfig is what peer connections use to find a path: the ICE servers with
// their short-lived credentials and the transport policy.
type ICEConfig struct {
	// Servers are STUN and TURN servers, in the RTCIceServer form.
	Servers []ICEServer `json:"servers,omitempty"`
	// Policy is "all" (the default when empty) or "relay": only relayed
	// candidates, so no participant learns another's IP address.
	Policy string `json:"policy,omitempty"`
	// Expires is when the credentials stop working, in Unix milliseconds;
	// zero when they do not expire. Clients ask for fresh ones
	// (TypeICERefresh) before then.
	Expires int64 `json:"expires,omitempty"`
}

// ICE transport policies.
const (
	ICEPolicyAll   = "all"
	ICEPolicyRelay = "relay"
)

// ICEServer is one STUN or TURN server: turn:host:3478?transport=udp,
// turns:host:5349?transport=tcp, stun:host:3478.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// CallCreateRequest is the payload of TypeCallCreate.
type CallCreateRequest struct {
	To      []string `json:"to"`
	Type    string   `json:"callType"`
	GroupID string   `json:"groupId,omitempty"`
}

// RoomRequest names a call.
type RoomRequest struct {
	RoomID string `json:"roomId"`
}

// AnswerRequest is the payload of TypeCallAnswer. Signals are payloads for
// joined participants, relayed as SignalEvents once the answer is applied and
// before the call.update announcing it, so that an offer made while the call
// rang (a pre-offer) is answered in the same round trip. Signals for a
// participant who is not joined (any more) are dropped; an answer with a
// signal that is wrong in itself (not another participant of the call, an
// empty payload) fails as a whole and changes nothing.
type AnswerRequest struct {
	RoomID  string  `json:"roomId"`
	Signals []Relay `json:"signals,omitempty"`
}

// Relay is one signal payload for participant To (see AnswerRequest).
type Relay struct {
	To      string  `json:"to"`
	Payload Payload `json:"payload"`
}

// MaxAnswerSignals bounds the signals one call.answer carries: an answer and
// its candidates for each other participant.
const MaxAnswerSignals = 256

// CallResult is the reply to TypeCallCreate and TypeCallAnswer.
type CallResult struct {
	Call Call `json:"call"`
}

// SignalRequest relays Payload to the participant To of call RoomID.
type SignalRequest struct {
	RoomID  string  `json:"roomId"`
	To      string  `json:"to"`
	Payload Payload `json:"payload"`
}

// SignalEvent is a relayed Payload from participant From.
type SignalEvent struct {
	RoomID  string  `json:"roomId"`
	From    string  `json:"from"`
	Payload Payload `json:"payload"`
}

// Payload is what peers exchange to negotiate media: a session description, an
// ICE candidate, a request that the other side restart ICE with a new offer, or
// the reset handshake of a page that came back into its call after a reload.
type Payload struct {
	SDP       *SessionDescription `json:"sdp,omitempty"`
	Candidate *Candidate          `json:"candidate,omitempty"`
	Restart   bool                `json:"restart,omitempty"`
	// Reset says the sender has a new peer connection to the receiver (its
	// page reloaded): the receiver drops its own, starts a new one and
	// answers with ResetDone before anything else it sends.
	Reset bool `json:"reset,omitempty"`
	// ResetDone answers Reset: every payload after it belongs to the
	// sender's new peer connection.
	ResetDone bool `json:"resetDone,omitempty"`
	// Reoffer asks the receiver, which makes the offers of the pair, for its
	// current offer again: the sender answered a ring on a tab that never
	// got the offer made while it rang (it signed in later). An offerer
	// still waiting for an answer sends the same offer again; any other
	// receiver ignores it.
	Reoffer bool `json:"reoffer,omitempty"`
}

// SessionDescription is an SDP offer or answer.
type SessionDescription struct {
	Type string `json:"type"` // "offer" or "answer"
	SDP  string `json:"sdp"`
}

// Candidate is one trickled ICE candidate.
type Candidate struct {
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
}

// MuteRequest is the payload of TypeCallMute. A nil field is unchanged.
type MuteRequest struct {
	RoomID string `json:"roomId"`
	Audio  *bool  `json:"audio,omitempty"`
	Video  *bool  `json:"video,omitempty"`
}

// MediaRequest is the payload of TypeCallMedia: StatusConnected once this
// participant's peer connections are up, StatusReconnecting while any is down.
type MediaRequest struct {
	RoomID string `json:"roomId"`
	Status string `json:"status"`
}

// CallLogsRequest is the payload of TypeCallLogs; Page is 1-based.
type CallLogsRequest struct {
	Page int `json:"page"`
}

// CallLogPage is the reply to TypeCallLogs.
type CallLogPage struct {
	CallLogs   []CallLog `json:"callLogs"`
	TotalPages int       `json:"totalPages"`
}

// CallLog is one user's record of one call, as in the SDK contract.
type CallLog struct {
	CallLogID      string   `json:"callLogId"`
	RoomID         string   `json:"roomId"`
	RoomLink       string   `json:"roomLink"`
	CallMode       string   `json:"callMode"`
	CallType       string   `json:"callType"`
	CallState      string   `json:"callState"` // outgoing, incoming, missed, declined
	FromUser       string   `json:"fromUser"`
	ToUsers        []string `json:"toUsers"`
	UserList       []string `json:"userList"`
	InviteUserList []string `json:"inviteUserList"`
	GroupID        *string  `json:"groupId"`
	CallTime       int64    `json:"callTime"`
	StartTime      *int64   `json:"startTime"`
	EndTime        int64    `json:"endTime"`
	Duration       int64    `json:"duration"`
}

// Call log states.
const (
	LogOutgoing = "outgoing"
	LogIncoming = "incoming"
	LogMissed   = "missed"
	LogDeclined = "declined"
)

// Call is the server's authoritative state of one call, sent whole on every change.
type Call struct {
	RoomID    string `json:"roomId"`
	Link      string `json:"roomLink"`
	Type      string `json:"callType"`
	Mode      string `json:"callMode"`
	GroupID   string `json:"groupId,omitempty"`
	Initiator string `json:"initiator"`
	State     string `json:"state"`
	CreatedAt int64  `json:"callTime"`
	StartedAt int64  `json:"startTime,omitempty"`
	EndedAt   int64  `json:"endTime,omitempty"`
	// To lists the users the initiator called.
	To []string `json:"toUsers"`
	// Invited lists everyone invited into the call after it started.
	Invited []string `json:"inviteUsers,omitempty"`
	// Meet marks a call created by meet.create: people join it by link, and
	// it ends only when nobody is left (or when nobody used it for an hour).
	Meet bool `json:"meet,omitempty"`
	// Open marks a meet call whose link lets people in without knocking.
	Open bool `json:"open,omitempty"`
	// Participants in the order they were added; the initiator first.
	Participants []Participant `json:"participants"`
	// ScreenSharer is the JID of the joined participant sharing their screen
	// (TypeCallScreen), "" when nobody is.
	ScreenSharer string `json:"screenSharer,omitempty"`
}

// Participant is one user's part in a call.
type Participant struct {
	JID         string `json:"userJid"`
	DisplayName string `json:"displayName"`
	Status      string `json:"status"`
	// JoinOrder numbers the participants in the order they joined (1 for the
	// caller), 0 while they have not. Of two participants, the one with the
	// lower order makes the media offers; a joined participant also offers
	// to one still ringing (a pre-offer the callee applies while it rings and
	// answers with call.answer). Equal orders (a call saved before orders
	// existed) fall back to the JIDs' order.
	JoinOrder  int  `json:"joinOrder,omitempty"`
	AudioMuted bool `json:"audioMuted"`
	VideoMuted bool `json:"videoMuted"`
	Initiator  bool `json:"callInitiator"`
	Invited    bool `json:"invited,omitempty"`
	// InvitedBy is the JID of who invited this participant (set with Invited).
	InvitedBy string `json:"invitedBy,omitempty"`
	// Guest marks a guest (signed in with TypeGuest, no account): clients
	// show it next to the name, so nobody passes as a member by name.
	Guest bool `json:"guest,omitempty"`
}

// Participant returns the participant with jid, or nil.
func (c *Call) Participant(jid string) *Participant {
	for i := range c.Participants {
		if c.Participants[i].JID == jid {
			return &c.Participants[i]
		}
	}
	return nil
}

// Joined reports whether a participant with this status has media set up or
// is setting it up: connecting, connected or reconnecting.
func Joined(status string) bool {
	return status == StatusConnecting || status == StatusConnected || status == StatusReconnecting
}

// Pending reports whether a participant with this status is still being rung.
func Pending(status string) bool {
	return status == StatusCalling || status == StatusRinging
}

// CallEvent is the payload of EventIncoming, EventUpdate and EventMissed.
type CallEvent struct {
	Call Call `json:"call"`
	// Reason explains a missed call (StatusNoAnswer or StatusEnded) or an ended call.
	Reason string `json:"reason,omitempty"`
	// By is the user whose action caused this update, when there is one.
	By string `json:"by,omitempty"`
}

// DismissEvent is the payload of EventDismissed.
type DismissEvent struct {
	RoomID string `json:"roomId"`
	Reason string `json:"reason"`
}
