//go:build js && wasm

package main

import (
	"context"
	"strconv"
	"syscall/js"

	"parley/app/call"
)

// getSessions resolves to the Array of the account's sessions:
// {sessionId, device, createdAt, lastActiveAt, current, online}, this one
// first.
func (s *sdk) getSessions(ctx context.Context, e *call.Engine, _ []js.Value) any {
	list, err := e.GetSessions(ctx)
	if err != nil {
		return fail(err)
	}
	return ok("Sessions.", list)
}

// logoutOtherSessions signs out every other session; data is {revoked}.
func (s *sdk) logoutOtherSessions(ctx context.Context, e *call.Engine, _ []js.Value) any {
	n, err := e.LogoutOtherSessions(ctx)
	if err != nil {
		return fail(err)
	}
	return ok("Signed out of "+strconv.Itoa(n)+" other sessions.", map[string]int{"revoked": n})
}
