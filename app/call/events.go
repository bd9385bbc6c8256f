package call

import (
	"encoding/json"

	"parley/app/wire"
)

// Error is the error every Engine method returns for an API failure: Code is the
// SDK statusCode (400, 401, 403, 404, 409, 500 or a 1006xx call code) and Message
// a sentence for people.
type Error = wire.Error

// UserStatus is one entry of usersStatus: a participant as the listeners report it.
type UserStatus struct {
	UserJID       string `json:"userJid"`
	DisplayName   string `json:"displayName"`
	Status        string `json:"status"`
	AudioMuted    bool   `json:"audioMuted"`
	VideoMuted    bool   `json:"videoMuted"`
	CallInitiator bool   `json:"callInitiator"`
}

// UserDetails is the caller's details in an incoming call.
type UserDetails struct {
	DisplayName string `json:"displayName"`
}

// IncomingCall is the payload of incomingCallListener and missedCallListener.
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
}

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
}

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

// CustomDataFrom is the second argument of customDataListener.
type CustomDataFrom struct {
	UserJID string `json:"userJid"`
}

// CallUser is one entry of callUsersUpdateListener's usersList.
type CallUser struct {
	UserJID     string `json:"userJid"`
	DisplayName string `json:"displayName"`
	Status      string `json:"status"`
}

// CallUsersUpdate is the payload of callUsersUpdateListener; an empty list means
// the call ended.
type CallUsersUpdate struct {
	UsersList []CallUser `json:"usersList"`
	RoomID    string     `json:"roomId"`
}

// CallUserEvent is the payload of callUserJoinedListener and callUserLeftListener.
type CallUserEvent struct {
	UserJID     string `json:"userJid"`
	LocalUser   bool   `json:"localUser"`
	DisplayName string `json:"displayName"`
}

// Speaking is the payload of callSpeakingListener.
type Speaking struct {
	UserJID     string `json:"userJid"`
	LocalUser   bool   `json:"localUser"`
	IsSpeaking  bool   `json:"isSpeaking"`
	VolumeLevel int    `json:"volumeLevel"` // 0-10
}

// Listeners are the engine's callbacks, one per SDK listener. A nil listener is
// skipped. Listeners run on the engine's event goroutine, one at a time and in
// order; they must not block for long.
type Listeners struct {
	IncomingCall    func(IncomingCall)
	CallStatus      func(CallStatus)
	UserTrack       func(UserTrack)
	MuteStatus      func(MuteStatus)
	MissedCall      func(IncomingCall)
	MediaError      func(MediaError)
	Connection      func(ConnectionStatus)
	CallSwitch      func(CallSwitch)
	InviteUsers     func(InviteUsers)
	CustomData      func(data json.RawMessage, from CustomDataFrom)
	CallUsersUpdate func(CallUsersUpdate)
	CallUserJoined  func(CallUserEvent)
	CallUserLeft    func(CallUserEvent)
	CallSpeaking    func(Speaking)
}

// CallRef is what makeVoiceCall and makeVideoCall return.
type CallRef struct {
	RoomID   string `json:"roomId"`
	RoomLink string `json:"roomLink"`
}
