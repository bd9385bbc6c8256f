package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

func (f *fakeEngine) BlockUser(_ context.Context, jid string) (wire.BlockedUser, error) {
	if err := f.fail("BlockUser"); err != nil {
		return wire.BlockedUser{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := wire.BlockedUser{JID: jid, DisplayName: userPart(jid), BlockedAt: time.Now().UnixMilli()}
	f.blocked = append([]wire.BlockedUser{u}, f.blocked...)
	return u, nil
}

func (f *fakeEngine) UnblockUser(_ context.Context, jid string) error {
	if err := f.fail("UnblockUser"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var kept []wire.BlockedUser
	for _, u := range f.blocked {
		if u.JID != jid {
			kept = append(kept, u)
		}
	}
	f.blocked = kept
	return nil
}

func (f *fakeEngine) GetBlockedUsers(context.Context) ([]wire.BlockedUser, error) {
	if err := f.fail("GetBlockedUsers"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.BlockedUser{}, f.blocked...), nil
}

// TestBlockFromHistory: Block on a call-history entry asks first, blocks
// the caller, says so and marks the entry; calls you made have no Block;
// Unblock in Settings takes them off the list; a refused block changes
// nothing and says why.
func TestBlockFromHistory(t *testing.T) {
	h := newHarness(t)
	s := h.s
	s.account.user = wire.User{JID: "alice@localhost", Username: "alice", DisplayName: "Alice"}
	in := wire.CallLog{CallLogID: "l1", FromUser: "bob@localhost", ToUsers: []string{"alice@localhost"}, CallState: wire.LogMissed}
	out := wire.CallLog{CallLogID: "l2", FromUser: "alice@localhost", ToUsers: []string{"carol@localhost"}, CallState: wire.LogOutgoing}
	if logBlock(s, out, "alice@localhost") != nil {
		t.Error("a call you made offers Block")
	}
	if logBlock(s, in, "alice@localhost") == nil {
		t.Fatal("a missed call offers no Block")
	}

	h.f.errs["BlockUser"] = wire.Forbidden("Guests cannot be blocked.")
	h.do(0, func(app.Context) { s.askBlock("l1") })
	if s.blocked.confirm != "l1" {
		t.Fatalf("confirm = %q", s.blocked.confirm)
	}
	h.do(1, func(app.Context) { s.blockUser("bob@localhost", "bob") })
	if s.isBlocked("bob@localhost") || !strings.Contains(s.page.notice, "couldn't block bob") {
		t.Fatalf("refused block: list %v, notice %q", s.blocked.list, s.page.notice)
	}

	h.do(1, func(app.Context) { s.blockUser("bob@localhost", "bob") })
	if !s.isBlocked("bob@localhost") || s.blocked.confirm != "" || !strings.Contains(s.page.info, "You blocked bob") {
		t.Fatalf("after block: list %v, confirm %q, info %q", s.blocked.list, s.blocked.confirm, s.page.info)
	}

	s.blocked = blockedState{}
	h.do(1, func(app.Context) { s.loadBlocked() })
	if !s.blocked.loaded || len(s.blocked.list) != 1 {
		t.Fatalf("loaded list %+v", s.blocked)
	}
	h.do(1, func(app.Context) { s.unblockUser("bob@localhost", "bob") })
	if s.isBlocked("bob@localhost") || !strings.Contains(s.blocked.msg, "You unblocked bob") || len(h.f.blocked) != 0 {
		t.Fatalf("after unblock: %+v, engine %v", s.blocked, h.f.blocked)
	}
}
