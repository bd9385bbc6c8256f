package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The keyboard shortcuts dialog; the keys are handled in shortcuts_state.go.

// helpDialog lists the keyboard shortcuts.
func (c *InCall) helpDialog() app.UI {
	s := c.S
	keys := []struct{ Key, What string }{
		{"M", "Mute or unmute your microphone"},
		{"V", "Turn your camera off or on (video calls)"},
		{"C", "Open or close messages"},
		{"S", "Share your screen or stop sharing"},
		{"Esc", "Close a dialog or the messages panel"},
		{"?", "Show these shortcuts"},
	}
	return dialog("help-dialog", "Keyboard shortcuts", false,
		app.Dl().Class("keys").Body(app.Range(keys).Slice(func(i int) app.UI {
			return app.Div().Class("key-row").Body(app.Dt().Body(app.Kbd().Text(keys[i].Key)), app.Dd().Text(keys[i].What))
		})),
		app.P().Class("muted").Text("Shortcuts don't work while you type in a text field."),
		app.Button().ID("help-close").Class("btn btn-primary").Type("button").Text("Close").
			OnClick(func(ctx app.Context, e app.Event) { s.escape(ctx) }),
	)
}
