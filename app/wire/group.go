package wire

import "encoding/json"

// Requests for group calls, invites, the voice-to-video switch, custom data and
// call links.
const (
	// TypeCallInvite rings more users into a running call: InviteRequest -> nothing.
	TypeCallInvite = "call.invite"
	// TypeCallSwitch asks, cancels, accepts or declines turning a 1:1 voice
	// call into a video call: SwitchRequest -> nothing.
	TypeCallSwitch = "call.switch"
	// TypeCallData sends custom data to every other joined participant:
	// DataRequest -> nothing.
	TypeCallData = "call.data"
	// TypeLinkSubscribe previews a call by its link code: LinkRequest -> LinkPreview.
	// The connection then gets EventUsers until it joins or unsubscribes.
	TypeLinkSubscribe = "link.subscribe"
	// TypeLinkJoin joins the subscribed call: LinkRequest -> CallResult.
	TypeLinkJoin = "link.join"
	// TypeLinkUnsubscribe stops the preview: no payload -> nothing.
	TypeLinkUnsubscribe = "link.unsubscribe"
	// TypeMeetCreate creates a call that has a link and nobody rung yet:
	// MeetRequest -> CallResult.
	TypeMeetCreate = "meet.create"
)

// Events for the requests above.
const (
	// EventInvited tells the participants that someone invited users: InviteEvent.
	EventInvited = "call.invited"
	// EventSwitch is a video-switch step from another participant (or the
	// server's "timeout"): SwitchEvent.
	EventSwitch = "call.switch"
	// EventData is custom data from another participant: DataEvent.
	EventData = "call.data"
	// EventUsers is the preview's list of users in a subscribed call; an empty
	// list means the call ended: LinkPreview.
	EventUsers = "link.users"
)

// Video-switch actions.
const (
	SwitchRequest = "request"
	SwitchCancel  = "cancel"
	SwitchAccept  = "accept"
	SwitchDecline = "decline"
	SwitchTimeout = "timeout"
)

// InviteRequest is the payload of TypeCallInvite.
type InviteRequest struct {
	RoomID string   `json:"roomId"`
	To     []string `json:"to"`
}

// InviteEvent is the payload of EventInvited.
type InviteEvent struct {
	RoomID string   `json:"roomId"`
	By     string   `json:"by"`
	Users  []string `json:"users"`
}

// SwitchRequestPayload is the payload of TypeCallSwitch.
type SwitchRequestPayload struct {
	RoomID string `json:"roomId"`
	Action string `json:"action"`
}

// SwitchEvent is the payload of EventSwitch.
type SwitchEvent struct {
	RoomID string `json:"roomId"`
	From   string `json:"from"`
	Action string `json:"action"`
}

// DataRequest is the payload of TypeCallData; Data is any JSON value of at
// most MaxCustomDataBytes.
type DataRequest struct {
	RoomID string          `json:"roomId"`
	Data   json.RawMessage `json:"data"`
}

// DataEvent is the payload of EventData.
type DataEvent struct {
	RoomID string          `json:"roomId"`
	From   string          `json:"from"`
	Data   json.RawMessage `json:"data"`
}

// LinkRequest names a call by its link code (abc-defg-hij). DisplayName, when
// set on TypeLinkSubscribe or TypeLinkJoin by a signed-in user, is their name
// in that call (the SDK's subscribeCall(link, USERNAME)); a guest already has
// the name it was created with (TypeGuest), and the field is ignored.
type LinkRequest struct {
	Link        string `json:"link"`
	DisplayName string `json:"displayName,omitempty"`
}

// LinkPreview is the reply to TypeLinkSubscribe and the payload of EventUsers.
type LinkPreview struct {
	RoomID string        `json:"roomId"`
	Type   string        `json:"callType"`
	Users  []Participant `json:"users"`
}

// MeetRequest is the payload of TypeMeetCreate.
type MeetRequest struct {
	Type string `json:"callType"`
	// Open lets people join by the link without knocking.
	Open bool `json:"open,omitempty"`
}

// ValidLinkCode reports whether s has the link code shape: three groups of
// lowercase letters, 3-4-3, joined by hyphens.
func ValidLinkCode(s string) bool {
	if len(s) != 12 || s[3] != '-' || s[8] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 3 || i == 8 {
			continue
		}
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}
