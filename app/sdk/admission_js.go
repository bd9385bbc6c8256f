//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"parley/app/call"
)

// admitUser lets in the user (a JID) who asked to join the call by its link
// (callJoinRequestListener).
func (s *sdk) admitUser(ctx context.Context, e *call.Engine, args []js.Value) any {
	jid, ok := stringArg(args, 0)
	if !ok {
		return badRequest("admitUser takes the userJid of who asked to join.")
	}
	return result(e.AdmitUser(ctx, jid), "Let in.")
}

// denyUser refuses the user (a JID) who asked to join the call by its link.
func (s *sdk) denyUser(ctx context.Context, e *call.Engine, args []js.Value) any {
	jid, ok := stringArg(args, 0)
	if !ok {
		return badRequest("denyUser takes the userJid of who asked to join.")
	}
	return result(e.DenyUser(ctx, jid), "Not let in.")
}
