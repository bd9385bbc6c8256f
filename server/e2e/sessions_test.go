package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
)

// signIn signs the user's existing account in through the sign-in form.
func (u *pwaUser) signIn(origin string) {
	u.t.Helper()
	navigate(u.t, u.ctx, origin+"/")
	u.wait(`document.querySelector('#auth-form')`, 60*time.Second)
	typeText(u.t, u.ctx, "#username", u.name)
	typeText(u.t, u.ctx, "#password", "correct horse battery")
	click(u.t, u.ctx, "#auth-submit")
	u.wait(`document.querySelector('#my-jid')`, 20*time.Second)
}

// signedOutElsewhere waits until the user's tab is back at the sign-in
// screen saying another device signed it out, with its token forgotten.
func (u *pwaUser) signedOutElsewhere() {
	u.t.Helper()
	u.wait(`document.querySelector('#auth-form') && document.body.innerText.includes('signed out from another device')`, 15*time.Second)
	if tok := eval[string](u.t, u.ctx, `localStorage.getItem('parley.token') || ''`); tok != "" {
		u.t.Errorf("%s: the revoked token is still saved", u.name)
	}
}

// TestPWASignIns: one account signed in in three browser contexts. The
// settings screen of the first lists all three (this device marked, the
// others active now), signs one out by keyboard, which lands at the sign-in
// screen and stays there after a reload, then signs out all others.
func TestPWASignIns(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	laptop := newPWAUser(t, b, "erin", "Erin Example", "desktop")
	phone := newPWAUser(t, b, "erin", "Erin Example", "phone")
	laptop.signUp(srv.URL)
	phone.signIn(srv.URL)

	click(t, laptop.ctx, "#open-settings")
	laptop.wait(`document.querySelectorAll('#signins-list li').length === 2`, 15*time.Second)
	items := `[...document.querySelectorAll('#signins-list li')]`
	if got := eval[string](t, laptop.ctx, items+`.map(li => li.innerText.replace(/\s+/g, ' ')).join(' | ')`); !strings.Contains(got, "This device") ||
		strings.Count(got, "Active now") != 2 || !strings.Contains(got, "Chrome on Linux") {
		t.Fatalf("the list shows %q", got)
	}
	if n := eval[int](t, laptop.ctx, `document.querySelectorAll('#signins-list .signin-end').length`); n != 1 {
		t.Fatalf("%d sign-out buttons, want 1 (none for this device)", n)
	}
	label := eval[string](t, laptop.ctx, `document.querySelector('#signins-list .signin-end').getAttribute('aria-label')`)
	if !strings.HasPrefix(label, "Sign out ") {
		t.Errorf("the sign-out button is labelled %q", label)
	}
	eval[bool](t, laptop.ctx, `(document.querySelector('#signins').scrollIntoView({block: 'end'}), true)`)
	laptop.shot("60-settings-signins")
	laptop.a11y("settings with sessions")

	// By keyboard: focus the button and press Enter.
	eval[bool](t, laptop.ctx, `(document.querySelector('#signins-list .signin-end').focus(), true)`)
	laptop.press(kb.Enter)
	phone.signedOutElsewhere()
	phone.shot("61-signed-out-elsewhere")
	laptop.wait(`document.querySelectorAll('#signins-list li').length === 1 && document.querySelector('#signins-status').textContent.startsWith('Signed out of')`, 15*time.Second)
	laptop.wait(`!document.querySelector('#signout-others')`, 5*time.Second)
	// The revoked tab cannot come back: a reload stays at sign-in.
	navigate(t, phone.ctx, srv.URL+"/")
	phone.wait(`document.querySelector('#auth-form')`, 60*time.Second)
	if eval[bool](t, phone.ctx, `!!document.querySelector('#my-jid')`) {
		t.Fatal("the revoked browser is signed in after a reload")
	}

	// Two devices again, then "Sign out of all other sessions".
	phone.signIn(srv.URL)
	tablet := newPWAUser(t, b, "erin", "Erin Example", "phone")
	tablet.signIn(srv.URL)
	navigate(t, laptop.ctx, srv.URL+"/settings")
	laptop.wait(`document.querySelectorAll('#signins-list li').length === 3 && document.querySelector('#signout-others')`, 60*time.Second)
	click(t, laptop.ctx, "#signout-others")
	phone.signedOutElsewhere()
	tablet.signedOutElsewhere()
	laptop.wait(`document.querySelectorAll('#signins-list li').length === 1 && document.querySelector('#signins-status').textContent === 'Signed out of 2 other sessions.'`, 15*time.Second)
	if !eval[bool](t, laptop.ctx, `!!document.querySelector('#signins-list li[data-current="true"]') || document.body.innerText.includes('This device')`) {
		t.Error("the laptop's own session is gone")
	}
	eval[bool](t, laptop.ctx, `(document.querySelector('#signins').scrollIntoView({block: 'end'}), true)`)
	laptop.shot("62-settings-signed-out-others")
}

