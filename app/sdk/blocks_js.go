//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"parley/app/call"
)

// blockUser resolves to the new entry {userJid, displayName, blockedAt}.
func (s *sdk) blockUser(ctx context.Context, e *call.Engine, args []js.Value) any {
	jid, ok1 := stringArg(args, 0)
	if !ok1 {
		return badRequest("blockUser takes a user JID.")
	}
	b, err := e.BlockUser(ctx, jid)
	if err != nil {
		return fail(err)
	}
	return ok("User blocked.", b)
}

// getBlockedUsers resolves to an Array of {userJid, displayName, blockedAt}.
func (s *sdk) getBlockedUsers(ctx context.Context, e *call.Engine, _ []js.Value) any {
	list, err := e.GetBlockedUsers(ctx)
	if err != nil {
		return fail(err)
	}
	return ok("Blocked users.", list)
}
