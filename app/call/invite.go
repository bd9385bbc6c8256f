package call

import (
	"context"
	"strings"

	"parley/app/wire"
)

// InviteUsers rings more users into the current call.
func (e *Engine) InviteUsers(ctx context.Context, userJIDs []string) error {
	room, err := e.joinedRoom()
	if err != nil {
		return err
	}
	if len(userJIDs) == 0 {
		return wire.BadRequest("Give at least one user to invite.")
	}
	for _, j := range userJIDs {
		if strings.TrimSpace(j) == "" {
			return wire.BadRequest("A user JID is empty.")
		}
	}
	return e.send(ctx, wire.TypeCallInvite, wire.InviteRequest{RoomID: room, To: userJIDs}, nil)
}

// joinedRoom is the room of the call this device is in, or 100609.
func (e *Engine) joinedRoom() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == nil {
		return "", wire.Unauthorized("Sign in first.")
	}
	if e.call == nil || e.call.roomID == "" {
		return "", notInCall()
	}
	return e.call.roomID, nil
}
