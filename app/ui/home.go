package ui

import (
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/wire"
)

// Home is the signed-in screen: your address, dialling, and your call log.
type Home struct {
	app.Compo
	S           *session
	User        wire.User
	Notice      string
	Info        string
	Logs        []wire.CallLog
	Page        int
	Pages       int
	LogsErr     string
	LogsLoading bool
	NotifPerm   string
	MeetLink    string // the call link created here
	MeetBusy    bool
	MeetErr     string

	copied     bool
	linkCopied bool
}

// Render implements app.Composer.
func (c *Home) Render() app.UI {
	return app.Div().Class("home").Body(
		app.Section().Class("card").Aria("labelledby", "me-title").Body(
			app.H1().ID("me-title").Text("Hello, "+c.User.DisplayName),
			app.Div().Class("jid-row").Body(
				app.Span().Class("jid-label").ID("jid-label").Text("Your address"),
				app.Code().ID("my-jid").Class("jid").Aria("labelledby", "jid-label").Text(c.User.JID),
				app.Button().ID("copy-jid").Class("btn btn-quiet btn-small").Type("button").
					Aria("label", "Copy your address").
					Body(icon(map[bool]string{true: "check", false: "copy"}[c.copied]),
						app.Span().Text(map[bool]string{true: "Copied", false: "Copy"}[c.copied])).
					OnClick(c.onCopy),
			),
			app.If(c.NotifPerm == browser.PermissionDefault && !c.S.push.offer, func() app.UI {
				return app.P().Class("hint").Body(
					app.Span().Text("Get notified of calls while Parley is in the background. "),
					app.Button().ID("enable-notifications").Class("linklike").Type("button").
						Text("Turn on notifications").
						OnClick(func(ctx app.Context, e app.Event) { c.S.enableNotifications(ctx) }),
				)
			}),
		),
		app.If(c.S.push.offer, func() app.UI { return pushOffer(c.S) }),
		app.Section().Class("card").Aria("labelledby", "dial-title").Body(
			app.H2().ID("dial-title").Text("Make a call"),
			notice(c.Notice, c.Info),
			app.Form().ID("dial-form").Class("dial").OnSubmit(func(ctx app.Context, e app.Event) {
				e.PreventDefault()
				c.S.dial(ctx, c.S.dialForm.to, true)
			}).Body(
				app.Label().For("dial-to").Text("Username"),
				app.Input().ID("dial-to").Type("text").Value(c.S.dialForm.to).Placeholder("e.g. bob").
					Attr("autocomplete", "off").Attr("autocapitalize", "none").Attr("spellcheck", "false").
					Aria("describedby", "dial-hint").
					OnInput(c.ValueTo(&c.S.dialForm.to)),
				app.P().ID("dial-hint").Class("field-hint").Text("The username of the person to call, or several separated by commas."),
				app.If(manyNames(c.S.dialForm.to), func() app.UI {
					return app.Div().Class("field").Body(
						app.Label().For("group-name").Text("Group name (optional)"),
						app.Input().ID("group-name").Type("text").Value(c.S.dialForm.group).Placeholder("e.g. Book club").
							MaxLength(c.S.limits().MaxGroupID).Attr("autocomplete", "off").Aria("describedby", "group-hint").
							OnInput(c.ValueTo(&c.S.dialForm.group)),
						app.P().ID("group-hint").Class("field-hint").Text("Names this group call in everyone's call history."),
					)
				}),
				app.Div().Class("dial-buttons").Body(
					app.Button().ID("call-voice").Class("btn btn-call").Type("button").
						Body(icon("phone"), app.Span().Text("Voice")).
						Aria("label", "Voice call").
						OnClick(func(ctx app.Context, e app.Event) { c.S.dial(ctx, c.S.dialForm.to, false) }),
					app.Button().ID("call-video").Class("btn btn-call").Type("submit").
						Body(icon("cam"), app.Span().Text("Video")).
						Aria("label", "Video call"),
				),
			),
			c.renderMeetLink(),
		),
		app.Section().Class("card").Aria("labelledby", "log-title").Body(
			app.H2().ID("log-title").Text("Recent calls"),
			c.renderLogs(),
		),
	)
}

// manyNames reports whether the dial field names more than one person.
func manyNames(to string) bool {
	n := 0
	for _, p := range strings.Split(to, ",") {
		if strings.TrimSpace(p) != "" {
			n++
		}
	}
	return n > 1
}

