package wire

// Sign-in sessions: a user lists where their account is signed in and signs
// other devices out. A session here is one token (one sign-in by register,
// login or guest); several tabs that signed in with the same token share it.

// Request types of the session list.
const (
	// TypeSessionList lists the account's sessions; result SessionList.
	TypeSessionList = "session.list"
	// TypeSessionRevoke signs out one session (SessionRevokeRequest); result
	// SessionRevokeResult.
	TypeSessionRevoke = "session.revoke"
	// TypeSessionRevokeOthers signs out every session but the caller's;
	// result SessionRevokeResult.
	TypeSessionRevokeOthers = "session.revokeOthers"
)

// CloseRevoked is the close code of a connection whose session was signed
// out from another session (session.revoke or session.revokeOthers), or that
// expired: show the sign-in screen and do not reconnect.
const CloseRevoked = 4015

// EventClosing is a notice the server sends right before it closes a
// connection with an application close code such as CloseRevoked. It has no
// seq and no id, and is not an event of the session: it exists because some
// WebSocket clients cannot read the close code (coder/websocket in the
// browser reports a server's close as net.ErrClosed). Conn reads it and
// reports its code to onClose when the transport gave none.
const EventClosing = "closing"

// ClosingNotice is the payload of EventClosing.
type ClosingNotice struct {
	Code   int    `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// MaxSessionIDLen bounds the sessionId of a session.revoke request.
const MaxSessionIDLen = 64

// SessionInfo is one entry of a SessionList.
type SessionInfo struct {
	// SessionID is opaque and stable; it is not the token.
	SessionID string `json:"sessionId"`
	// Device is a label derived from the browser's User-Agent when the
	// session was created, e.g. "Chromium on Linux"; "" when unknown.
	Device string `json:"device"`
	// CreatedAt and LastActiveAt are Unix milliseconds. LastActiveAt is when
	// the session last signed in or was seen online (accurate to an hour).
	CreatedAt    int64 `json:"createdAt"`
	LastActiveAt int64 `json:"lastActiveAt"`
	// Current marks the session of the connection that asked.
	Current bool `json:"current"`
	// Online: some tab of this session is connected now.
	Online bool `json:"online"`
}

// SessionList is the result of TypeSessionList: the current session first,
// then the others, most recently active first.
type SessionList struct {
	Sessions []SessionInfo `json:"sessions"`
}

// SessionRevokeRequest is the payload of TypeSessionRevoke.
type SessionRevokeRequest struct {
	SessionID string `json:"sessionId"`
}

// SessionRevokeResult is the result of TypeSessionRevoke and
// TypeSessionRevokeOthers: how many sessions were signed out.
type SessionRevokeResult struct {
	Revoked int `json:"revoked"`
}
