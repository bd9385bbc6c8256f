package call

import (
	"context"
	"strings"

	"parley/app/wire"
)

// PushPublicKey returns the server's VAPID public key (base64url), the
// applicationServerKey to subscribe to Web Push with. 404 when the server
// has push turned off.
func (e *Engine) PushPublicKey(ctx context.Context) (string, error) {
	var res wire.PushKey
	if err := e.send(ctx, wire.TypePushKey, nil, &res); err != nil {
		return "", err
	}
	return res.PublicKey, nil
}

// RegisterPush registers this device's push subscription (what
// PushSubscription.toJSON() gives) for the signed-in session, replacing the
// session's earlier one: calls then ring this device while no tab is open.
// The subscription is forgotten when the session signs out or is revoked.
// Errors: 400 for a malformed subscription, 403 for guests, 404 when the
// server has push turned off.
func (e *Engine) RegisterPush(ctx context.Context, sub wire.PushSubscriptionJSON) error {
	if sub.Endpoint == "" || sub.Keys.P256dh == "" || sub.Keys.Auth == "" {
		return wire.BadRequest("A push subscription has an endpoint and keys {p256dh, auth} (PushSubscription.toJSON()).")
	}
	return e.send(ctx, wire.TypePushRegister, sub, nil)
}

// UnregisterPush removes this session's push subscription and reports
// whether there was one.
func (e *Engine) UnregisterPush(ctx context.Context) (bool, error) {
	var res wire.PushUnregisterResult
	if err := e.send(ctx, wire.TypePushUnregister, nil, &res); err != nil {
		return false, err
	}
	return res.Removed, nil
}

// PushSession is the message to post to a service worker that includes
// parley-push-sw.js after registering: it keeps the server and this
// session's token (in IndexedDB) to decline calls from a notification.
// Empty when signed out.
func (e *Engine) PushSession() map[string]string {
	token := e.Token()
	if token == "" {
		return nil
	}
	server := e.cfg.ServerURL
	server = strings.Replace(strings.Replace(server, "wss://", "https://", 1), "ws://", "http://", 1)
	return map[string]string{"type": "parley.push.session", "server": strings.TrimRight(server, "/"), "token": token}
}

// ReportVisibility tells the server whether this tab's page is hidden (a
// background tab, a minimized window): with its -push-when-hidden, a user
// whose open tabs are all hidden is also rung by Web Push.
func (e *Engine) ReportVisibility(ctx context.Context, hidden bool) error {
	return e.send(ctx, wire.TypeTabVisibility, wire.TabVisibilityRequest{Hidden: hidden}, nil)
}
