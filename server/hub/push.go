package hub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"parley/app/wire"
	"parley/server/push"
	"parley/server/store"
)

// This file holds ringing a closed app with Web Push: the push.key,
// push.register and push.unregister requests, the core's side (a callee
// with no open tab but a push subscription is rung by push, shown as
// "ringing", and told by a second push when the ringing stops), the queue
// that sends the pushes in order per user outside the hub's lock, and the
// HTTP endpoint a service worker declines a call with.

// PushStore is what push needs from the store; *store.Store satisfies it.
// A hub whose store does not implement it has push turned off.
type PushStore interface {
	SavePushSubscription(ctx context.Context, token string, sub store.PushSubscription) error
	DeletePushSubscriptionOf(ctx context.Context, token string) (bool, error)
	DeletePushEndpoint(ctx context.Context, endpoint string) error
	PushSubscriptions(ctx context.Context, userID int64) ([]store.PushSubscription, error)
	HasPushSubscriptions(ctx context.Context, vapidKey string, userIDs ...int64) (map[int64]bool, error)
}

// pushOut is one push message for every device of a user.
type pushOut struct {
	uid int64
	msg wire.PushMessage
	ttl time.Duration
}

// pushQueue holds the pushes waiting to be sent, per user: each user's are
// sent in order (a stop never overtakes its ring) by one goroutine while
// there are any.
type pushQueue struct {
	mu     sync.Mutex
	byUser map[int64][]pushOut
}

// pusher returns the push sender and store, or nil when push is off.
func (h *Hub) pusher() (*push.Sender, PushStore) {
	ps, ok := h.st.(PushStore)
	if h.cfg.Push == nil || !ok {
		return nil, nil
	}
	return h.cfg.Push, ps
}

// ---- the core's side ----

// ringByPush marks the pending parts whose users have no open tab but can be
// rung by push (named in pushable, looked up by the transport before the
// request: Hub.pushable): they show as ringing, and a ring push goes out.
// Called by ring before it tells anyone.
func (k *core) ringByPush(fx *effects, cl *call, pending []*part, pushable map[string]bool) {
	for _, p := range pending {
		p.canPush = p.canPush || pushable[p.u.name]
		if p.pushed || k.seesCalls(p.u) || !p.canPush {
			continue
		}
		if cl.status(p) == wire.StatusCalling {
			cl.setStatus(p, wire.StatusRinging)
		}
		k.pushRing(fx, cl, p, k.cfg.RingTimeout)
	}
}

// pushUnseen rings u by push in the calls still ringing them that no tab of
// theirs shows any more: the last one dropped (closed, or its network went)
// or, with PushWhenHidden, was hidden, after the ring began. Without it a
// call arriving as the app closed rang only the closing tab.
func (k *core) pushUnseen(fx *effects, u *user) {
	if k.seesCalls(u) {
		return
	}
	for cl, p := range u.parts {
		if p.done || p.pushed || !p.canPush || !p.ringing || !wire.Pending(cl.status(p)) {
			continue
		}
		left := time.Duration(p.ringEnd-k.now()) * time.Millisecond
		if left <= 0 {
			continue // its timer is about to fire: the missed-call push follows
		}
		k.touch(cl) // p.pushed is saved with the call
		k.pushRing(fx, cl, p, left)
	}
}

// pushRing sends the ring push of p's call to p's user, worth delivering
// for ttl (the ring's time left).
func (k *core) pushRing(fx *effects, cl *call, p *part, ttl time.Duration) {
	p.pushed = true
	msg := k.pushMessage(cl, wire.PushRing, "")
	what := "voice"
	if cl.snap.Type == wire.TypeVideo {
		what = "video"
	}
	msg.Title = fmt.Sprintf("%s is calling (%s)", msg.FromName, what)
	msg.Body = "Tap Answer to join the call."
	fx.pushes = append(fx.pushes, pushOut{uid: p.u.id, msg: msg, ttl: ttl})
}

// seesCalls reports whether u has an online tab that shows an incoming call
// (with PushWhenHidden, one whose page is not hidden).
func (k *core) seesCalls(u *user) bool {
	for _, t := range u.tabs {
		if t.online && (!k.cfg.PushWhenHidden || !t.hidden) {
			return true
		}
	}
	return false
}

