// Package ui is the Parley PWA: go-app components, one screen per file, over
// the call engine. The server calls Routes too (with a nil engine) so that it
// can prerender the pages; nothing here touches browser APIs outside event
// handlers and OnMount, and media and notifications go through package browser.
//
// Engine events arrive on an engine goroutine. session.post hands each one to
// go-app's UI goroutine with the mounted Shell's Context.Dispatch; all page
// state is read and written on the UI goroutine only.
package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Routes registers the PWA's pages with go-app: "/", "/settings" and the call
// links "/join/<code>". eng is the page's call engine in the browser and nil when
// the server prerenders pages.
func Routes(eng Engine) {
	newShell := func() app.Composer { return &Shell{s: newSession(nil)} }
	if eng != nil {
		s := newSession(eng) // one session for the page, shared by every mount
		s.signInEarly()
		newShell = func() app.Composer { return &Shell{s: s} }
	}
	app.Route("/", newShell)
	app.Route("/settings", newShell)
	app.RouteWithRegexp("^/join/[A-Za-z0-9-]{1,64}$", newShell)
}
