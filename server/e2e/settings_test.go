package e2e

import (
	"strconv"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
)

// choose picks option index i of a select the way the browser does (value,
// then a change event) and returns the chosen value.
func choose(t *testing.T, u *pwaUser, sel string, i int) string {
	t.Helper()
	return eval[string](t, u.ctx, `(() => { const s = document.querySelector('`+sel+`'); s.value = s.options[`+strconv.Itoa(i)+`].value; s.dispatchEvent(new Event('change', {bubbles: true})); return s.value })()`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string { return strconv.Quote(s) }

// TestPWASettings opens the settings screen from the header, lists the fake
// devices with their names, remembers a microphone and a camera across a
// reload, and shows and tests notifications.
func TestPWASettings(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	dana := newPWAUser(t, b, "dana", "Dana Scully", "desktop")
	dana.signUp(srv.URL)

	click(t, dana.ctx, "#open-settings")
	dana.wait(`location.pathname === '/settings' && document.querySelector('#mic-select')`, 10*time.Second)
	dana.wait(`document.activeElement && document.activeElement.id === 'settings-title'`, 5*time.Second)
	dana.wait(`!document.body.innerText.includes('Looking for devices')`, 10*time.Second)
	dana.shot("40-settings")
	// Names appear once Parley may use the devices.
	if ok, _ := evalErr[bool](dana.ctx, `!!document.querySelector('#grant-devices')`); ok {
		click(t, dana.ctx, "#grant-devices")
	}
	dana.wait(`[...document.querySelectorAll('#mic-select option')].some(o => /fake/i.test(o.textContent))`, 15*time.Second)
	dana.wait(`[...document.querySelectorAll('#camera-select option')].some(o => /fake/i.test(o.textContent))`, 5*time.Second)
	mics := eval[int](t, dana.ctx, `document.querySelectorAll('#mic-select option').length`)
	if mics < 2 {
		t.Fatalf("the microphone picker has %d options", mics)
	}
	t.Logf("microphones: %s", eval[string](t, dana.ctx, `[...document.querySelectorAll('#mic-select option')].map(o => o.textContent).join(' | ')`))
	t.Logf("speakers: %s", eval[string](t, dana.ctx, `[...document.querySelectorAll('#speaker-select option')].map(o => o.textContent).join(' | ')`))

	mic := choose(t, dana, "#mic-select", mics-1)
	dana.wait(`document.querySelector('#settings-saved').textContent.includes('next call uses this microphone')`, 5*time.Second)
	if got := eval[string](t, dana.ctx, `localStorage.getItem('parley.mic')`); got != mic {
		t.Errorf("localStorage parley.mic = %q, want %q", got, mic)
	}
	cam := choose(t, dana, "#camera-select", 1)
	dana.shot("41-settings-chosen")
	dana.a11y("settings")

	// A reload keeps both choices.
	navigate(t, dana.ctx, srv.URL+"/settings")
	dana.wait(`document.querySelector('#mic-select') && document.querySelector('#mic-select').value === `+jsString(mic), 60*time.Second)
	dana.wait(`document.querySelector('#camera-select').value === `+jsString(cam), 5*time.Second)

	// Notifications: allowed through the browser, then a test notification.
	dana.wait(`document.querySelector('#notif-status')`, 5*time.Second)
	if ok, _ := evalErr[bool](dana.ctx, `Notification.permission === 'default'`); ok {
		dana.wait(`document.querySelector('#allow-notifications')`, 5*time.Second)
	}
	setPermission(t, dana.ctx, srv.URL, "notifications", cdpbrowser.PermissionSettingGranted)
	navigate(t, dana.ctx, srv.URL+"/settings")
	dana.wait(`document.querySelector('#test-notification')`, 60*time.Second)
	dana.wait(`document.querySelector('#notif-status').textContent.includes('Notifications are on')`, 5*time.Second)
	click(t, dana.ctx, "#test-notification")
	dana.wait(`document.querySelector('#notif-result')`, 10*time.Second)
	t.Logf("test notification: %s", eval[string](t, dana.ctx, `document.querySelector('#notif-result').textContent`))
	dana.shot("42-settings-notifications")

	// Phone size, then back home by the Back link.
	setViewport(t, dana.ctx, 390, 844)
	dana.shotSize = "phone"
	dana.shot("43-settings")
	dana.a11y("settings")
	click(t, dana.ctx, "#settings-back")
	dana.wait(`location.pathname === '/' && document.querySelector('#dial-to')`, 10*time.Second)
	// The group name field appears for several usernames.
	typeText(t, dana.ctx, "#dial-to", "bob, carol")
	dana.wait(`document.querySelector('#group-name')`, 5*time.Second)
	dana.shot("44-home-group")
	dana.a11y("home with a group name")
}
