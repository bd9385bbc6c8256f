//go:build !(js && wasm)

package call_test

import (
	"testing"
	"time"

	"parley/app/call"
	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
)

// knockIn runs joiner's JoinCall, which knocks, waits for member's
// callJoinRequestListener to report it, admits it, and returns the request
// once JoinCall has resolved.
func knockIn(t *testing.T, joiner *call.Engine, member *client) event.CallJoinRequest {
	t.Helper()
	req, done := knock(t, joiner, member)
	select {
	case err := <-done:
		t.Fatalf("JoinCall returned %v before anyone let it in", err)
	default:
	}
	if err := member.AdmitUser(ctx(t), req.UserJID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("JoinCall after admit: %v", err)
	}
	wait(t, member.rec, "the request admitted", func(v event.CallJoinRequest) bool {
		return v.RequestID == req.RequestID && v.Status == wire.KnockAdmitted && v.By == member.jid
	})
	return req
}

// knock starts joiner's JoinCall and waits until member sees the request;
// the returned channel gets JoinCall's result.
func knock(t *testing.T, joiner *call.Engine, member *client) (event.CallJoinRequest, chan error) {
	t.Helper()
	u, _ := joiner.User()
	earlier := map[string]bool{}
	count(member.rec, func(v event.CallJoinRequest) bool { earlier[v.RequestID] = true; return true })
	done := make(chan error, 1)
	go func() { done <- joiner.JoinCall(ctx(t)) }()
	req := wait(t, member.rec, "the join request", func(v event.CallJoinRequest) bool {
		return v.UserJID == u.JID && v.Status == event.JoinWaiting && !earlier[v.RequestID]
	})
	return req, done
}

// TestKnockDenyTimeoutCancel: a 1:1 call shows no link until CallLink
// shares it; a denied, a timed-out and a withdrawn knock each reject
// JoinCall with its code and leave the call as it was (media still flows
// between its two members); a guest cannot admit.
func TestKnockDenyTimeoutCancel(t *testing.T) {
	srv := startServer(t, hub.Config{KnockTimeout: time.Second})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	ref := connectCall(t, alice, bob, false)
	if ref.RoomLink != "" {
		t.Fatalf("a 1:1 call shows its link before sharing: %+v", ref)
	}
	if in := wait(t, bob.rec, "bob's incoming call", func(event.IncomingCall) bool { return true }); in.RoomLink != "" {
		t.Fatalf("the callee sees the link %q", in.RoomLink)
	}
	link, err := bob.CallLink(ctx(t))
	if err != nil {
		t.Fatal(err)
	}

	ge, _ := newClient(t, srv, nil)
	if err := ge.SubscribeCall(ctx(t), link, "alice"); err != nil { // named like the caller
		t.Fatal(err)
	}
	gu, _ := ge.User()
	req, done := knock(t, ge, alice)
	if !req.Guest || req.DisplayName != "alice" || req.UserJID != gu.JID || req.RoomID != ref.RoomID {
		t.Fatalf("join request %+v", req)
	}
	wait(t, bob.rec, "bob sees the request", func(v event.CallJoinRequest) bool { return v.RequestID == req.RequestID })
	if err := bob.DenyUser(ctx(t), gu.JID); err != nil {
		t.Fatal(err)
	}
	isErrCode(t, <-done, wire.CodeNotAdmitted)
	wait(t, alice.rec, "alice sees it denied", func(v event.CallJoinRequest) bool {
		return v.RequestID == req.RequestID && v.Status == wire.KnockDenied && v.By == bob.jid
	})
	isErrCode(t, alice.AdmitUser(ctx(t), gu.JID), wire.CodeNotFound) // the first decision won

	// Nobody answers: refused after the timeout.
	_, done = knock(t, ge, alice)
	isErrCode(t, <-done, wire.CodeKnockTimeout)

	// The joiner gives up.
	req, done = knock(t, ge, alice)
	if err := ge.UnsubscribeCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	isErrCode(t, <-done, wire.CodeNotAdmitted)
	wait(t, alice.rec, "alice sees it withdrawn", func(v event.CallJoinRequest) bool {
		return v.RequestID == req.RequestID && v.Status == wire.KnockCanceled
	})

	// Nothing changed: still two, media flowing.
	if n, _ := alice.GetCallUsername(gu.JID); n != "" {
		t.Fatalf("the guest is in the call as %q", n)
	}
	bob.Flush()
	meshFlows(t, rtc.KindAudio, alice, bob)

	// Admitted, the guest is marked as a guest in the members' statuses.
	if err := ge.SubscribeCall(ctx(t), link, "alice"); err != nil {
		t.Fatal(err)
	}
	knockIn(t, ge, bob)
	st := wait(t, alice.rec, "the guest in usersStatus", func(v event.CallStatus) bool {
		for _, u := range v.UsersStatus {
			if u.UserJID == gu.JID && u.Guest {
				return true
			}
		}
		return false
	})
	for _, u := range st.UsersStatus {
		if u.UserJID != gu.JID && u.Guest {
			t.Errorf("%s marked as a guest", u.UserJID)
		}
	}
	// A guest cannot let anyone in.
	ce, _ := newClient(t, srv, nil)
	if err := ce.SubscribeCall(ctx(t), link, "Carl"); err != nil {
		t.Fatal(err)
	}
	cu, _ := ce.User()
	guest := &client{Engine: ge, name: "guest", jid: gu.JID}
	_, done = knock(t, ce, alice)
	isErrCode(t, guest.AdmitUser(ctx(t), cu.JID), wire.CodeForbidden)
	if err := alice.AdmitUser(ctx(t), cu.JID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// An engine closed while its JoinCall waits stops waiting.
	de, drec := newClient(t, srv, nil)
	if err := de.SubscribeCall(ctx(t), link, "Dee"); err != nil {
		t.Fatal(err)
	}
	_, done = knock(t, de, alice)
	wait(t, drec, "Dee's own waiting request", func(v event.CallJoinRequest) bool { return v.LocalUser && v.Status == event.JoinWaiting })
	de.Close()
	isErrCode(t, <-done, wire.CodeNotAdmitted)
}
