//go:build js && wasm

package ui

import (
	"context"
	"encoding/json"

	"parley/app/call"
	"parley/app/call/event"
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
	c.Engine.SetEventSink(func(ev event.Event) {
		switch p := ev.(type) {
		case event.IncomingCall:
			sink(Event{Kind: EventIncoming, UserJID: p.UserJID, Status: p.Status, RoomID: p.RoomID,
				CallType: p.CallType, DisplayName: p.UserDetails.DisplayName})
		case event.MissedCall:
			sink(Event{Kind: EventMissed, UserJID: p.UserJID, Status: p.Status, RoomID: p.RoomID,
				CallType: p.CallType, DisplayName: p.UserDetails.DisplayName})
		case event.CallStatus:
			sink(Event{Kind: EventStatus, UserJID: p.UserJID, LocalUser: p.LocalUser, Status: p.Status,
				Reason: p.Reason, RoomID: p.RoomID, Closed: p.SessionStatus != nil && *p.SessionStatus == "closed"})
		case event.UserTrack:
			ev := Event{Kind: EventTrack, UserJID: p.UserJID, LocalUser: p.LocalUser, TrackType: p.TrackType}
			if p.Track != nil {
				ev.Track = p.Track
			}
			sink(ev)
		case event.MuteStatus:
			sink(Event{Kind: EventMute, UserJID: p.UserJID, LocalUser: p.LocalUser, TrackType: p.TrackType, Muted: p.IsMuted})
		case event.MediaError:
			sink(Event{Kind: EventMediaError, Code: p.StatusCode, Message: p.Message, Device: p.Device})
		case event.ConnectionStatus:
			sink(Event{Kind: EventConnection, Status: p.Status})
		case event.CallUsersUpdate:
			users := make([]CallUser, 0, len(p.UsersList))
			for _, u := range p.UsersList {
				users = append(users, CallUser{JID: u.UserJID, Name: u.DisplayName, Status: u.Status})
			}
			sink(Event{Kind: EventUsers, RoomID: p.RoomID, Users: users})
		case event.CallUserJoined:
			sink(Event{Kind: EventUserJoined, UserJID: p.UserJID, LocalUser: p.LocalUser, DisplayName: p.DisplayName})
		case event.CallUserLeft:
			sink(Event{Kind: EventUserLeft, UserJID: p.UserJID, LocalUser: p.LocalUser, DisplayName: p.DisplayName})
		case event.CallSwitch:
			sink(Event{Kind: EventSwitch, UserJID: p.UserJID, LocalUser: p.LocalUser, Status: p.Status})
		case event.InviteUsers:
			sink(Event{Kind: EventInvite, UserJID: p.UserJID, RoomID: p.RoomID, Invited: append([]string(nil), p.InviteUsers...)})
		case event.CustomData:
			sink(Event{Kind: EventData, UserJID: p.From.UserJID, Data: append(json.RawMessage(nil), p.Data...)})
		case event.Speaking:
			sink(Event{Kind: EventSpeaking, UserJID: p.UserJID, LocalUser: p.LocalUser, Speaking: p.IsSpeaking, Level: p.VolumeLevel})
		}
	})
}
