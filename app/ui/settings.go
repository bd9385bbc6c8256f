package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
)

func canChooseSpeaker() bool { return browser.CanChooseSpeaker() }

// Settings is the settings screen: devices and notifications.
type Settings struct {
	app.Compo
	S *session
	// Version makes the parent re-render this screen when session state changes.
	Version int
}

// OnMount lists the devices and focuses the screen's heading.
func (c *Settings) OnMount(ctx app.Context) {
	c.S.loadDevices(false)
	c.S.loadBlocked()
	ctx.Defer(func(app.Context) { focus("settings-title") })
}

// Render implements app.Composer.
func (c *Settings) Render() app.UI {
	s := c.S
	st := &s.settings
	hasLabels := false
	for _, d := range st.devices {
		if d.Label != "" {
			hasLabels = true
		}
	}
	return app.Div().Class("home settings").Body(
		app.Section().Class("card").Aria("labelledby", "settings-title").Body(
			app.Div().Class("settings-head").Body(
				app.H1().ID("settings-title").TabIndex(-1).Text("Settings"),
				app.A().ID("settings-back").Class("btn btn-quiet btn-small").Href("/").
					Body(icon("left"), app.Span().Text("Back")),
			),
			app.H2().ID("devices-title").Text("Devices"),
			app.P().Class("field-hint").Text("The microphone and camera apply to your next call. The speaker applies right away."),
			app.If(st.err != "", func() app.UI {
				return app.P().Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(st.err))
			}),
			app.If(st.loaded && !hasLabels && len(st.devices) > 0, func() app.UI {
				return app.P().Class("hint").Body(
					app.Span().Text("Your browser hides device names until Parley may use them. "),
					app.Button().ID("grant-devices").Class("linklike").Type("button").Text("Show device names").
						OnClick(func(ctx app.Context, e app.Event) { s.loadDevices(true) }),
				)
			}),
			app.If(st.loading, func() app.UI {
				return app.P().Class("muted").Role("status").Text("Looking for devices…")
			}),
			c.picker("mic-select", "Microphone", browser.KindMic, st.mic, true),
			c.picker("camera-select", "Camera", browser.KindCamera, st.camera, true),
			c.picker("speaker-select", "Speaker", browser.KindSpeaker, st.speaker, browser.CanChooseSpeaker()),
			app.If(!browser.CanChooseSpeaker(), func() app.UI {
				return app.P().Class("field-hint").Text("This browser always plays calls on the system's speaker.")
			}),
			app.P().ID("settings-saved").Class("saved").Role("status").Text(st.saved),
		),
		app.Section().Class("card").Aria("labelledby", "notif-title").Body(
			app.H2().ID("notif-title").Text("Notifications"),
			app.P().ID("notif-status").Text(notifSentence(s.settings.notifPerm)),
			app.Div().Class("dial-buttons").Body(
				app.If(s.settings.notifPerm == browser.PermissionDefault, func() app.UI {
					return app.Button().ID("allow-notifications").Class("btn btn-call").Type("button").
						Body(icon("bell"), app.Span().Text("Allow notifications")).
						OnClick(func(ctx app.Context, e app.Event) { s.enableNotifications(ctx) })
				}),
				app.If(s.settings.notifPerm == browser.PermissionGranted, func() app.UI {
					return app.Button().ID("test-notification").Class("btn btn-quiet").Type("button").
						Body(icon("bell"), app.Span().Text("Send a test notification")).
						OnClick(func(ctx app.Context, e app.Event) { s.testNotification() })
				}),
			),
			app.If(st.notifMsg != "", func() app.UI {
				cls := "notice notice-info"
				role := "status"
				if st.notifErr {
					cls, role = "notice notice-error", "alert"
				}
				return app.P().ID("notif-result").Class(cls).Role(role).Text(st.notifMsg)
			}),
			app.If(!s.account.user.Guest && s.account.user.JID != "", func() app.UI { return pushSetting(s) }),
		),
		blockedSection(s),
		app.If(!s.account.user.Guest && s.account.user.JID != "", func() app.UI {
			return &SignIns{S: s, Version: c.Version}
		}),
	)
}

// picker renders one device select.
func (c *Settings) picker(id, label, kind, chosen string, enabled bool) app.UI {
	return devicePicker(c.S, id, label, kind, chosen, enabled)
}

// devicePicker renders a select of the devices of kind; a choice is saved.
func devicePicker(s *session, id, label, kind, chosen string, enabled bool) app.UI {
	return deviceSelect(id, label, kind, chosen, s.settings.devices, !enabled, func(ctx app.Context, id string) {
		s.chooseDevice(kind, id)
	})
}

// deviceSelect renders a labelled select of the devices of kind in list, with
// "System default" first and the chosen device kept even when it is not
// connected; choose gets the chosen deviceId ("" for the default).
func deviceSelect(id, label, kind, chosen string, list []browser.Device, disabled bool, choose func(app.Context, string)) app.UI {
	var opts []browser.Device
	for _, d := range list {
		if d.Kind == kind && d.ID != "" && d.ID != "default" && d.ID != "communications" {
			opts = append(opts, d)
		}
	}
	found := chosen == ""
	for _, d := range opts {
		if d.ID == chosen {
			found = true
		}
	}
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Select().ID(id).Disabled(disabled).
			OnChange(func(ctx app.Context, e app.Event) {
				v := ctx.JSSrc().Get("value").String()
				if v == systemDefault {
					v = ""
				}
				choose(ctx, v)
			}).Body(
			app.Option().Value(systemDefault).Selected(chosen == "").Text("System default"),
			app.Range(opts).Slice(func(i int) app.UI {
				d := opts[i]
				name := d.Label
				if name == "" {
					name = label + " " + itoa(i+1)
				}
				return app.Option().Value(d.ID).Selected(d.ID == chosen).Text(name)
			}),
			app.If(!found, func() app.UI {
				return app.Option().Value(chosen).Selected(true).Text("The " + strings.ToLower(label) + " you chose (not connected)")
			}),
		),
	)
}

// notifSentence says what the notification permission means.
func notifSentence(perm string) string {
	switch perm {
	case browser.PermissionGranted:
		return "Notifications are on: Parley tells you about calls while it is in the background."
	case browser.PermissionDenied:
		return "Notifications are blocked. To get them, allow notifications for this site in your browser's settings."
	case browser.PermissionDefault:
		return "Notifications are off. Allow them to hear about calls while Parley is in the background."
	}
	return "This browser can't show notifications."
}