func (c *Home) onCopy(ctx app.Context, e app.Event) {
	jid := c.User.JID
	go func() {
		err := browser.CopyText(jid)
		browser.Post(func() {
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil {
					c.S.page.notice = "Your browser didn't allow copying. Select the address and copy it yourself."
					return
				}
				c.copied = true
				ctx.After(2*time.Second, func(app.Context) { c.copied = false })
			})
		})
	}()
}

// renderMeetLink offers a call people join by link: create it, copy it, join it.
func (c *Home) renderMeetLink() app.UI {
	return app.Div().Class("meet").Body(
		app.H3().ID("meet-title").Class("meet-title").Text("Or share a link"),
		app.If(c.MeetErr != "", func() app.UI {
			return app.P().Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(c.MeetErr))
		}),
		app.If(c.MeetLink == "", func() app.UI {
			return app.Div().Body(
				app.P().ID("meet-hint").Class("field-hint").Text("Create a video call that anyone with the link can ask to join, even without an account."),
				app.Label().Class("check").For("meet-open").Body(
					app.Input().ID("meet-open").Type("checkbox").Checked(c.S.meet.open).Disabled(c.MeetBusy).
						Aria("describedby", "meet-open-hint").
						OnChange(func(ctx app.Context, e app.Event) {
							c.S.meet.open = ctx.JSSrc().Get("checked").Bool()
						}),
					app.Span().Text("Let people in without asking"),
				),
				app.P().ID("meet-open-hint").Class("field-hint").Text(map[bool]string{
					true:  "Anyone who opens the link joins at once.",
					false: "You admit each person who asks to join.",
				}[c.S.meet.open]),
				app.Button().ID("new-link").Class("btn btn-quiet").Type("button").Disabled(c.MeetBusy).
					Aria("describedby", "meet-hint").
					Body(icon("link"), app.Span().Text(map[bool]string{true: "Creating…", false: "New call link"}[c.MeetBusy])).
					OnClick(func(ctx app.Context, e app.Event) { c.S.newMeetLink(ctx) }),
			)
		}).Else(func() app.UI {
			return app.Div().Class("meet-ready").Body(
				app.Label().For("meet-link").Text("Call link"),
				app.Input().ID("meet-link").Class("meet-link").Type("text").ReadOnly(true).Value(c.MeetLink).
					Attr("spellcheck", "false").
					OnFocus(func(ctx app.Context, e app.Event) { ctx.JSSrc().Call("select") }),
				app.Div().Class("meet-buttons").Body(
					app.Button().ID("copy-meet-link").Class("btn btn-quiet").Type("button").
						Aria("label", "Copy the call link").
						Body(icon(map[bool]string{true: "check", false: "copy"}[c.linkCopied]),
							app.Span().Text(map[bool]string{true: "Copied", false: "Copy"}[c.linkCopied])).
						OnClick(c.onCopyLink),
					app.Button().ID("join-meet-link").Class("btn btn-primary").Type("button").
						Body(icon("cam"), app.Span().Text("Join now")).
						OnClick(func(ctx app.Context, e app.Event) {
							ctx.Navigate("/join/" + codeOfLink(c.MeetLink))
						}),
				),
				app.P().Class("field-hint").Role("status").Text(map[bool]string{
					true:  "Copied. Send it to the people you want to talk to.",
					false: "Send this link to the people you want to talk to, then join.",
				}[c.linkCopied]),
			)
		}),
	)
}

func (c *Home) onCopyLink(ctx app.Context, e app.Event) {
	link := c.MeetLink
	go func() {
		err := browser.CopyText(link)
		browser.Post(func() {
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil {
					c.S.meet.err = "Your browser didn't allow copying. Select the link and copy it yourself."
					return
				}
				c.linkCopied = true
				ctx.After(3*time.Second, func(app.Context) { c.linkCopied = false })
			})
		})
	}()
}