// setHidden records whether tab id's page is hidden.
func (k *core) setHidden(fx *effects, id string, hidden bool) *wire.Error {
	t := k.tabOf(id)
	if t == nil {
		return errUnauthorized()
	}
	t.hidden = hidden
	if hidden && k.cfg.PushWhenHidden {
		k.pushUnseen(fx, t.u)
	}
	return nil
}

// stopPush tells a user rung by push that the ringing of p stopped; called
// when the ring stops, with the part's status telling why.
func (k *core) stopPush(fx *effects, cl *call, p *part) {
	if !p.pushed {
		return
	}
	p.pushed = false
	reason := wire.PushReasonCancelled
	switch st := cl.status(p); {
	case wire.Pending(st):
		reason = wire.PushReasonAnswered // join stops the ring before the status changes
	case st == wire.StatusNoAnswer:
		reason = wire.PushReasonMissed
	case st == wire.StatusDeclined:
		reason = wire.PushReasonDeclined
	}
	msg := k.pushMessage(cl, wire.PushStop, reason)
	if reason == wire.PushReasonMissed {
		msg.Title = "Missed call from " + msg.FromName
		msg.Body = "Missed " + cl.snap.Type + " call"
	}
	fx.pushes = append(fx.pushes, pushOut{uid: p.u.id, msg: msg, ttl: k.cfg.RingTimeout})
}

// pushMessage is the push payload about cl.
func (k *core) pushMessage(cl *call, typ, reason string) wire.PushMessage {
	m := wire.PushMessage{
		Type: typ, RoomID: cl.snap.RoomID, CallType: cl.snap.Type, From: cl.snap.Initiator,
		FromName: cl.snap.Initiator, Reason: reason, SentAt: k.now(),
	}
	for _, sp := range cl.snap.Participants {
		if sp.Initiator && sp.DisplayName != "" {
			m.FromName = sp.DisplayName
		}
	}
	return m
}

// declineFor declines the call roomID for user name, who has no tab to do it
// from (a service worker's Decline action).
func (k *core) declineFor(fx *effects, name, roomID string) *wire.Error {
	cl, e := k.lookupRoom(roomID)
	if e != nil {
		return e
	}
	p := cl.byName[name]
	if p == nil {
		return wire.NotFound("You have no part in this call.")
	}
	if st := cl.status(p); p.done || !wire.Pending(st) {
		return wire.Conflict("There is no ringing call to decline (you are %s).", st)
	}
	k.decline(fx, cl, p, nil, k.now())
	return nil
}

// ---- the transport's side ----

// pushable returns which callees can be rung by push (have a subscription
// made with the current key). Called outside h.mu; nil when push is off.
func (h *Hub) pushable(callees []store.User) (map[string]bool, *wire.Error) {
	sender, ps := h.pusher()
	if sender == nil || len(callees) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(callees))
	for i, u := range callees {
		ids[i] = u.ID
	}
	var (
		has map[int64]bool
		err error
	)
	ctx, cancel := h.opCtx()
	defer cancel()
	onOwnStack(func() { has, err = ps.HasPushSubscriptions(ctx, sender.PublicKey(), ids...) })
	if err != nil {
		return nil, h.storeError("push subscriptions", err)
	}
	out := make(map[string]bool)
	for _, u := range callees {
		if has[u.ID] {
			out[u.Username] = true
		}
	}
	return out, nil
}

// handleTabVisibility serves tab.visibility.
func (h *Hub) handleTabVisibility(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.TabVisibilityRequest]{
		apply: func(_ *batch, fx *effects, s *session, req wire.TabVisibilityRequest) (any, *wire.Error) {
			return nil, h.core.setHidden(fx, s.id, req.Hidden)
		},
	})
}

// handlePushKey serves push.key.
func (h *Hub) handlePushKey(c *conn, f wire.Frame) {
	handle(h, c, f, handler[struct{}]{
		noPayload: true,
		apply: func(*batch, *effects, *session, struct{}) (any, *wire.Error) {
			sender, _ := h.pusher()
			if sender == nil {
				return nil, errPushOff()
			}
			return wire.PushKey{PublicKey: sender.PublicKey()}, nil
		},
	})
}

func errPushOff() *wire.Error {
	return wire.NotFound("Web Push is turned off on this server.")
}

