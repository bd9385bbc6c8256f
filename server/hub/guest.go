package hub

import (
	"time"

	"parley/app/wire"
	"parley/server/store"
)

// handleGuest serves guest: a temporary account with a display name and no
// password, signed in on this connection.
func (h *Hub) handleGuest(c *conn, f wire.Frame) {
	if h.currentSession(c) != nil {
		h.sendNow(c, f.ID, nil, wire.Conflict("This connection is already signed in."))
		return
	}
	if e := checkVersion(f); e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	var req wire.GuestRequest
	if e := wire.DecodeData(f, &req); e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	name, ok := store.CleanDisplayName(req.DisplayName)
	if !ok || name == "" {
		h.sendNow(c, f.ID, nil, wire.BadRequest(
			"A guest needs a display name of 1 to %d characters, without control characters.", store.MaxDisplayNameLen))
		return
	}
	if wait := h.guestLim.b.reserve(remoteIP(c.remote)); wait > 0 {
		h.cfg.Metrics.RateLimited(LimitGuests)
		h.sendNow(c, f.ID, nil, wire.RetryLater(wait, "Too many guests from your address; try again in %s.", wait.Round(time.Second)))
		return
	}
	var (
		su    store.User
		token string
		e     *wire.Error
	)
	onOwnStack(func() {
		ctx, cancel := h.opCtx()
		defer cancel()
		var err error
		if su, err = h.st.CreateGuest(ctx, name); err != nil {
			e = h.storeError("create guest", err)
			return
		}
		if token, err = h.st.NewDeviceSession(ctx, su.ID, c.device); err != nil {
			e = h.storeError("new session", err)
		}
	})
	if e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	h.signIn(c, f.ID, su, token, nil)
}
