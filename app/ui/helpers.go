package ui

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/wire"
)

// Small helpers shared by the screens: focus, attributes, notices, dialogs
// and formatting.

func kindWord(callType string) string {
	if callType == wire.TypeVideo {
		return "video"
	}
	return "voice"
}

// clock formats a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	sec := int(d / time.Second)
	h, m, ss := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return strconv.Itoa(h) + ":" + pad2(m) + ":" + pad2(ss)
	}
	return strconv.Itoa(m) + ":" + pad2(ss)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// dialog renders a modal dialog; Escape is handled by the page's key listener.
func dialog(id, title string, alert bool, body ...app.UI) app.UI {
	role := "dialog"
	if alert {
		role = "alertdialog"
	}
	return app.Div().Class("overlay").Body(
		app.Section().ID(id).Class("incoming dialog").Role(role).Aria("modal", "true").
			Aria("labelledby", id+"-title").TabIndex(-1).Body(
			append([]app.UI{app.H2().ID(id + "-title").Class("dialog-title").Text(title)}, body...)...,
		),
	)
}

func boolAttr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// inert is the value of an inert attribute: present or absent.
func inert(on bool) string {
	if on {
		return "true"
	}
	return ""
}

// notice renders an error sentence (role=alert) or an information sentence.
func notice(errText, infoText string) app.UI {
	return app.Div().Class("notices").Body(
		app.If(errText != "", func() app.UI {
			return app.P().Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(errText))
		}),
		app.If(infoText != "", func() app.UI {
			return app.P().Class("notice notice-info").Role("status").Text(infoText)
		}),
	)
}

// focus moves keyboard focus to the element with the given id.
func focus(id string) { browser.Focus(id) }
