//go:build !(js && wasm)

package call_test

import (
	"testing"

	"parley/app/call/event"
	"parley/app/wire"
	"parley/server/hub"
)

// TestBlockUser: with a real server and real pion clients, alice blocks bob;
// bob's call finds alice engaged (like TestEngaged) and neither of alice's
// tabs rings or logs it; bob cannot invite her into his call either; once
// unblocked, his call rings again.
func TestBlockUser(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	alice2 := login(t, srv, "alice", nil)

	isErrCode(t, func() error { _, err := alice.BlockUser(ctx(t), alice.jid); return err }(), wire.CodeBadRequest)
	isErrCode(t, func() error { _, err := alice.BlockUser(ctx(t), "nobody"); return err }(), wire.CodeNotFound)
	isErrCode(t, func() error { _, err := alice.BlockUser(ctx(t), " "); return err }(), wire.CodeBadRequest)
	if l, err := alice.GetBlockedUsers(ctx(t)); err != nil || len(l) != 0 {
		t.Fatalf("list after refused blocks: %+v, %v", l, err)
	}
	b, err := alice.BlockUser(ctx(t), bob.jid)
	if err != nil || b.JID != bob.jid || b.DisplayName != "User bob" || b.BlockedAt == 0 {
		t.Fatalf("BlockUser = %+v, %v", b, err)
	}
	// The other tab sees the same list.
	if l, err := alice2.GetBlockedUsers(ctx(t)); err != nil || len(l) != 1 || l[0].JID != bob.jid {
		t.Fatalf("alice2's list %+v, %v", l, err)
	}

	if _, err := bob.MakeVoiceCall(ctx(t), []string{alice.jid}, ""); err != nil {
		t.Fatal(err)
	}
	bob.waitStatus(t, alice.jid, wire.StatusEngaged)
	wait(t, bob.rec, "bob's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })

	// Invite: bob calls carol, then tries to ring alice in.
	connectCall(t, bob, carol, false)
	if err := bob.InviteUsers(ctx(t), []string{alice.jid}); err != nil {
		t.Fatal(err)
	}
	bob.waitStatus(t, alice.jid, wire.StatusEngaged)
	for _, a := range []*client{alice, alice2} {
		// A round trip first: a ring would have been queued before the reply.
		if _, err := a.GetBlockedUsers(ctx(t)); err != nil {
			t.Fatal(err)
		}
		a.Flush()
		if n := count(a.rec, func(event.IncomingCall) bool { return true }); n != 0 {
			t.Fatalf("%s rang %d times while bob is blocked", a.name, n)
		}
	}
	if logs, err := alice.GetCallLogs(ctx(t), 1); err != nil || len(logs.CallLogs) != 0 {
		t.Fatalf("alice's call log %+v, %v; want empty", logs, err)
	}
	if err := bob.EndCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, carol.rec, "carol's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })

	if err := alice2.UnblockUser(ctx(t), bob.jid); err != nil {
		t.Fatal(err)
	}
	if l, err := alice.GetBlockedUsers(ctx(t)); err != nil || len(l) != 0 {
		t.Fatalf("list after unblock: %+v, %v", l, err)
	}
	if _, err := bob.MakeVoiceCall(ctx(t), []string{alice.jid}, ""); err != nil {
		t.Fatal(err)
	}
	alice.waitIncoming(t)
	alice2.waitIncoming(t)
	bob.waitStatus(t, alice.jid, wire.StatusRinging)
}
