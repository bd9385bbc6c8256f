package hub

import (
	"errors"

	"parley/app/wire"
	"parley/server/store"
)

// This file holds block lists. A user who blocked someone is not rung by
// them: their call.create and call.invite find the blocker "engaged", exactly
// what they would find if the blocker were in another call, so the block is
// not revealed. The blocker's tabs get no call.incoming and no call.missed,
// and no call log is written for them.
//
// The lists live in the store; the core has no store access, so the
// transport asks the store, before a call.create or call.invite is applied,
// which of the users it rings blocked its sender (one indexed look-up per
// callee), and hands the answer to core.create or core.invite (blockedBy).
// Nothing is cached, so a block or unblock holds from the next ring on, for
// every tab and for users who are offline, with no state to keep in step. A block does not end calls already running or ringing.

// DefaultMaxBlocks is Config.MaxBlocks when unset.
const DefaultMaxBlocks = wire.DefaultMaxBlocks

// blockers returns the usernames of those accounts that blocked the user
// uid. Called outside the hub's lock.
func (h *Hub) blockers(uid int64, accounts []store.User) (map[string]bool, *wire.Error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	var (
		found []int64
		err   error
	)
	onOwnStack(func() {
		ctx, cancel := h.opCtx()
		defer cancel()
		found, err = h.st.Blockers(ctx, uid, ids...)
	})
	if err != nil {
		return nil, h.storeError("blockers", err)
	}
	if len(found) == 0 {
		return nil, nil
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		for _, a := range accounts {
			if a.ID == id {
				out[a.Username] = true
			}
		}
	}
	return out, nil
}

// blockHandler returns the handler of block.add, block.remove or block.list.
func blockHandler(typ string) func(*Hub, *conn, wire.Frame) {
	switch typ {
	case wire.TypeBlockAdd:
		return (*Hub).handleBlockAdd
	case wire.TypeBlockRemove:
		return (*Hub).handleBlockRemove
	case wire.TypeBlockList:
		return (*Hub).handleBlockList
	}
	return nil
}

// blockTarget parses and looks up the user a block request names: 400 for a
// malformed JID or yourself, 404 for an unknown user or another domain, 403
// for a guest (guests cannot ring anyone, so there is nothing to block).
func (h *Hub) blockTarget(s *session, req wire.BlockRequest) (store.User, *wire.Error) {
	if req.JID == "" {
		return store.User{}, wire.BadRequest("Name the user (userJid).")
	}
	name, e := wire.ParseJID(req.JID, h.cfg.Domain)
	if e != nil {
		return store.User{}, e
	}
	if name == s.user.Username {
		return store.User{}, wire.BadRequest("You cannot block or unblock yourself.")
	}
	accounts, e := h.lookupUsers([]string{name})
	if e != nil {
		return store.User{}, e
	}
	return accounts[0], nil
}

// blockedUser is the wire form of a block list entry.
func (h *Hub) blockedUser(b store.Blocked) wire.BlockedUser {
	return wire.BlockedUser{
		JID: wire.JID(b.User.Username, h.cfg.Domain), DisplayName: b.User.DisplayName, BlockedAt: b.At.UnixMilli(),
	}
}

// handleBlockAdd serves block.add: the target is added to the sender's
// block list (blocking someone already blocked succeeds and changes nothing).
func (h *Hub) handleBlockAdd(c *conn, f wire.Frame) {
	var entry wire.BlockedUser
	handle(h, c, f, handler[wire.BlockRequest]{
		prepare: func(s *session, req *wire.BlockRequest) *wire.Error {
			target, e := h.blockTarget(s, *req)
			if e != nil {
				return e
			}
			var (
				b   store.Blocked
				err error
			)
			onOwnStack(func() {
				ctx, cancel := h.opCtx()
				defer cancel()
				b, err = h.st.Block(ctx, s.uid, target.ID, h.cfg.MaxBlocks)
			})
			switch {
			case errors.Is(err, store.ErrTooMany):
				return wire.Conflict("You can block at most %d people; unblock someone first.", h.cfg.MaxBlocks)
			case errors.Is(err, store.ErrNotFound):
				return wire.NotFound("%s is not a user of this server.", truncate(req.JID, 80))
			case errors.Is(err, store.ErrInvalid):
				return wire.BadRequest("%s cannot be blocked.", truncate(req.JID, 80))
			case err != nil:
				return h.storeError("block", err)
			}
			entry = h.blockedUser(b)
			return nil
		},
		apply: func(*batch, *effects, *session, wire.BlockRequest) (any, *wire.Error) { return entry, nil },
	})
}

// handleBlockRemove serves block.remove: the target leaves the sender's
// block list (unblocking someone not blocked succeeds and changes nothing).
func (h *Hub) handleBlockRemove(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.BlockRequest]{
		prepare: func(s *session, req *wire.BlockRequest) *wire.Error {
			target, e := h.blockTarget(s, *req)
			if e != nil {
				return e
			}
			var err error
			onOwnStack(func() {
				ctx, cancel := h.opCtx()
				defer cancel()
				_, err = h.st.Unblock(ctx, s.uid, target.ID)
			})
			if err != nil {
				return h.storeError("unblock", err)
			}
			return nil
		},
		apply: func(*batch, *effects, *session, wire.BlockRequest) (any, *wire.Error) { return nil, nil },
	})
}

// handleBlockList serves block.list.
func (h *Hub) handleBlockList(c *conn, f wire.Frame) {
	var list wire.BlockList
	handle(h, c, f, handler[struct{}]{
		noPayload: true,
		prepare: func(s *session, _ *struct{}) *wire.Error {
			var (
				bl  []store.Blocked
				err error
			)
			onOwnStack(func() {
				ctx, cancel := h.opCtx()
				defer cancel()
				bl, err = h.st.BlockedUsers(ctx, s.uid)
			})
			if err != nil {
				return h.storeError("block list", err)
			}
			list.Users = make([]wire.BlockedUser, 0, len(bl))
			for _, b := range bl {
				list.Users = append(list.Users, h.blockedUser(b))
			}
			return nil
		},
		apply: func(*batch, *effects, *session, struct{}) (any, *wire.Error) { return list, nil },
	})
}
