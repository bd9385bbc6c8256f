//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"syscall/js"

	"parley/app/call"
	"parley/app/wire"
)

// getPushPublicKey resolves with data {publicKey}: the server's VAPID key,
// the applicationServerKey for pushManager.subscribe.
func (s *sdk) getPushPublicKey(ctx context.Context, e *call.Engine, _ []js.Value) any {
	key, err := e.PushPublicKey(ctx)
	if err != nil {
		return fail(err)
	}
	return ok("The server's Web Push key.", map[string]string{"publicKey": key})
}

// registerPushSubscription takes a PushSubscription, its toJSON() or that as
// a JSON string, and registers it for this session. data is the message to
// post to the service worker that imports parley-push-sw.js, so it can
// decline calls: {type: "parley.push.session", server, token}.
func (s *sdk) registerPushSubscription(ctx context.Context, e *call.Engine, args []js.Value) any {
	const usage = "registerPushSubscription takes a PushSubscription or its toJSON(): {endpoint, keys: {p256dh, auth}}."
	v := arg(args, 0)
	var text string
	switch v.Type() {
	case js.TypeString:
		text = v.String()
	case js.TypeObject:
		str, jsErr := stringify(v) // a PushSubscription stringifies through its toJSON()
		if jsErr != nil || str.Type() != js.TypeString {
			return badRequest("%s", usage)
		}
		text = str.String()
	default:
		return badRequest("%s", usage)
	}
	var sub wire.PushSubscriptionJSON
	if len(text) > 4*wire.MaxPushEndpointLen || json.Unmarshal([]byte(text), &sub) != nil {
		return badRequest("%s", usage)
	}
	if err := e.RegisterPush(ctx, sub); err != nil {
		return fail(err)
	}
	return ok("This device now rings when the app is closed.", e.PushSession())
}

// unregisterPushSubscription removes this session's subscription; data is
// {removed}.
func (s *sdk) unregisterPushSubscription(ctx context.Context, e *call.Engine, _ []js.Value) any {
	removed, err := e.UnregisterPush(ctx)
	if err != nil {
		return fail(err)
	}
	return ok("This device no longer rings when the app is closed.", map[string]bool{"removed": removed})
}
