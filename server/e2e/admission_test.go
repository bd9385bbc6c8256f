package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
)

// startJoin starts joinCall without waiting for it: it resolves only once a
// member lets this user in. awaitJoin waits for its envelope.
func (u *sdkUser) startJoin() {
	u.t.Helper()
	eval[bool](u.t, u.ctx, `(window.joinP = Parley.joinCall(() => {}), true)`)
}

func (u *sdkUser) awaitJoin() envelope {
	u.t.Helper()
	return u.call(`window.joinP`)
}

// admitKnock waits for a waiting callJoinRequestListener matching pred (a
// JS expression over a), admits that user and returns the request.
func (u *sdkUser) admitKnock(pred string) map[string]any {
	u.t.Helper()
	return u.admitKnockAfter(pred, 0)
}

// admitKnockAfter is admitKnock admitting only once the request has been
// shown for wait, as a person reads it first (benchmarks).
func (u *sdkUser) admitKnockAfter(pred string, wait time.Duration) map[string]any {
	u.t.Helper()
	req := u.waitEvent("callJoinRequestListener", `a.status === "waiting" && !a.localUser && `+pred)
	time.Sleep(wait)
	u.ok(fmt.Sprintf(`Parley.admitUser(%q)`, req["userJid"]))
	return req
}