func (c *Home) renderLogs() app.UI {
	if c.LogsErr != "" {
		return app.Div().Body(
			app.P().Class("notice notice-error").Role("alert").Text(c.LogsErr),
			app.Button().Class("btn btn-quiet").Text("Try again").
				OnClick(func(ctx app.Context, e app.Event) { c.S.loadLogs(ctx, c.Page) }),
		)
	}
	if len(c.Logs) == 0 {
		if c.LogsLoading {
			return app.P().Class("muted").Role("status").Text("Loading your calls…")
		}
		return app.P().Class("muted").ID("log-empty").Text("No calls yet. Calls you make and receive appear here.")
	}
	return app.Div().Body(
		app.Ul().ID("call-log").Class("log").Body(
			app.Range(c.Logs).Slice(func(i int) app.UI { return c.renderLog(c.Logs[i]) }),
		),
		app.If(c.Pages > 1, func() app.UI {
			return app.Nav().Class("pager").Aria("label", "Call history pages").Body(
				app.Button().ID("log-prev").Class("btn btn-quiet btn-small").Disabled(c.Page <= 1 || c.LogsLoading).
					Body(icon("left"), app.Span().Text("Newer")).Aria("label", "Newer calls").
					OnClick(func(ctx app.Context, e app.Event) { c.S.loadLogs(ctx, c.Page-1) }),
				app.Span().Class("muted").Textf("Page %d of %d", c.Page, c.Pages),
				app.Button().ID("log-next").Class("btn btn-quiet btn-small").Disabled(c.Page >= c.Pages || c.LogsLoading).
					Body(app.Span().Text("Older"), icon("right")).Aria("label", "Older calls").
					OnClick(func(ctx app.Context, e app.Event) { c.S.loadLogs(ctx, c.Page+1) }),
			)
		}),
	)
}

func (c *Home) renderLog(l wire.CallLog) app.UI {
	peers := logPeers(l, c.User.JID)
	var names []string
	for _, p := range peers {
		names = append(names, userPart(p))
	}
	who := strings.Join(names, ", ")
	if who == "" {
		who = "Unknown"
	}
	kind := kindWord(l.CallType)
	var dirIcon, dirText string
	switch l.CallState {
	case wire.LogMissed:
		dirIcon, dirText = "missed", "Missed "+kind+" call"
	case wire.LogDeclined:
		dirIcon, dirText = "missed", "Declined "+kind+" call"
	case wire.LogIncoming:
		dirIcon, dirText = "in", "Incoming "+kind+" call"
	default:
		dirIcon, dirText = "out", "Outgoing "+kind+" call"
	}
	detail := when(l.CallTime)
	if l.Duration > 0 {
		detail += " · " + clock(time.Duration(l.Duration)*time.Millisecond)
	}
	video := l.CallType == wire.TypeVideo
	missed := l.CallState == wire.LogMissed
	cls := "log-item"
	if missed {
		cls += " log-missed"
	}
	return app.Li().Class(cls).DataSet("state", l.CallState).Body(
		app.Span().Class("log-icon").Body(icon(dirIcon)),
		app.Div().Class("log-text").Body(
			app.Span().Class("log-who").Text(who),
			app.Span().Class("log-detail").Body(
				app.Span().Class("log-state").Text(dirText),
				app.Span().Text(" · "+detail),
			),
		),
		app.Button().Class("btn btn-quiet btn-small log-callback").Type("button").
			Aria("label", "Call back "+who+" ("+kind+")").
			Body(icon(map[bool]string{true: "cam", false: "phone"}[video]), app.Span().Text("Call back")).
			OnClick(func(ctx app.Context, e app.Event) {
				c.S.dial(ctx, strings.Join(names, ","), video)
			}),
		logBlock(c.S, l, c.User.JID),
	)
}

// logPeers returns the other people of a call-log entry.
func logPeers(l wire.CallLog, me string) []string {
	seen := map[string]bool{me: true}
	var out []string
	add := func(j string) {
		if j != "" && !seen[j] {
			seen[j] = true
			out = append(out, j)
		}
	}
	add(l.FromUser)
	for _, j := range l.ToUsers {
		add(j)
	}
	return out
}

func userPart(jid string) string {
	u, _, _ := strings.Cut(jid, "@")
	return u
}

// when formats a call time in local time: "14:05" today, "Yesterday 14:05",
// "Mon 3 Mar 14:05" otherwise.
func when(ms int64) string {
	t := time.UnixMilli(ms).Local()
	now := time.Now()
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return "Today " + t.Format("15:04")
	case now.Sub(t) < 48*time.Hour && now.AddDate(0, 0, -1).Day() == d1:
		return "Yesterday " + t.Format("15:04")
	case y1 == y2:
		return t.Format("Mon 2 Jan 15:04")
	}
	return t.Format("2 Jan 2006 15:04")
}