// checkSubscription validates a push.register payload and decodes its keys;
// allowHTTP accepts http:// endpoints besides https://.
func checkSubscription(req wire.PushSubscriptionJSON, allowHTTP bool) (store.PushSubscription, *wire.Error) {
	var sub store.PushSubscription
	if req.Endpoint == "" || len(req.Endpoint) > wire.MaxPushEndpointLen {
		return sub, wire.BadRequest("endpoint must be a URL of at most %d bytes.", wire.MaxPushEndpointLen)
	}
	u, err := url.Parse(req.Endpoint)
	if err != nil || !(u.Scheme == "https" || (allowHTTP && u.Scheme == "http")) || u.Host == "" || u.User != nil {
		return sub, wire.BadRequest("endpoint must be an https URL.")
	}
	dec := func(s string) ([]byte, error) {
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	p256dh, err1 := dec(req.Keys.P256dh)
	auth, err2 := dec(req.Keys.Auth)
	if err1 != nil || len(p256dh) != 65 || p256dh[0] != 4 {
		return sub, wire.BadRequest("keys.p256dh must be a base64url P-256 public key (65 bytes, uncompressed).")
	}
	if err2 != nil || len(auth) != 16 {
		return sub, wire.BadRequest("keys.auth must be a base64url 16-byte secret.")
	}
	if _, err := push.Encrypt(p256dh, auth, nil); err != nil {
		return sub, wire.BadRequest("keys.p256dh is not a point of P-256.")
	}
	return store.PushSubscription{Endpoint: req.Endpoint, P256dh: p256dh, Auth: auth}, nil
}

// handlePushRegister serves push.register.
func (h *Hub) handlePushRegister(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.PushSubscriptionJSON]{
		prepare: func(s *session, req *wire.PushSubscriptionJSON) *wire.Error {
			sender, ps := h.pusher()
			if sender == nil {
				return errPushOff()
			}
			sub, e := checkSubscription(*req, h.cfg.PushAllowHTTP)
			if e != nil {
				return e
			}
			sub.VAPIDKey = sender.PublicKey()
			token := h.tokenOf(s)
			ctx, cancel := h.opCtx()
			defer cancel()
			var err error
			onOwnStack(func() { err = ps.SavePushSubscription(ctx, token, sub) })
			if errors.Is(err, store.ErrNotFound) {
				return errUnauthorized()
			}
			if err != nil {
				return h.storeError("save push subscription", err)
			}
			return nil
		},
		apply: func(*batch, *effects, *session, wire.PushSubscriptionJSON) (any, *wire.Error) { return nil, nil },
	})
}

// handlePushUnregister serves push.unregister.
func (h *Hub) handlePushUnregister(c *conn, f wire.Frame) {
	var removed bool
	handle(h, c, f, handler[struct{}]{
		noPayload: true,
		prepare: func(s *session, _ *struct{}) *wire.Error {
			_, ps := h.pusher()
			if ps == nil {
				return errPushOff()
			}
			token := h.tokenOf(s)
			ctx, cancel := h.opCtx()
			defer cancel()
			var err error
			onOwnStack(func() { removed, err = ps.DeletePushSubscriptionOf(ctx, token) })
			if err != nil {
				return h.storeError("delete push subscription", err)
			}
			return nil
		},
		apply: func(*batch, *effects, *session, struct{}) (any, *wire.Error) {
			return wire.PushUnregisterResult{Removed: removed}, nil
		},
	})
}

// sendPushes queues the pushes of a request. Called with h.mu held.
func (h *Hub) sendPushes(outs []pushOut) {
	if len(outs) == 0 || h.closed {
		return
	}
	q := &h.pushq
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.byUser == nil {
		q.byUser = make(map[int64][]pushOut)
	}
	for _, o := range outs {
		q.byUser[o.uid] = append(q.byUser[o.uid], o)
		if len(q.byUser[o.uid]) == 1 {
			h.wg.Add(1)
			go h.drainPushes(o.uid)
		}
	}
}

// drainPushes sends user uid's queued pushes in order until none is left.
func (h *Hub) drainPushes(uid int64) {
	defer h.wg.Done()
	q := &h.pushq
	for {
		q.mu.Lock()
		list := q.byUser[uid]
		if len(list) == 0 {
			delete(q.byUser, uid)
			q.mu.Unlock()
			return
		}
		o := list[0]
		q.mu.Unlock()
		h.sendPush(o)
		q.mu.Lock()
		q.byUser[uid] = q.byUser[uid][1:]
		q.mu.Unlock()
	}
}

