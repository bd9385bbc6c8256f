package hub

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/app/wire"
	"parley/server/store"
)

// This file holds the account's sign-in sessions as their owner sees them:
// session.list, session.revoke and session.revokeOthers, the device label a
// session is created with, and the sweeper that deletes expired sessions.
//
// A store session is one token; several tabs (transport sessions) may have
// signed in with the same token. Revoking a token closes all of them with
// wire.CloseRevoked and removes their tabs, so their calls see them leave.

// DefaultSessionSweep is how often expired sessions are deleted and the
// tokens of connected tabs marked as used.
const DefaultSessionSweep = time.Hour

// deviceLabel names the browser and system of a User-Agent header, e.g.
// "Chromium on Linux", for the list of sessions. It never returns more than
// a few words, whatever the header holds.
func deviceLabel(ua string) string {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
		{"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"HeadlessChrome/", "Headless Chrome"}, {"Chromium/", "Chromium"},
		{"Chrome/", "Chrome"}, {"Version/", "Safari"}, {"Go-http-client/", "Go client"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
		{"CrOS", "ChromeOS"}, {"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	return "Unknown device"
}

// userSessions returns the live transport sessions of account uid (online
// or within their resume grace), as a slice the caller may remove from
// while ranging. Called with h.mu held.
func (h *Hub) userSessions(uid int64) []*session {
	return slices.Collect(maps.Keys(h.byUser[uid]))
}

// revokedMemory is how long a revoked session ID is remembered, to refuse a
// sign-in whose token check passed just before the revocation.
const revokedMemory = time.Minute

// noteRevoked remembers that the store session id was revoked now, and
// forgets those revoked longer than revokedMemory ago. Called with h.mu held.
func (h *Hub) noteRevoked(id string) {
	now := time.Now()
	if h.revoked == nil {
		h.revoked = make(map[string]time.Time)
	}
	for k, at := range h.revoked {
		if now.Sub(at) > revokedMemory {
			delete(h.revoked, k)
		}
	}
	h.revoked[id] = now
}

// revokedLately reports whether token's session was revoked within
// revokedMemory: an auth that read the token from the store before the
// revocation and signs in after it. Called with h.mu held.
func (h *Hub) revokedLately(token string) bool {
	if len(h.revoked) == 0 || token == "" {
		return false
	}
	at, ok := h.revoked[store.SessionID(token)]
	return ok && time.Since(at) <= revokedMemory
}

// revokeSession ends transport session s because its token was revoked: its
// connection, if any, is closed with wire.CloseRevoked after what is queued,
// and its tab is removed (leaving its calls). Called with h.mu held.
func (h *Hub) revokeSession(b *batch, fx *effects, s *session) {
	if c := s.c; c != nil {
		b.toSession(s, func(*starter) { // after what is queued for s
			c.close(wire.CloseRevoked, "signed out from another session", true)
		})
		c.sess = nil
	}
	h.removeSession(fx, s)
}

// handleSessionList serves session.list: the account's sessions, the
// current one first.
func (h *Hub) handleSessionList(c *conn, f wire.Frame) {
	var stored []store.Session
	handle(h, c, f, handler[struct{}]{
		noPayload: true,
		prepare: func(s *session, _ *struct{}) *wire.Error {
			var err error
			onOwnStack(func() {
				ctx, cancel := h.opCtx()
				defer cancel()
				stored, err = h.st.Sessions(ctx, s.uid)
			})
			if err != nil {
				return h.storeError("list sessions", err)
			}
			return nil
		},
		apply: func(_ *batch, _ *effects, s *session, _ struct{}) (any, *wire.Error) {
			current := store.SessionID(s.token)
			online := map[string]bool{}
			for _, t := range h.userSessions(s.uid) {
				if t.c != nil {
					online[store.SessionID(t.token)] = true
				}
			}
			list := wire.SessionList{Sessions: make([]wire.SessionInfo, 0, len(stored))}
			for _, ss := range stored {
				list.Sessions = append(list.Sessions, wire.SessionInfo{
					SessionID: ss.ID, Device: ss.Device,
					CreatedAt: ss.Created.UnixMilli(), LastActiveAt: ss.LastUsed.UnixMilli(),
					Current: ss.ID == current, Online: online[ss.ID] || ss.ID == current,
				})
			}
			// The store sorts by last use; the current session goes first.
			slices.SortStableFunc(list.Sessions, func(a, b wire.SessionInfo) int {
				switch {
				case a.Current == b.Current:
					return 0
				case a.Current:
					return -1
				}
				return 1
			})
			return list, nil
		},
	})
}

// handleSessionRevoke serves session.revoke: one other session of the
// account is signed out.
func (h *Hub) handleSessionRevoke(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.SessionRevokeRequest]{
		prepare: func(s *session, req *wire.SessionRevokeRequest) *wire.Error {
			if req.SessionID == "" || len(req.SessionID) > wire.MaxSessionIDLen {
				return wire.BadRequest("session.revoke needs the sessionId of one of your sessions (from session.list).")
			}
			token := h.tokenOf(s)
			if req.SessionID == store.SessionID(token) {
				return wire.BadRequest("That is the session you are using; to end it, log out.")
			}
			var err error
			onOwnStack(func() {
				ctx, cancel := h.opCtx()
				defer cancel()
				err = h.st.DeleteSessionByID(ctx, s.uid, req.SessionID)
			})
			switch {
			case errors.Is(err, store.ErrNotFound):
				return wire.NotFound("You have no session %q (it may have ended already).", truncate(req.SessionID, wire.MaxSessionIDLen))
			case err != nil:
				return h.storeError("revoke session", err)
			}
			return nil
		},
		apply: func(b *batch, fx *effects, s *session, req wire.SessionRevokeRequest) (any, *wire.Error) {
			h.noteRevoked(req.SessionID)
			for _, t := range h.userSessions(s.uid) {
				if t != s && store.SessionID(t.token) == req.SessionID {
					h.revokeSession(b, fx, t)
				}
			}
			h.log.Info("session revoked", "user", s.user.Username)
			return wire.SessionRevokeResult{Revoked: 1}, nil
		},
	})
}

// handleSessionRevokeOthers serves session.revokeOthers: every session of
// the account but the caller's is signed out (tabs sharing the caller's
// token stay).
func (h *Hub) handleSessionRevokeOthers(c *conn, f wire.Frame) {
	var ids []string
	handle(h, c, f, handler[struct{}]{
		noPayload: true,
		prepare: func(s *session, _ *struct{}) *wire.Error {
			token := h.tokenOf(s)
			var err error
			onOwnStack(func() {
				ctx, cancel := h.opCtx()
				defer cancel()
				ids, err = h.st.DeleteOtherSessions(ctx, s.uid, token)
			})
			if err != nil {
				return h.storeError("revoke other sessions", err)
			}
			return nil
		},
		apply: func(b *batch, fx *effects, s *session, _ struct{}) (any, *wire.Error) {
			for _, id := range ids {
				h.noteRevoked(id)
			}
			for _, t := range h.userSessions(s.uid) {
				if t != s && t.token != s.token {
					h.revokeSession(b, fx, t)
				}
			}
			h.log.Info("other sessions revoked", "user", s.user.Username, "count", len(ids))
			return wire.SessionRevokeResult{Revoked: len(ids)}, nil
		},
	})
}

// RunSessionSweeper runs until ctx ends: every interval (DefaultSessionSweep
// when not positive) it marks the tokens of connected tabs as used (being
// online is a use, so an open tab never expires) and deletes expired
// sessions. The server runs one for the life of the process.
func (h *Hub) RunSessionSweeper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultSessionSweep
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.SweepSessions(ctx)
		}
	}
}

