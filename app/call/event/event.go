// Package event is the call engine's vocabulary of events: one type per SDK
// listener, each naming its listener. The engine (package call) emits them in
// order; the JS SDK hands each to the page's listener of that name and the PWA
// switches on the type. It imports neither pion nor syscall/js, so the server
// can link the PWA's screens without the engine.
package event

import "encoding/json"

// Track is a media track as UserTrack hands it out. In the browser it also has
// JSValue() returning the MediaStreamTrack.
type Track interface {
	// Kind is "audio" or "video".
	Kind() string
	// ID identifies the track.
	ID() string
}

// Event is one thing the engine reports, in order, to the function set with
// SetEventSink: a value of one of the payload types in this file. Listener
// names the SDK listener it is delivered to, so the JS SDK maps events to the
// page's callbackListeners by name and the PWA switches on the type; adding a
// listener is adding a type here.
type Event interface {
	// Listener is the SDK listener name, e.g. "callStatusListener".
	Listener() string
}

// Listener names, one per payload type.
func (IncomingCall) Listener() string     { return "incomingCallListener" }
func (MissedCall) Listener() string       { return "missedCallListener" }
func (CallStatus) Listener() string       { return "callStatusListener" }
func (UserTrack) Listener() string        { return "userTrackListener" }
func (MuteStatus) Listener() string       { return "muteStatusListener" }
func (MediaError) Listener() string       { return "mediaErrorListener" }
func (ConnectionStatus) Listener() string { return "connectionListener" }
func (CallSwitch) Listener() string       { return "callSwitchListener" }
func (InviteUsers) Listener() string      { return "inviteUsersListener" }
func (CustomData) Listener() string       { return "customDataListener" }
func (CallUsersUpdate) Listener() string  { return "callUsersUpdateListener" }
func (CallUserJoined) Listener() string   { return "callUserJoinedListener" }
func (CallUserLeft) Listener() string     { return "callUserLeftListener" }
func (Speaking) Listener() string         { return "callSpeakingListener" }
func (CallJoinRequest) Listener() string  { return "callJoinRequestListener" }
func (CallResumed) Listener() string      { return "callResumedListener" }
func (CallQuality) Listener() string      { return "callQualityListener" }
func (ScreenShare) Listener() string      { return "screenShareListener" }

// Listeners lists every listener name, in the SDK contract's order.
func Listeners() []string {
	return []string{
		IncomingCall{}.Listener(), CallStatus{}.Listener(), UserTrack{}.Listener(), MuteStatus{}.Listener(),
		MissedCall{}.Listener(), MediaError{}.Listener(), ConnectionStatus{}.Listener(), CallSwitch{}.Listener(),
		InviteUsers{}.Listener(), CustomData{}.Listener(), CallUsersUpdate{}.Listener(),
		CallUserJoined{}.Listener(), CallUserLeft{}.Listener(), Speaking{}.Listener(),
		CallJoinRequest{}.Listener(), CallResumed{}.Listener(),
		CallQuality{}.Listener(),
		ScreenShare{}.Listener(),
	}
}

// UserStatus is one entry of usersStatus: a participant as the listeners report it.
type UserStatus struct {
	UserJID       string `json:"userJid"`
	DisplayName   string `json:"displayName"`
	Status        string `json:"status"`
	AudioMuted    bool   `json:"audioMuted"`
	VideoMuted    bool   `json:"videoMuted"`
	CallInitiator bool   `json:"callInitiator"`
	// Guest marks a guest (no account): show it with the name.
	Guest bool `json:"guest"`
}

// UserDetails is the caller's details in an incoming call.
type UserDetails struct {
	DisplayName string `json:"displayName"`
	Guest       bool   `json:"guest"`
}

// IncomingCall is the payload of incomingCallListener; MissedCall has the same
// fields.
type IncomingCall struct {
	AllUsers    []string     `json:"allUsers"`
	CallMode    string       `json:"callMode"`
	CallTime    int64        `json:"callTime"`
	CallType    string       `json:"callType"`
	From        string       `json:"from"`
	To          string       `json:"to"`
	GroupID     *string      `json:"groupId"`
	LocalUser   bool         `json:"localUser"`
	RoomID      string       `json:"roomId"`
	RoomLink    string       `json:"roomLink"`
	Status      string       `json:"status"`
	ToUsers     []string     `json:"toUsers"`
	UserDetails UserDetails  `json:"userDetails"`
	UserJID     string       `json:"userJid"`
	UsersStatus []UserStatus `json:"usersStatus"`
}

// MissedCall is the payload of missedCallListener: the incoming call, with
// Status "noanswer" or "ended".
type MissedCall IncomingCall

