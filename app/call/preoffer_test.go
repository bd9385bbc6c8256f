//go:build !(js && wasm)

package call_test

import (
	"sync"
	"testing"
	"time"

	"parley/app/call"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
)

// signals records the call.signal payloads an engine receives, by sender.
type signals struct {
	mu  sync.Mutex
	got []signalSeen
}

type signalSeen struct {
	from string
	p    wire.Payload
}

func watchSignals(c *client) *signals {
	s := &signals{}
	call.SetSignalHook(c.Engine, func(from string, p wire.Payload) {
		s.mu.Lock()
		s.got = append(s.got, signalSeen{from, p})
		s.mu.Unlock()
	})
	return s
}

// count is how many payloads from jid match.
func (s *signals) count(from string, match func(wire.Payload) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.got {
		if g.from == from && match(g.p) {
			n++
		}
	}
	return n
}

func isOffer(p wire.Payload) bool  { return p.SDP != nil && p.SDP.Type == "offer" }
func isAnswer(p wire.Payload) bool { return p.SDP != nil && p.SDP.Type == "answer" }
func anything(wire.Payload) bool   { return true }

// waitPrepared waits until c has prepared n answers for room while it rings.
func waitPrepared(t *testing.T, c *client, room string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for call.Prepared(c.Engine, room) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s prepared %d answers for the ringing call, want %d", c.name, call.Prepared(c.Engine, room), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAnswerPreparedWhileRinging: the caller's offer reaches the callee while
// it rings; the callee prepares its answer but sends nothing until the user
// answers, and then the answer goes with call.answer: the caller never gets
// an offer from the callee, and the callee gets no offer after answering.
func TestAnswerPreparedWhileRinging(t *testing.T) {
	for _, tc := range []struct {
		name  string
		video bool
		ring  time.Duration // how long it rings before bob answers
	}{
		{"voice", false, 300 * time.Millisecond},
		{"video", true, 300 * time.Millisecond},
		// Past pion's ICE checking timeout (6 s in these tests): a prepared
		// answer must not have started an ICE agent that gave up meanwhile.
		{"video after a long ring", true, 7 * time.Second},
	} {
		video := tc.video
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, hub.Config{})
			alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
			atAlice, atBob := watchSignals(alice), watchSignals(bob)
			var ref call.CallRef
			var err error
			if video {
				ref, err = alice.MakeVideoCall(ctx(t), []string{bob.jid}, "")
			} else {
				ref, err = alice.MakeVoiceCall(ctx(t), []string{bob.jid}, "")
			}
			if err != nil {
				t.Fatal(err)
			}
			bob.waitIncoming(t)
			waitPrepared(t, bob, ref.RoomID, 1)
			time.Sleep(tc.ring) // bob's candidates are gathered by now: none may leave
			if n := atAlice.count(bob.jid, anything); n != 0 {
				t.Fatalf("alice got %d signals from bob while it rang: the callee revealed something before answering", n)
			}
			if err := bob.AnswerCall(ctx(t)); err != nil {
				t.Fatal(err)
			}
			alice.waitStatus(t, bob.jid, wire.StatusConnected)
			bob.waitStatus(t, alice.jid, wire.StatusConnected)
			kinds := []string{rtc.KindAudio}
			if video {
				kinds = append(kinds, rtc.KindVideo)
			}
			for _, k := range kinds {
				alice.waitPackets(t, bob.jid, k, 10)
				bob.waitPackets(t, alice.jid, k, 10)
			}
			if n := atAlice.count(bob.jid, isAnswer); n != 1 {
				t.Errorf("alice got %d answers from bob, want the one prepared", n)
			}
			if n := atAlice.count(bob.jid, isOffer); n != 0 {
				t.Errorf("alice got %d offers from bob: the pair negotiated again", n)
			}
			if n := atBob.count(alice.jid, isOffer); n != 0 {
				t.Errorf("bob got %d offers from alice after answering: the pre-offer was not used", n)
			}
		})
	}
}

// TestAnswerOnTabThatMissedThePreOffer: a tab that signs in while the call
// already rings never saw the caller's offer; answering there asks the
// caller for it again and the call connects.
func TestAnswerOnTabThatMissedThePreOffer(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	ref, err := alice.MakeVideoCall(ctx(t), []string{bob.jid}, "")
	if err != nil {
		t.Fatal(err)
	}
	bob.waitIncoming(t)
	waitPrepared(t, bob, ref.RoomID, 1)
	late := login(t, srv, "bob", nil)
	atAlice := watchSignals(alice)
	late.waitIncoming(t)
	if n := call.Prepared(late.Engine, ref.RoomID); n != 0 {
		t.Fatalf("the late tab prepared %d answers, want none (it never got the offer)", n)
	}
	if err := late.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	alice.waitStatus(t, bob.jid, wire.StatusConnected)
	late.waitStatus(t, alice.jid, wire.StatusConnected)
	alice.waitPackets(t, bob.jid, rtc.KindVideo, 10)
	late.waitPackets(t, alice.jid, rtc.KindVideo, 10)
	if n := atAlice.count(bob.jid, func(p wire.Payload) bool { return p.Reoffer }); n != 1 {
		t.Errorf("alice got %d reoffer requests from bob's late tab, want 1", n)
	}
	if call.Prepared(bob.Engine, ref.RoomID) != 0 {
		t.Errorf("the first tab still holds its prepared peer after the call was answered elsewhere")
	}
}

