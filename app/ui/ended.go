package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
)

// Ended is the short "Call ended" state before going back home.
type Ended struct {
	app.Compo
	Text string
}

// Render implements app.Composer.
func (c *Ended) Render() app.UI {
	return app.Section().ID("call-ended").Class("call-screen ended").Role("status").Body(
		app.H1().Text(c.Text),
		app.P().Class("muted").Text("Returning to your calls…"),
	)
}

// focus moves keyboard focus to the element with the given id.
func focus(id string) { browser.Focus(id) }