// CallStatus is the payload of callStatusListener. SessionStatus is "closed"
// when the call is over for everyone. Reason says why a ringing call stopped on
// this device ("answered_elsewhere", "declined_elsewhere", "canceled").
type CallStatus struct {
	Status        string       `json:"status"`
	UserJID       string       `json:"userJid"`
	LocalUser     bool         `json:"localUser"`
	SessionStatus *string      `json:"sessionStatus"`
	UsersStatus   []UserStatus `json:"usersStatus"`
	RoomID        string       `json:"roomId"`
	Reason        string       `json:"reason,omitempty"`
	// ScreenSharer is the JID of who shares their screen in the call, ""
	// when nobody does.
	ScreenSharer string `json:"screenSharer"`
}

// Closed reports whether the call is over for everyone (SessionStatus "closed").
func (c CallStatus) Closed() bool { return c.SessionStatus != nil && *c.SessionStatus == "closed" }

// UserTrack is the payload of userTrackListener. Track is nil when the track is
// gone; in the browser it holds a MediaStreamTrack (see package rtc).
type UserTrack struct {
	LocalUser   bool         `json:"localUser"`
	Track       Track        `json:"-"`
	TrackType   string       `json:"trackType"`
	UserJID     string       `json:"userJid"`
	UsersStatus []UserStatus `json:"usersStatus"`
}

// MuteStatus is the payload of muteStatusListener.
type MuteStatus struct {
	UserJID     string       `json:"userJid"`
	LocalUser   bool         `json:"localUser"`
	TrackType   string       `json:"trackType"`
	IsMuted     bool         `json:"isMuted"`
	UsersStatus []UserStatus `json:"usersStatus"`
}

// MediaError is the payload of mediaErrorListener.
type MediaError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Device     string `json:"device"` // "mic", "camera" or "mic & camera"
	Action     string `json:"action"` // what the user was doing: "makeVoiceCall", "answerCall", ...
}

// ConnectionStatus is the payload of connectionListener.
type ConnectionStatus struct {
	Status string `json:"status"` // CONNECTED, DISCONNECTED, RECONNECTING, AUTHFAIL
	// Reason says why an AUTHFAIL came without a sign-in attempt:
	// ReasonRevoked when another session signed this one out.
	Reason string `json:"reason,omitempty"`
}

// ReasonRevoked is the ConnectionStatus.Reason of a session signed out from
// another session (the server closed with wire.CloseRevoked).
const ReasonRevoked = "revoked"

// Connection statuses.
const (
	Connected    = "CONNECTED"
	Disconnected = "DISCONNECTED"
	Reconnecting = "RECONNECTING"
	AuthFail     = "AUTHFAIL"
)

// CallSwitch is the payload of callSwitchListener.
type CallSwitch struct {
	UserJID   string `json:"userJid"`
	LocalUser bool   `json:"localUser"`
	Status    string `json:"status"` // request, accept, decline, cancel, timeout
}

// InviteUsers is the payload of inviteUsersListener.
type InviteUsers struct {
	UserJID     string       `json:"userJid"`
	InviteUsers []string     `json:"inviteUsers"`
	RoomID      string       `json:"roomId"`
	UsersStatus []UserStatus `json:"usersStatus"`
}

// CustomData is custom data another participant sent (customDataListener,
// which the SDK calls with Data and From as two arguments).
type CustomData struct {
	Data json.RawMessage
	From CustomDataFrom
}

// CustomDataFrom is the second argument of customDataListener.
type CustomDataFrom struct {
	UserJID string `json:"userJid"`
}

// CallUser is one entry of callUsersUpdateListener's usersList.
type CallUser struct {
	UserJID     string `json:"userJid"`
	DisplayName string `json:"displayName"`
	Status      string `json:"status"`
	Guest       bool   `json:"guest"`
}

// CallUsersUpdate is the payload of callUsersUpdateListener; an empty list means
// the call ended.
type CallUsersUpdate struct {
	UsersList []CallUser `json:"usersList"`
	RoomID    string     `json:"roomId"`
}

// CallUserEvent is a participant who joined or left: the payload of
// callUserJoinedListener (as CallUserJoined) and callUserLeftListener (as
// CallUserLeft).
type CallUserEvent struct {
	UserJID     string `json:"userJid"`
	LocalUser   bool   `json:"localUser"`
	DisplayName string `json:"displayName"`
	Guest       bool   `json:"guest"`
}

// CallUserJoined is the payload of callUserJoinedListener.
type CallUserJoined CallUserEvent

// CallUserLeft is the payload of callUserLeftListener.
type CallUserLeft CallUserEvent