// TestSDKAdmission: in a 1:1 call nothing carries the link until a member
// asks for it; a link of no shared call is refused like a link of no call;
// after getCallLink a guest's joinCall knocks, both members hear it, a deny
// rejects the joinCall (100610) and leaves the call as it was, the first
// decision wins, and the next knock is admitted with the guest marked.
func TestSDKAdmission(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob := newGroupUser(t, b, srv.URL, "alice"), newGroupUser(t, b, srv.URL, "bob")
	made := alice.ok(`Parley.makeVoiceCall(["bob"])`)
	in := bob.waitEvent("incomingCallListener", `true`)
	var ref struct{ RoomLink string }
	if err := json.Unmarshal(made.Data, &ref); err != nil || in["roomLink"] != "" || ref.RoomLink != "" {
		t.Fatalf("the link leaks before sharing: incoming %v, makeVoiceCall %s (%v)", in["roomLink"], made.Data, err)
	}
	if d, _ := in["userDetails"].(map[string]any); d["guest"] != false {
		t.Errorf("incoming userDetails %v: want guest false", d)
	}
	bob.ok(`Parley.answerCall()`)
	alice.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === "bob@localhost"`)

	guest := newGroupUser(t, b, srv.URL, "")
	guest.expect(100601, `Parley.subscribeCall("abc-defg-hij", "User alice")`) // what any unshared link gets

	var link string
	_ = json.Unmarshal(bob.ok(`Parley.getCallLink()`).Data, &link)
	guest.ok(fmt.Sprintf(`Parley.subscribeCall(%q, "User alice")`, link)) // named like alice
	guest.startJoin()
	guest.waitEvent("callJoinRequestListener", `a.localUser && a.status === "waiting" && a.guest === true && a.displayName === "User alice"`)
	var jid string
	for _, m := range []*sdkUser{alice, bob} {
		req := m.waitEvent("callJoinRequestListener", `a.status === "waiting" && a.displayName === "User alice"`)
		if req["guest"] != true || req["requestId"] == "" || !strings.HasPrefix(req["userJid"].(string), "guest-") {
			t.Fatalf("%s: join request %v", m.jid, req)
		}
		jid = req["userJid"].(string)
	}
	alice.ok(fmt.Sprintf(`Parley.denyUser(%q)`, jid))
	if env := guest.awaitJoin(); env.StatusCode != 100610 || env.Message == "" {
		t.Fatalf("denied joinCall: %+v", env)
	}
	bob.waitEvent("callJoinRequestListener", `a.status === "denied" && a.by === "alice@localhost"`)
	bob.expect(404, fmt.Sprintf(`Parley.admitUser(%q)`, jid))
	if n := eval[int](t, alice.ctx, `window.ev.filter((e) => e.name === "callUserJoinedListener").length`); n != 1 {
		t.Errorf("alice saw %d joins, want bob's only", n)
	}
	guest.expect(100609, `Parley.admitUser("bob@localhost")`) // not in the call

	// Knock again: bob lets the guest in; everyone sees "guest: true".
	guest.startJoin()
	bob.admitKnock(`a.displayName === "User alice"`)
	if env := guest.awaitJoin(); env.StatusCode != 200 {
		t.Fatalf("admitted joinCall: %+v", env)
	}
	alice.waitEvent("callUserJoinedListener", fmt.Sprintf(`a.userJid === %q && a.guest === true`, jid))
	alice.waitEvent("callStatusListener", fmt.Sprintf(`a.usersStatus.some((u) => u.userJid === %q && u.guest === true)`, jid))
	guest.waitEvent("callStatusListener", `a.usersStatus.some((u) => u.userJid === "alice@localhost" && u.guest === false)`)
	// A guest cannot let anyone in.
	guest.expect(403, `Parley.admitUser("carol@localhost")`)

	// An open meet link lets people in without knocking.
	dave, erin := newGroupUser(t, b, srv.URL, "dave"), newGroupUser(t, b, srv.URL, "erin")
	dave.expect(400, `Parley.createMeetLink("audio", {open: "yes"})`)
	var meet struct{ Link string }
	_ = json.Unmarshal(dave.ok(`Parley.createMeetLink({callType: "audio", open: true})`).Data, &meet)
	erin.ok(fmt.Sprintf(`Parley.subscribeCall(%q, "")`, meet.Link))
	if env := erin.call(`Parley.joinCall()`); env.StatusCode != 200 {
		t.Fatalf("joinCall on an open link: %+v", env)
	}
	if n := eval[int](t, erin.ctx, `window.ev.filter((e) => e.name === "callJoinRequestListener").length`); n != 0 {
		t.Errorf("an open link knocked (%d join request events)", n)
	}
}

// TestPWAKnockDeny: a guest knocks on a call through the PWA and waits; the
// members see the knock card, reachable by keyboard; one denies it with the
// keyboard, and the guest sees that they were not let in. The call goes on.
func TestPWAKnockDeny(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	guest := newPWAUser(t, b, "guest", "Alice Liddell", "phone") // named like alice
	alice.signUp(srv.URL)
	bob.signUp(srv.URL)
	typeText(t, alice.ctx, "#dial-to", "bob")
	click(t, alice.ctx, "#call-video")
	bob.wait(`document.querySelector('#answer-call')`, 15*time.Second)
	click(t, bob.ctx, "#answer-call")
	alice.wait(`document.querySelector('.incall')`, 20*time.Second)
	click(t, bob.ctx, "#copy-call-link")
	bob.wait(textOf("#call-link-text")+`.includes('/join/')`, 10*time.Second)
	link := eval[string](t, bob.ctx, `document.querySelector('#call-link-text').textContent`)

	navigate(t, guest.ctx, link)
	guest.wait(`document.querySelector('#guest-name')`, 60*time.Second)
	typeText(t, guest.ctx, "#guest-name", guest.display)
	click(t, guest.ctx, "#guest-continue")
	guest.wait(`document.querySelectorAll('#call-users .call-user').length === 2 && document.querySelector('#join-now')`, 20*time.Second)
	click(t, guest.ctx, "#join-now")
	guest.wait(textOf("#join-waiting")+`.includes('Waiting for someone to let you in')`, 20*time.Second)
	if h := eval[string](t, guest.ctx, textOf("#join-title")); h != "Asking to join" {
		t.Errorf("waiting heading %q", h)
	}
	guest.shot("k01-waiting")
	guest.a11y("join page waiting to be let in")

	alice.wait(textOf(".knock-text")+` === 'Alice Liddell (guest) wants to join'`, 20*time.Second)
	alice.shot("k02-knock-card")
	alice.a11y("in call with a knock card")
	bob.wait(`document.querySelector('.knock-card')`, 20*time.Second)
	bob.shot("k02-knock-card")

	// Keyboard: focus Admit, Tab to Deny, Enter.
	eval[bool](t, alice.ctx, `(document.querySelector('.knock-card button[id^="knock-admit-"]').focus(), true)`)
	alice.press(kb.Tab)
	if id := eval[string](t, alice.ctx, `document.activeElement.id`); !strings.HasPrefix(id, "knock-deny-") {
		t.Fatalf("Tab from Admit reached %q, want the Deny button", id)
	}
	alice.press(kb.Enter)
	guest.wait(textOf("#join-title")+` === 'You were not let in'`, 20*time.Second)
	guest.shot("k03-not-let-in")
	alice.wait(`!document.querySelector('.knock-card')`, 10*time.Second)
	bob.wait(`!document.querySelector('.knock-card')`, 10*time.Second)
	bob.waitNote("did not let")
	// The call is as it was: two people, video flowing.
	if n := eval[int](t, alice.ctx, `document.querySelectorAll('.remote-video').length`); n != 1 {
		t.Errorf("alice has %d remote tiles after the deny, want 1", n)
	}
	alice.remoteVideoPlays()
}
