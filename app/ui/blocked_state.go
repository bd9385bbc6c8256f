package ui

import (
	"context"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

// actBlock is blocking or unblocking someone, for humanError. It sits
// apart from the list in errors.go: humanError's generic sentences suit it.
const actBlock action = 100

// sameJID compares JIDs as the server does, case-insensitively.
func sameJID(a, b string) bool { return strings.EqualFold(a, b) }

// blockedState is the user's block list as the screens show it: the
// "Blocked people" section of Settings and the Block action of the call
// history on Home.
type blockedState struct {
	list    []wire.BlockedUser
	loaded  bool
	loading bool
	err     string // the list couldn't be loaded
	msg     string // the result of the last block or unblock
	msgErr  bool
	busy    string // the JID being blocked or unblocked
	confirm string // the call-log entry whose Block asks "are you sure?"
}

// loadBlocked fetches the block list.
func (s *session) loadBlocked() {
	b := &s.blocked
	if s.eng == nil || b.loading {
		return
	}
	b.loading = true
	run(s, 15*time.Second, func(c context.Context) ([]wire.BlockedUser, error) {
		return s.eng.GetBlockedUsers(c)
	}, func(_ app.Context, list []wire.BlockedUser, err error) {
		b.loading = false
		if err != nil {
			b.err = "The people you blocked couldn't be loaded. " + humanError(actBlock, err, true)
			return
		}
		b.err, b.list, b.loaded = "", list, true
	})
}

// isBlocked reports whether jid is on the loaded block list.
func (s *session) isBlocked(jid string) bool {
	for _, u := range s.blocked.list {
		if sameJID(u.JID, jid) {
			return true
		}
	}
	return false
}

// askBlock shows the confirmation of blocking the caller of call-log entry
// logID ("" hides it).
func (s *session) askBlock(logID string) {
	s.blocked.confirm = logID
	s.blocked.msg = ""
}

// blockUser blocks jid (from the call history); the result shows on Home.
func (s *session) blockUser(jid, name string) {
	b := &s.blocked
	if s.eng == nil || b.busy != "" {
		return
	}
	b.busy = jid
	run(s, 15*time.Second, func(c context.Context) (wire.BlockedUser, error) {
		return s.eng.BlockUser(c, jid)
	}, func(_ app.Context, u wire.BlockedUser, err error) {
		b.busy, b.confirm = "", ""
		if err != nil {
			s.page.notice = "Parley couldn't block " + name + ". " + humanError(actBlock, err, true)
			return
		}
		if !s.isBlocked(u.JID) {
			b.list = append([]wire.BlockedUser{u}, b.list...)
		}
		s.page.notice = ""
		s.page.info = "You blocked " + name + ". Their calls won't ring you; they'll see you as busy. " +
			"You can unblock them in Settings."
	})
}

// unblockUser unblocks jid (from Settings).
func (s *session) unblockUser(jid, name string) {
	b := &s.blocked
	if s.eng == nil || b.busy != "" {
		return
	}
	b.busy, b.msg = jid, ""
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.UnblockUser(c, jid)
	}, func(_ app.Context, _ struct{}, err error) {
		b.busy = ""
		if err != nil {
			b.msg, b.msgErr = "Parley couldn't unblock "+name+". "+humanError(actBlock, err, true), true
			return
		}
		kept := b.list[:0]
		for _, u := range b.list {
			if !sameJID(u.JID, jid) {
				kept = append(kept, u)
			}
		}
		b.list = kept
		b.msg, b.msgErr = "You unblocked "+name+". Their calls ring you again.", false
		focus("blocked-title")
	})
}
