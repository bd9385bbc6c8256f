//go:build js && wasm

package ui

import (
	"context"
	"encoding/json"

	"parley/app/call"
)

// NewCallEngine adapts the page's call engine to the Engine the screens use.
func NewCallEngine(e *call.Engine) Engine { return callEngine{e} }

type callEngine struct{ *call.Engine }

func (c callEngine) MakeCall(ctx context.Context, video bool, userJIDs []string, groupID string) error {
	var err error
	if video {
		_, err = c.MakeVideoCall(ctx, userJIDs, groupID)
	} else {
		_, err = c.MakeVoiceCall(ctx, userJIDs, groupID)
	}
	return err
}

func (c callEngine) CreateMeetLink(ctx context.Context, video bool) (string, error) {
	_, link, err := c.Engine.CreateMeetLink(ctx, video)
	return link, err
}

func (c callEngine) SetEventSink(sink func(Event)) {
	incoming := func(kind EventKind, p call.IncomingCall) {
		sink(Event{Kind: kind, UserJID: p.UserJID, Status: p.Status, RoomID: p.RoomID,
			CallType: p.CallType, DisplayName: p.UserDetails.DisplayName})
	}
	c.SetListeners(call.Listeners{
		IncomingCall: func(p call.IncomingCall) { incoming(EventIncoming, p) },
		MissedCall:   func(p call.IncomingCall) { incoming(EventMissed, p) },
		CallStatus: func(p call.CallStatus) {
			sink(Event{Kind: EventStatus, UserJID: p.UserJID, LocalUser: p.LocalUser, Status: p.Status,
				Reason: p.Reason, RoomID: p.RoomID, Closed: p.SessionStatus != nil && *p.SessionStatus == "closed"})
		},
		UserTrack: func(p call.UserTrack) {
			ev := Event{Kind: EventTrack, UserJID: p.UserJID, LocalUser: p.LocalUser, TrackType: p.TrackType}
			if p.Track != nil {
				ev.Track = p.Track
			}
			sink(ev)
		},
		MuteStatus: func(p call.MuteStatus) {
			sink(Event{Kind: EventMute, UserJID: p.UserJID, LocalUser: p.LocalUser, TrackType: p.TrackType, Muted: p.IsMuted})
		},
		MediaError: func(p call.MediaError) {
			sink(Event{Kind: EventMediaError, Code: p.StatusCode, Message: p.Message, Device: p.Device})
		},
		Connection: func(p call.ConnectionStatus) {
			sink(Event{Kind: EventConnection, Status: p.Status})
		},
		CallUsersUpdate: func(p call.CallUsersUpdate) {
			users := make([]CallUser, 0, len(p.UsersList))
			for _, u := range p.UsersList {
				users = append(users, CallUser{JID: u.UserJID, Name: u.DisplayName, Status: u.Status})
			}
			sink(Event{Kind: EventUsers, RoomID: p.RoomID, Users: users})
		},
		CallUserJoined: func(p call.CallUserEvent) {
			sink(Event{Kind: EventUserJoined, UserJID: p.UserJID, LocalUser: p.LocalUser, DisplayName: p.DisplayName})
		},
		CallUserLeft: func(p call.CallUserEvent) {
			sink(Event{Kind: EventUserLeft, UserJID: p.UserJID, LocalUser: p.LocalUser, DisplayName: p.DisplayName})
		},
		CallSwitch: func(p call.CallSwitch) {
			sink(Event{Kind: EventSwitch, UserJID: p.UserJID, LocalUser: p.LocalUser, Status: p.Status})
		},
		InviteUsers: func(p call.InviteUsers) {
			sink(Event{Kind: EventInvite, UserJID: p.UserJID, RoomID: p.RoomID, Invited: append([]string(nil), p.InviteUsers...)})
		},
		CustomData: func(data json.RawMessage, from call.CustomDataFrom) {
			sink(Event{Kind: EventData, UserJID: from.UserJID, Data: append(json.RawMessage(nil), data...)})
		},
		CallSpeaking: func(p call.Speaking) {
			sink(Event{Kind: EventSpeaking, UserJID: p.UserJID, LocalUser: p.LocalUser, Speaking: p.IsSpeaking, Level: p.VolumeLevel})
		},
	})
}