// TestSDKSessions: the SDK lists the account's sessions, signs one out (its
// page hears AUTHFAIL with reason "revoked" and does not reconnect), signs
// out the rest, and rejects bad input with typed envelopes.
func TestSDKSessions(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	one := newSDKUser(t, b, srv.URL)
	two := newSDKUser(t, b, srv.URL)
	three := newSDKUser(t, b, srv.URL)
	one.register("frank")
	for _, u := range []*sdkUser{two, three} {
		u.ok(`Parley.connect("frank", "correct horse battery")`)
	}

	var list []struct {
		SessionID    string `json:"sessionId"`
		Device       string `json:"device"`
		CreatedAt    int64  `json:"createdAt"`
		LastActiveAt int64  `json:"lastActiveAt"`
		Current      bool   `json:"current"`
		Online       bool   `json:"online"`
	}
	if err := json.Unmarshal(one.ok(`Parley.getSessions()`).Data, &list); err != nil || len(list) != 3 {
		t.Fatalf("getSessions: %+v, %v", list, err)
	}
	if !list[0].Current || list[1].Current || list[2].Current || !list[1].Online || list[0].CreatedAt == 0 || !strings.Contains(list[0].Device, "on Linux") {
		t.Fatalf("getSessions: %+v", list)
	}
	one.expect(400, `Parley.endSession()`)
	one.expect(400, `Parley.endSession(42)`)
	one.expect(400, `Parley.endSession(`+jsString(list[0].SessionID)+`)`)
	one.expect(404, `Parley.endSession("no-such-session")`)

	// Which of the others is two? Ask two.
	var mine []struct {
		SessionID string `json:"sessionId"`
		Current   bool   `json:"current"`
	}
	if err := json.Unmarshal(two.ok(`Parley.getSessions()`).Data, &mine); err != nil || !mine[0].Current {
		t.Fatalf("two's getSessions: %+v, %v", mine, err)
	}
	one.ok(`Parley.endSession(` + jsString(mine[0].SessionID) + `)`)
	two.waitEvent("connectionListener", `a.status === "AUTHFAIL" && a.reason === "revoked"`)
	two.expect(401, `Parley.getSessions()`)

	env := one.ok(`Parley.logoutOtherSessions()`)
	if string(env.Data) != `{"revoked":1}` {
		t.Errorf("logoutOtherSessions data %s", env.Data)
	}
	three.waitEvent("connectionListener", `a.status === "AUTHFAIL" && a.reason === "revoked"`)
	if n := eval[int](t, two.ctx, `window.ev.filter((e) => e.name === "connectionListener" && e.args[0].status === "RECONNECTING").length`); n != 0 {
		t.Errorf("the revoked page tried to reconnect %d times", n)
	}
	if err := json.Unmarshal(one.ok(`Parley.getSessions()`).Data, &list); err != nil || len(list) != 1 || !list[0].Current {
		t.Fatalf("after logoutOtherSessions: %+v, %v", list, err)
	}
}
