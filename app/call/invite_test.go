//go:build !(js && wasm)

package call_test

import (
	"testing"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
)

func TestInviteIntoRunningCall(t *testing.T) {
	srv := startServer(t, hub.Config{MaxParticipants: 3})
	alice, bob, carol, dave := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol"), register(t, srv, "dave")
	isErrCode(t, dave.InviteUsers(ctx(t), []string{"alice"}), wire.CodeNotInCall)
	connectCall(t, alice, bob, false)
	if err := alice.InviteUsers(ctx(t), []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	iv := wait(t, bob.rec, "bob hears of the invite", func(event.InviteUsers) bool { return true })
	if iv.UserJID != alice.jid || len(iv.InviteUsers) != 1 || iv.InviteUsers[0] != carol.jid {
		t.Fatalf("invite payload %+v", iv)
	}
	carol.waitIncoming(t)
	if err := carol.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	meshFlows(t, rtc.KindAudio, alice, bob, carol)
	if c, _ := alice.CurrentCall(); c.Mode != wire.ModeOneToMany {
		t.Fatalf("mode after an invite: %q", c.Mode)
	}
	// Over the cap: nothing changes.
	isErrCode(t, bob.InviteUsers(ctx(t), []string{"dave"}), wire.CodeCallFull)
	dave.Flush()
	if n := count(dave.rec, func(event.IncomingCall) bool { return true }); n != 0 {
		t.Fatal("dave rang for a refused invite")
	}
	for _, c := range []*client{carol, bob, alice} {
		_ = c.EndCall(ctx(t))
	}
	logs, err := carol.GetCallLogs(ctx(t), 1)
	if err != nil || len(logs.CallLogs) != 1 || len(logs.CallLogs[0].InviteUserList) != 1 || logs.CallLogs[0].CallState != "incoming" {
		t.Fatalf("carol's logs %+v %v", logs, err)
	}
}
