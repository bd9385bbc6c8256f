package call

import (
	"context"
	"strings"

	"parley/app/wire"
)

// BlockUser blocks the user userJID (a JID or bare username): their calls and
// invites find you engaged, and you are not rung. Blocking someone already
// blocked returns the existing entry.
func (e *Engine) BlockUser(ctx context.Context, userJID string) (wire.BlockedUser, error) {
	if strings.TrimSpace(userJID) == "" {
		return wire.BlockedUser{}, wire.BadRequest("Give the user to block.")
	}
	var res wire.BlockedUser
	if err := e.send(ctx, wire.TypeBlockAdd, wire.BlockRequest{JID: userJID}, &res); err != nil {
		return wire.BlockedUser{}, err
	}
	return res, nil
}

// UnblockUser unblocks the user userJID; unblocking someone who is not
// blocked succeeds and changes nothing.
func (e *Engine) UnblockUser(ctx context.Context, userJID string) error {
	if strings.TrimSpace(userJID) == "" {
		return wire.BadRequest("Give the user to unblock.")
	}
	return e.send(ctx, wire.TypeBlockRemove, wire.BlockRequest{JID: userJID}, nil)
}

// GetBlockedUsers returns the users you blocked, most recently blocked first
// (an empty list, never nil).
func (e *Engine) GetBlockedUsers(ctx context.Context) ([]wire.BlockedUser, error) {
	var res wire.BlockList
	if err := e.send(ctx, wire.TypeBlockList, nil, &res); err != nil {
		return nil, err
	}
	if res.Users == nil {
		res.Users = []wire.BlockedUser{}
	}
	return res.Users, nil
}
