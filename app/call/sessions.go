package call

import (
	"context"

	"parley/app/call/event"
	"parley/app/wire"
)

// GetSessions lists where your account is signed in: this session first
// (Current), then the others, most recently active first. Guests get 403.
func (e *Engine) GetSessions(ctx context.Context) ([]wire.SessionInfo, error) {
	var res wire.SessionList
	if err := e.send(ctx, wire.TypeSessionList, nil, &res); err != nil {
		return nil, err
	}
	if res.Sessions == nil {
		res.Sessions = []wire.SessionInfo{}
	}
	return res.Sessions, nil
}

// EndSession signs out another session of your account, by the SessionID
// GetSessions gave: its tabs are closed and learn they were signed out.
// Errors: 400 without an ID or for this session (use Logout), 404 for an
// unknown one.
func (e *Engine) EndSession(ctx context.Context, sessionID string) error {
	if sessionID == "" || len(sessionID) > wire.MaxSessionIDLen {
		return wire.BadRequest("endSession takes the sessionId of one of your sessions (from getSessions).")
	}
	return e.send(ctx, wire.TypeSessionRevoke, wire.SessionRevokeRequest{SessionID: sessionID}, nil)
}

// LogoutOtherSessions signs out every session of your account but this one
// and returns how many it signed out. Tabs sharing this session stay.
func (e *Engine) LogoutOtherSessions(ctx context.Context) (int, error) {
	var res wire.SessionRevokeResult
	if err := e.send(ctx, wire.TypeSessionRevokeOthers, nil, &res); err != nil {
		return 0, err
	}
	return res.Revoked, nil
}

// signedOutElsewhere ends this engine's session after the server closed it
// with wire.CloseRevoked: any call is over locally, the token is forgotten,
// there is no reconnect, and connectionListener hears AUTHFAIL with reason
// "revoked".
func (e *Engine) signedOutElsewhere() {
	e.sync(func() { e.endLocally("") }) // over before connectionListener hears it
	e.signOut(event.ConnectionStatus{Status: event.AuthFail, Reason: event.ReasonRevoked})
}