// sendPush sends one push to every device of its user; a device whose push
// service says it is gone, or subscribed with a key no longer used, is
// forgotten.
func (h *Hub) sendPush(o pushOut) {
	sender, ps := h.pusher()
	if sender == nil {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	subs, err := ps.PushSubscriptions(ctx, o.uid)
	if err != nil {
		h.log.Warn("push: subscriptions", "err", err)
		return
	}
	payload, err := json.Marshal(o.msg)
	if err != nil {
		h.log.Error("push: encode", "err", err)
		return
	}
	key := sender.PublicKey()
	for _, sub := range subs {
		if sub.VAPIDKey != key {
			if err := ps.DeletePushEndpoint(ctx, sub.Endpoint); err != nil {
				h.log.Warn("push: forget a subscription of an old key", "err", err)
			}
			continue
		}
		err := sender.Send(ctx, push.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}, push.Message{
			Payload: payload, TTL: o.ttl, Urgency: "high", Topic: pushTopic(o.msg.RoomID),
		})
		switch {
		case errors.Is(err, push.ErrGone):
			h.log.Info("push: subscription gone, forgotten", "user", o.uid)
			if err := ps.DeletePushEndpoint(ctx, sub.Endpoint); err != nil {
				h.log.Warn("push: forget a gone subscription", "err", err)
			}
		case err != nil:
			h.log.Warn("push: send", "user", o.uid, "type", o.msg.Type, "err", err)
		default:
			h.log.Debug("push: sent", "user", o.uid, "type", o.msg.Type, "room", o.msg.RoomID)
		}
	}
}

// pushTopic is the Topic of a call's pushes: a stop replaces its ring at the
// push service when the device has not fetched it yet.
func pushTopic(roomID string) string {
	if len(roomID) > 32 {
		return roomID[:32]
	}
	return roomID
}

// PushDeclinePath is where a service worker declines a call: POST with
// "Authorization: Bearer <session token>" and a JSON body {"roomId": ...}.
const PushDeclinePath = "/api/push/decline"

// maxPushDeclineBody bounds the request body of PushDeclinePath.
const maxPushDeclineBody = 4 << 10

// PushDeclineHandler returns the handler of PushDeclinePath: it declines the
// ringing call roomId for the user the bearer token signs in, as
// call.decline would from a tab. It answers 204, or a JSON wire.Error
// ({"code", "reason", "message"}) with an HTTP status of its code (400 for
// the codes above 599) and changes nothing.
func (h *Hub) PushDeclineHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := h.pushDecline(w, r); e != nil {
			writeHTTPError(w, e)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (h *Hub) pushDecline(w http.ResponseWriter, r *http.Request) *wire.Error {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return wire.Unauthorized("Send the session token as Authorization: Bearer <token>.")
	}
	var req wire.RoomRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPushDeclineBody))
	if err := dec.Decode(&req); err != nil {
		return wire.BadRequest("The body must be JSON {\"roomId\": ...}.")
	}
	if req.RoomID == "" || len(req.RoomID) > 64 {
		return wire.BadRequest("roomId must be a room ID.")
	}
	ctx, cancel := h.opCtx()
	defer cancel()
	var (
		u   store.User
		err error
	)
	onOwnStack(func() { u, err = h.st.UserByToken(ctx, token) })
	if errors.Is(err, store.ErrNotFound) {
		return wire.Unauthorized("This session is signed out.")
	}
	if err != nil {
		return h.storeError("push decline", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return shutdownError()
	}
	if h.revokedLately(token) {
		return wire.Unauthorized("This session is signed out.")
	}
	fx := &effects{}
	if e := h.core.declineFor(fx, u.Username, req.RoomID); e != nil {
		return e
	}
	b := &batch{}
	h.deliver(b, fx)
	h.commit(b)
	return nil
}

// writeHTTPError writes e as JSON with the HTTP status of its code.
func writeHTTPError(w http.ResponseWriter, e *wire.Error) {
	status := e.Code
	if status < 400 || status > 599 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}
