package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

// blockedSection is the "Blocked people" section of Settings: everyone the
// user blocked, each with an Unblock button.
func blockedSection(s *session) app.UI {
	b := &s.blocked
	return app.Section().Class("card").ID("blocked").Aria("labelledby", "blocked-title").Body(
		app.H2().ID("blocked-title").TabIndex(-1).Text("Blocked people"),
		app.P().Class("field-hint").Text("Calls from people you block don't ring you and aren't in your call history. "+
			"To them you look busy; they aren't told that you blocked them."),
		app.If(b.err != "", func() app.UI {
			return app.P().Class("notice notice-error").Role("alert").Body(icon("warn"), app.Span().Text(b.err))
		}),
		app.If(b.loading && !b.loaded, func() app.UI {
			return app.P().Class("muted").Role("status").Text("Loading…")
		}),
		app.If(b.loaded && len(b.list) == 0, func() app.UI {
			return app.P().ID("blocked-empty").Class("muted").Text("You haven't blocked anyone. " +
				"To block someone, use Block next to their call in your call history.")
		}),
		app.If(len(b.list) > 0, func() app.UI {
			return app.Ul().ID("blocked-list").Class("log").Aria("labelledby", "blocked-title").Body(
				app.Range(b.list).Slice(func(i int) app.UI { return blockedItem(s, b.list[i]) }),
			)
		}),
		app.P().ID("blocked-result").Class(map[bool]string{true: "notice-text-error", false: "saved"}[b.msgErr]).
			Role("status").Text(b.msg),
	)
}

// blockedItem is one blocked person with their Unblock button.
func blockedItem(s *session, u wire.BlockedUser) app.UI {
	name := u.DisplayName
	if name == "" {
		name = userPart(u.JID)
	}
	busy := s.blocked.busy == u.JID
	return app.Li().Class("log-item blocked-item").DataSet("jid", u.JID).Body(
		app.Div().Class("log-text").Body(
			app.Span().Class("log-who").Text(name),
			app.Span().Class("log-detail").Text(u.JID+" · blocked "+when(u.BlockedAt)),
		),
		app.Button().Class("btn btn-quiet btn-small blocked-unblock").Type("button").Disabled(busy).
			Aria("label", "Unblock "+name).
			Text(map[bool]string{true: "Unblocking…", false: "Unblock"}[busy]).
			OnClick(func(ctx app.Context, e app.Event) { s.unblockUser(u.JID, name) }),
	)
}

// logBlock is the Block action of a call-history entry whose caller was
// someone else: a button, then a confirmation in place. It is nil for calls
// you made.
func logBlock(s *session, l wire.CallLog, me string) app.UI {
	from := l.FromUser
	if from == "" || sameJID(from, me) {
		return nil
	}
	name := s.displayName(from)
	if s.isBlocked(from) {
		return app.Span().Class("muted log-blocked").Text("Blocked")
	}
	if s.blocked.confirm != l.CallLogID {
		return app.Button().Class("btn btn-quiet btn-small log-block").Type("button").
			Aria("label", "Block "+name).Text("Block").
			OnClick(func(ctx app.Context, e app.Event) {
				s.askBlock(l.CallLogID)
				// Through the Shell: its update renders the confirmation first.
				s.dispatch(func(ctx app.Context) { s.deferFocus(ctx, "confirm-block") })
			})
	}
	busy := s.blocked.busy != ""
	return app.Div().Class("log-confirm").Role("group").Aria("label", "Block "+name+"?").Body(
		app.Button().ID("confirm-block").Class("btn btn-end btn-small").Type("button").Disabled(busy).
			Text(map[bool]string{true: "Blocking…", false: "Block " + name}[busy]).
			OnClick(func(ctx app.Context, e app.Event) { s.blockUser(from, name) }),
		app.Button().ID("cancel-block").Class("btn btn-quiet btn-small").Type("button").Disabled(busy).Text("Cancel").
			OnClick(func(ctx app.Context, e app.Event) { s.askBlock("") }),
	)
}
