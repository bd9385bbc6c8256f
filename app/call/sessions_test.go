//go:build !(js && wasm)

package call_test

import (
	"testing"

	"parley/app/call/event"
	"parley/app/wire"
	"parley/server/hub"
)

// TestSessions: alice lists her sessions from one device, signs out another
// that is in a call with bob (bob sees her leave; that engine hears it was
// signed out and does not reconnect), then signs out all others.
func TestSessions(t *testing.T) {
	srv := startServer(t, hub.Config{})
	laptop := register(t, srv, "alice")
	phone := login(t, srv, "alice", nil)
	bob := register(t, srv, "bob")

	list, err := laptop.GetSessions(ctx(t))
	if err != nil || len(list) != 2 {
		t.Fatalf("GetSessions = %+v, %v", list, err)
	}
	if !list[0].Current || list[1].Current || !list[0].Online || !list[1].Online {
		t.Fatalf("sessions %+v", list)
	}
	if list[0].Device != "Go client" || list[0].SessionID == laptop.Token() {
		t.Errorf("current session %+v", list[0])
	}
	phoneID := list[1].SessionID

	// Bad input: typed errors.
	isErrCode(t, laptop.EndSession(ctx(t), ""), wire.CodeBadRequest)
	isErrCode(t, laptop.EndSession(ctx(t), list[0].SessionID), wire.CodeBadRequest)
	isErrCode(t, laptop.EndSession(ctx(t), "no-such-session"), wire.CodeNotFound)
	if l, _ := bob.GetSessions(ctx(t)); len(l) != 1 {
		t.Fatalf("bob sees %+v", l)
	}
	isErrCode(t, bob.EndSession(ctx(t), phoneID), wire.CodeNotFound)

	connectCall(t, bob, phone, false)
	if err := laptop.EndSession(ctx(t), phoneID); err != nil {
		t.Fatal(err)
	}
	wait(t, phone.rec, "the phone hears it was signed out", func(v event.ConnectionStatus) bool {
		return v.Status == event.AuthFail && v.Reason == event.ReasonRevoked
	})
	bob.waitStatus(t, phone.jid, wire.StatusDisconnected)
	if _, ok := phone.User(); ok || phone.Token() != "" {
		t.Error("the signed-out engine still has a user or token")
	}
	if _, ok := phone.CurrentCall(); ok {
		t.Error("the signed-out engine is still in the call")
	}
	_, err = phone.MakeVoiceCall(ctx(t), []string{bob.jid}, "")
	isErrCode(t, err, wire.CodeUnauthorized)
	phone.Flush()
	if n := count(phone.rec, func(v event.ConnectionStatus) bool { return v.Status == event.Reconnecting }); n != 0 {
		t.Errorf("the signed-out engine tried to reconnect (%d RECONNECTING)", n)
	}

	// Sign out everywhere else: two more sessions go, the laptop stays.
	tablet := login(t, srv, "alice", nil)
	desk := login(t, srv, "alice", nil)
	n, err := laptop.LogoutOtherSessions(ctx(t))
	if err != nil || n != 2 {
		t.Fatalf("LogoutOtherSessions = %d, %v; want 2", n, err)
	}
	for _, c := range []*client{tablet, desk} {
		wait(t, c.rec, "a tab hears it was signed out", func(v event.ConnectionStatus) bool {
			return v.Status == event.AuthFail && v.Reason == event.ReasonRevoked
		})
	}
	if l, err := laptop.GetSessions(ctx(t)); err != nil || len(l) != 1 || !l[0].Current {
		t.Fatalf("after LogoutOtherSessions: %+v, %v", l, err)
	}
}
