package ui

import (
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Icons are inline SVG (no icon fonts, no remote files), 24x24, drawn with
// currentColor so they follow the text colour. They are decorative: every
// control that shows one also has an accessible name.
var iconPaths = map[string]string{
	"mic":       `<path d="M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z"/><path d="M19 11a7 7 0 0 1-14 0M12 18v3M8 21h8"/>`,
	"mic-off":   `<path d="M3 3l18 18"/><path d="M9 9v3a3 3 0 0 0 5.1 2.1M15 10V6a3 3 0 0 0-5.7-1.3"/><path d="M19 11a7 7 0 0 1-1.2 3.9M5 11a7 7 0 0 0 10.6 6M12 18v3M8 21h8"/>`,
	"cam":       `<rect x="2" y="6" width="14" height="12" rx="2"/><path d="M16 10l6-3v10l-6-3z"/>`,
	"cam-off":   `<path d="M3 3l18 18"/><path d="M16 16v0a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h2M10 6h4a2 2 0 0 1 2 2v2l6-3v10"/>`,
	"phone":     `<path d="M5 3h3l2 5-2.5 1.5a11 11 0 0 0 7 7L16 14l5 2v3a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z"/>`,
	"hangup":    `<g transform="rotate(135 12 12)"><path d="M5 3h3l2 5-2.5 1.5a11 11 0 0 0 7 7L16 14l5 2v3a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z"/></g>`,
	"copy":      `<rect x="9" y="9" width="12" height="12" rx="2"/><path d="M5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1"/>`,
	"in":        `<path d="M17 7L7 17M7 9v8h8"/>`,
	"out":       `<path d="M7 17L17 7M9 7h8v8"/>`,
	"missed":    `<path d="M4 7l8 8 8-8M14 7h6v6"/>`,
	"check":     `<path d="M5 12l5 5 9-10"/>`,
	"bell":      `<path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 21h4"/>`,
	"left":      `<path d="M15 6l-6 6 6 6"/>`,
	"right":     `<path d="M9 6l6 6-6 6"/>`,
	"warn":      `<path d="M12 3l10 18H2zM12 10v5M12 18v.5"/>`,
	"link":      `<path d="M10 14a4.5 4.5 0 0 0 6.4 0l3-3a4.5 4.5 0 0 0-6.4-6.4l-1 1M14 10a4.5 4.5 0 0 0-6.4 0l-3 3a4.5 4.5 0 0 0 6.4 6.4l1-1"/>`,
	"add-user":  `<circle cx="9" cy="8" r="4"/><path d="M2 21a7 7 0 0 1 14 0M19 8v6M16 11h6"/>`,
	"chat":      `<path d="M4 5h16v11H9l-5 4z"/>`,
	"gear":      `<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M4.2 4.2l2.1 2.1M17.7 17.7l2.1 2.1M2 12h3M19 12h3M4.2 19.8l2.1-2.1M17.7 6.3l2.1-2.1"/>`,
	"speaker":   `<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12"/>`,
	"reconnect": `<path d="M20 12a8 8 0 0 1-14 5.3M4 12a8 8 0 0 1 14-5.3M18 3v4h-4M6 21v-4h4"/>`,
	"screen":    `<rect x="2" y="4" width="20" height="13" rx="2"/><path d="M8 21h8M12 17v4M12 13V8M9.5 10.5L12 8l2.5 2.5"/>`,
}

// icon renders the named icon.
func icon(name string) app.UI {
	return app.Raw(`<svg class="icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">` + iconPaths[name] + `</svg>`)
}

// initials returns up to two initials of a name, for avatars.
func initials(name string) string {
	name = strings.TrimSuffix(name, guestSuffix)
	var out []rune
	start := true
	for _, r := range name {
		if r == ' ' || r == '.' || r == '_' || r == '-' || r == '@' {
			if r == '@' {
				break
			}
			start = true
			continue
		}
		if start {
			out = append(out, r)
			start = false
			if len(out) == 2 {
				break
			}
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return toUpper(string(out))
}

func toUpper(s string) string { return strings.ToUpper(s) }

func itoa(n int) string { return strconv.Itoa(n) }
