package wire

// Web Push: a signed-in device registers its push subscription so the
// server can ring it while no tab of the app is open. See PROTOCOL.md,
// "Ringing a closed app (Web Push)".

// Request types of Web Push.
const (
	// TypePushKey asks for the server's VAPID public key; result PushKey.
	// 404 when push is turned off on the server.
	TypePushKey = "push.key"
	// TypePushRegister registers this session's device for push
	// (PushSubscriptionJSON); no result data. It replaces the session's
	// earlier subscription.
	TypePushRegister = "push.register"
	// TypePushUnregister removes this session's subscription; result
	// PushUnregisterResult.
	TypePushUnregister = "push.unregister"
	// TypeTabVisibility reports whether this tab's page is hidden
	// (TabVisibilityRequest); no result data. With the server's
	// -push-when-hidden, a user whose online tabs are all hidden is rung by
	// push as well.
	TypeTabVisibility = "tab.visibility"
)

// TabVisibilityRequest is the payload of TypeTabVisibility.
type TabVisibilityRequest struct {
	Hidden bool `json:"hidden"`
}

// PushKey is the result of TypePushKey.
type PushKey struct {
	// PublicKey is the VAPID public key, base64url: pass it as the
	// applicationServerKey of pushManager.subscribe.
	PublicKey string `json:"publicKey"`
}

// PushSubscriptionJSON is the payload of TypePushRegister: what the
// browser's PushSubscription.toJSON() returns (expirationTime is ignored).
type PushSubscriptionJSON struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		// P256dh is the device's P-256 public key and Auth its 16-byte
		// secret, both base64url.
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// PushUnregisterResult is the result of TypePushUnregister.
type PushUnregisterResult struct {
	// Removed is false when the session had no subscription.
	Removed bool `json:"removed"`
}

// MaxPushEndpointLen bounds the endpoint URL of a push subscription.
const MaxPushEndpointLen = 1024

// Kinds of PushMessage.
const (
	// PushRing: a call rings this user; show it until acted on.
	PushRing = "parley.ring"
	// PushStop: the call stopped ringing this user (Reason says why):
	// close its notification; for PushReasonMissed show a missed call.
	PushStop = "parley.stop"
)

// Reasons of a PushStop message.
const (
	PushReasonMissed    = "missed"    // nobody answered in time
	PushReasonAnswered  = "answered"  // answered on another device or tab
	PushReasonDeclined  = "declined"  // declined on some device or tab
	PushReasonCancelled = "cancelled" // the caller gave up, or the call ended
)

// PushMessage is the JSON payload of every push message the server sends
// (decrypted by the browser, handed to the service worker's push event).
type PushMessage struct {
	Type     string `json:"type"` // PushRing or PushStop
	RoomID   string `json:"roomId"`
	CallType string `json:"callType"` // TypeAudio or TypeVideo
	// From is the caller's JID and FromName their display name.
	From     string `json:"from"`
	FromName string `json:"fromName"`
	// Title and Body are ready to show, e.g. "Alice is calling (video)";
	// for a PushStop they are set only when something should be shown (a
	// missed call).
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	// Reason is set on PushStop.
	Reason string `json:"reason,omitempty"`
	// SentAt is Unix milliseconds.
	SentAt int64 `json:"sentAt"`
}