// TestGroupAnswersPrepared: in a group ring everyone joined pre-offers to
// those still ringing, so the last to answer gets no offer afterwards, and
// the mesh is complete.
func TestGroupAnswersPrepared(t *testing.T) {
	// Dave answers after bob's and carol's connections are up: on a starved
	// CI machine that took longer than the default 30 s ring (CI11).
	srv := startServer(t, hub.Config{RingTimeout: 5 * time.Minute})
	alice, bob, carol, dave := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol"), register(t, srv, "dave")
	atDave := watchSignals(dave)
	ref, err := alice.MakeVideoCall(ctx(t), []string{bob.jid, carol.jid, dave.jid}, "team")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []*client{bob, carol} {
		c.waitIncoming(t)
		waitPrepared(t, c, ref.RoomID, i+1) // from alice, then also from bob
		if err := c.AnswerCall(ctx(t)); err != nil {
			t.Fatal(err)
		}
		alice.waitStatus(t, c.jid, wire.StatusConnected)
	}
	dave.waitIncoming(t)
	waitPrepared(t, dave, ref.RoomID, 3) // alice, bob and carol offered while it rang
	if err := dave.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	meshFlows(t, rtc.KindVideo, alice, bob, carol, dave)
	for _, o := range []*client{alice, bob, carol} {
		if n := atDave.count(o.jid, isOffer); n != 0 {
			t.Errorf("dave got %d offers from %s after answering, want 0", n, o.name)
		}
	}
}

// TestDeclinedDropsPrepared: a declined ring leaves nothing prepared behind,
// and the caller drops its pre-offered peer.
func TestDeclinedDropsPrepared(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	ref, err := alice.MakeVoiceCall(ctx(t), []string{bob.jid, carol.jid}, "g")
	if err != nil {
		t.Fatal(err)
	}
	bob.waitIncoming(t)
	carol.waitIncoming(t)
	waitPrepared(t, bob, ref.RoomID, 1)
	waitPrepared(t, carol, ref.RoomID, 1)
	if err := bob.DeclineCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	alice.waitStatus(t, bob.jid, wire.StatusDeclined)
	if n := call.Prepared(bob.Engine, ref.RoomID); n != 0 {
		t.Errorf("bob still holds %d prepared peers after declining", n)
	}
	if err := carol.AnswerCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	meshFlows(t, rtc.KindAudio, alice, carol)
}

// TestKnockerPrepared: while a guest knocks, every member already offers to
// it (without candidates: the server refuses any), the guest prepares its
// answers and sends nothing; once let in, its answers go at once and nobody
// offers again. A denied knock leaves nothing prepared on either side.
func TestKnockerPrepared(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	ref, err := alice.MakeVideoCall(ctx(t), []string{bob.jid, carol.jid}, "team")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{bob, carol} {
		c.waitIncoming(t)
		if err := c.AnswerCall(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	meshFlows(t, rtc.KindVideo, alice, bob, carol)
	link, err := alice.CallLink(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	ge, grec := newClient(t, srv, nil)
	guest := &client{Engine: ge, rec: grec, name: "guest"}
	if err := ge.SubscribeCall(ctx(t), link, "Gina"); err != nil {
		t.Fatal(err)
	}
	u, _ := ge.User()
	guest.jid = u.JID
	atGuest := watchSignals(guest)
	atMembers := map[*client]*signals{}
	for _, m := range []*client{alice, bob, carol} {
		atMembers[m] = watchSignals(m)
	}

	// Denied: what the members offered is dropped, and the guest's too.
	req, done := knock(t, ge, alice)
	waitPrepared(t, guest, ref.RoomID, 2) // alice and bob admit; carol too
	if err := alice.DenyUser(ctx(t), req.UserJID); err != nil {
		t.Fatal(err)
	}
	isErrCode(t, <-done, wire.CodeNotAdmitted)
	if n := call.Prepared(ge, ref.RoomID); n != 0 {
		t.Fatalf("the denied guest still holds %d prepared peers", n)
	}

	// Let in: the members' offers were applied while it knocked.
	req, done = knock(t, ge, alice)
	waitPrepared(t, guest, ref.RoomID, 3)
	time.Sleep(300 * time.Millisecond) // anything that would leak, leaks now
	for m, s := range atMembers {
		if n := s.count(guest.jid, anything); n != 0 {
			t.Fatalf("%s got %d signals from the guest before it was let in", m.name, n)
		}
	}
	if err := alice.AdmitUser(ctx(t), req.UserJID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	meshFlows(t, rtc.KindVideo, alice, bob, carol, guest)
	for m, s := range atMembers {
		if n := s.count(guest.jid, isOffer); n != 0 {
			t.Errorf("%s got %d offers from the guest: the pair negotiated again", m.name, n)
		}
		if n := s.count(guest.jid, isAnswer); n != 1 {
			t.Errorf("%s got %d answers from the guest, want its prepared one", m.name, n)
		}
		if n := atGuest.count(m.jid, isOffer); n != 0 {
			t.Errorf("the guest got %d offers from %s after it was let in", n, m.name)
		}
	}
}