// Speaking is the payload of callSpeakingListener.
type Speaking struct {
	UserJID     string `json:"userJid"`
	LocalUser   bool   `json:"localUser"`
	IsSpeaking  bool   `json:"isSpeaking"`
	VolumeLevel int    `json:"volumeLevel"` // 0-10
}

// CallJoinRequest is the payload of callJoinRequestListener: someone asks
// to join the call you are in by its link (Status "waiting"; admit them
// with AdmitUser or refuse with DenyUser), or such a request ended (Status
// "admitted", "denied", "timeout", "canceled" or "ended"; By is who
// decided, when someone did). With LocalUser it is your own joinCall
// waiting to be let in, then how that ended.
type CallJoinRequest struct {
	RequestID   string `json:"requestId"`
	RoomID      string `json:"roomId"`
	UserJID     string `json:"userJid"`
	DisplayName string `json:"displayName"`
	Guest       bool   `json:"guest"`
	Status      string `json:"status"`
	By          string `json:"by,omitempty"`
	// LocalUser marks this device's own request (joinCall waiting, then
	// its outcome) rather than someone asking to join your call.
	LocalUser bool `json:"localUser"`
}

// CallResumed is the payload of callResumedListener: this page signed in
// again into a session that is still joined in a call (the page was reloaded
// during it), and the engine took the call back up: devices reopened with the
// saved mute state, new peer connections to every other participant. The
// call's statuses, tracks and mutes then follow on the other listeners as for
// any call; endCall leaves it.
type CallResumed struct {
	RoomID      string       `json:"roomId"`
	RoomLink    string       `json:"roomLink"`
	CallType    string       `json:"callType"` // "audio" or "video"
	CallMode    string       `json:"callMode"` // "onetoone" or "onetomany"
	AudioMuted  bool         `json:"audioMuted"`
	VideoMuted  bool         `json:"videoMuted"`
	UsersStatus []UserStatus `json:"usersStatus"`
}

// Join request statuses (CallJoinRequest.Status).
const (
	JoinWaiting = "waiting"
)

// Line quality levels (CallQuality.Quality).
const (
	QualityGood = "good"
	QualityFair = "fair"
	QualityPoor = "poor"
)

// CallQuality is the payload of callQualityListener: how good the line to
// one other participant is, from the browser's statistics of the peer
// connection to them, sampled every 2 s. It is delivered when Quality
// changes, and otherwise at most every 10 s with fresh numbers.
type CallQuality struct {
	UserJID string `json:"userJid"`
	RoomID  string `json:"roomId"`
	// Quality is QualityGood, QualityFair or QualityPoor.
	Quality string `json:"quality"`
	// RTT is the round-trip time in milliseconds (-1: not known yet).
	RTT float64 `json:"rtt"`
	// Loss is the fraction (0 to 1) of packets lost over the last sample,
	// the worse of what we receive from them and what they receive from us.
	Loss float64 `json:"loss"`
	// Jitter is the jitter of their audio in milliseconds.
	Jitter float64 `json:"jitter"`
	// Width, Height and FPS describe their video as received (0: none).
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
	// SentScale is how much the video we send them is scaled down (1: full
	// size; 2 in a call of four or more; 2 and 4 while the line is weak),
	// SentWidth and SentHeight its frame size as sent.
	SentScale  float64 `json:"sentScale"`
	SentWidth  int     `json:"sentWidth"`
	SentHeight int     `json:"sentHeight"`
	// SentScaleReason says why SentScale is over 1: SentScaleLine (the line
	// to them is weak) or SentScaleCallSize (the call has four or more
	// people, and every video in it is sent at half size); empty at full
	// size.
	SentScaleReason string `json:"sentScaleReason"`
}

// Reasons for a CallQuality's SentScale.
const (
	SentScaleLine     = "line"
	SentScaleCallSize = "callSize"
)

// ScreenShare is the payload of screenShareListener: UserJID started
// (Sharing) or stopped sharing their screen. One participant shares at a
// time: a share that replaced another has Replacing, the replaced one's end
// has Replaced and ReplacedBy. A participant who joins a call while someone
// shares gets Sharing for them.
type ScreenShare struct {
	RoomID    string `json:"roomId"`
	UserJID   string `json:"userJid"`
	LocalUser bool   `json:"localUser"`
	Sharing   bool   `json:"sharing"`
	// Replaced: this share ended because ReplacedBy started one.
	Replaced   bool   `json:"replaced"`
	ReplacedBy string `json:"replacedBy,omitempty"`
	// Replacing is whose share this one replaced.
	Replacing string `json:"replacing,omitempty"`
}