// SweepSessions is one round of RunSessionSweeper.
func (h *Hub) SweepSessions(ctx context.Context) {
	h.mu.Lock()
	seen := map[string]bool{}
	var tokens []string
	for _, s := range h.sessions {
		if s.c != nil && !s.removed && !seen[s.token] {
			seen[s.token] = true
			tokens = append(tokens, s.token)
		}
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := h.st.TouchSessions(ctx, tokens); err != nil {
		h.log.Error("store", "op", "touch sessions", "err", err)
	}
	n, err := h.st.DeleteExpiredSessions(ctx)
	if err != nil {
		h.log.Error("store", "op", "delete expired sessions", "err", err)
		return
	}
	if n > 0 {
		h.log.Info("expired sessions deleted", "count", n)
	}
}

// ttlText says how long a session may go unused, for the expiry message.
func ttlText(st Store) string {
	ttl := store.DefaultSessionTTL
	if t, ok := st.(interface{ SessionTTL() time.Duration }); ok {
		ttl = t.SessionTTL()
	}
	if days := ttl / (24 * time.Hour); days >= 1 && ttl%(24*time.Hour) == 0 {
		if days == 1 {
			return "1 day"
		}
		return strconv.Itoa(int(days)) + " days"
	}
	return ttl.String()
}
