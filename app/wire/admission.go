package wire

// Admission: who may join a call by its link. A one-to-one call's link works
// only once a participant shares it (TypeCallShare); group and meet calls
// are shareable from the start. Joining by link knocks: the call's signed-in
// (non-guest) joined participants get EventKnock and one of them admits
// (TypeCallAdmit) or denies (TypeCallDeny); the joiner learns the outcome
// from EventAdmission. An open meet link (MeetRequest.Open) lets people in
// without a knock.

// Admission error codes: a call engine rejects joinCall with them when its
// knock ends without being let in (the server never sends them).
const (
	// CodeNotAdmitted: a member denied the knock, or the joiner stopped waiting.
	CodeNotAdmitted = 100610
	// CodeKnockTimeout: nobody let the joiner in within the knock timeout.
	CodeKnockTimeout = 100611
	// ReasonNotAdmitted goes with CodeNotAdmitted.
	ReasonNotAdmitted = "not_admitted"
	// ReasonKnockTimeout goes with CodeKnockTimeout.
	ReasonKnockTimeout = "knock_timeout"
)

// Admission requests.
const (
	// TypeCallShare makes the link of a one-to-one call joinable (by knocking)
	// and returns it: RoomRequest -> ShareResult.
	TypeCallShare = "call.share"
	// TypeCallAdmit lets a knocking user into the call: AdmitRequest -> nothing.
	TypeCallAdmit = "call.admit"
	// TypeCallDeny refuses a knocking user: AdmitRequest -> nothing.
	TypeCallDeny = "call.deny"
)

// Admission events.
const (
	// EventKnock asks the joined members of a call to admit or deny someone
	// joining by link: KnockEvent.
	EventKnock = "call.knock"
	// EventKnockResolved tells the members that a knock was answered, timed
	// out or withdrawn: KnockResolvedEvent.
	EventKnockResolved = "call.knock.resolved"
	// EventAdmission tells a knocking tab how its knock ended: AdmissionEvent.
	EventAdmission = "link.admission"
)

// Knock outcomes (KnockResolvedEvent.Outcome and AdmissionEvent.Outcome).
const (
	KnockAdmitted = "admitted" // a member let them in
	KnockDenied   = "denied"   // a member refused them
	KnockTimeout  = "timeout"  // nobody answered within the knock timeout
	KnockCanceled = "canceled" // the joiner gave up (link.unsubscribe, sign-out)
	KnockEnded    = "ended"    // the call ended while they waited
)

// ShareResult is the reply to TypeCallShare.
type ShareResult struct {
	// Link is the call's link code (abc-defg-hij).
	Link string `json:"roomLink"`
}

// AdmitRequest is the payload of TypeCallAdmit and TypeCallDeny: the user
// knocking on call RoomID.
type AdmitRequest struct {
	RoomID  string `json:"roomId"`
	UserJID string `json:"userJid"`
}

// LinkJoinResult is the reply to TypeLinkJoin. Either Call is set (joined at
// once: an open meet link, the meet's creator, or someone already rung by
// the call), or Waiting is true and RequestID names the knock whose outcome
// arrives as EventAdmission.
type LinkJoinResult struct {
	Call      *Call  `json:"call,omitempty"`
	Waiting   bool   `json:"waiting,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	RoomID    string `json:"roomId,omitempty"`
}

// KnockEvent is the payload of EventKnock.
type KnockEvent struct {
	RoomID      string `json:"roomId"`
	RequestID   string `json:"requestId"`
	UserJID     string `json:"userJid"`
	DisplayName string `json:"displayName"`
	Guest       bool   `json:"guest"`
}

// KnockResolvedEvent is the payload of EventKnockResolved.
type KnockResolvedEvent struct {
	RoomID    string `json:"roomId"`
	RequestID string `json:"requestId"`
	UserJID   string `json:"userJid"`
	Outcome   string `json:"outcome"`
	// By is the member who admitted or denied, when one did.
	By string `json:"by,omitempty"`
}

// AdmissionEvent is the payload of EventAdmission. Call is the call's
// state when Outcome is KnockAdmitted.
type AdmissionEvent struct {
	RoomID    string `json:"roomId"`
	RequestID string `json:"requestId"`
	Outcome   string `json:"outcome"`
	Call      *Call  `json:"call,omitempty"`
}
