package ui

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/wire"
)

// signInsState is the "Where you're signed in" list of the settings screen
// (sessions.go): the account's sessions and what is being done to them.
type signInsState struct {
	list    []wire.SessionInfo
	loading bool
	loaded  bool
	err     string // why the list or a sign-out failed
	msg     string // what the last sign-out did
	ending  string // the sessionId being signed out, allOthers for all of them
}

// allOthers is signInsState.ending while "Sign out of all other sessions" runs.
const allOthers = "*"

// loadSessions lists the account's sessions.
func (s *session) loadSessions() {
	st := &s.signIns
	if st.loading || s.eng == nil {
		return
	}
	st.loading, st.err = true, ""
	run(s, 20*time.Second, func(c context.Context) ([]wire.SessionInfo, error) {
		return s.eng.GetSessions(c)
	}, func(_ app.Context, list []wire.SessionInfo, err error) {
		st.loading = false
		if err != nil {
			st.err = sessionsError(err, "Parley couldn't list where you're signed in.")
			return
		}
		st.list, st.loaded = list, true
	})
}

// endSession signs out the session id (another device), then lists again.
func (s *session) endSession(id string) {
	st := &s.signIns
	if st.ending != "" || s.eng == nil {
		return
	}
	device := "that device"
	for _, si := range st.list {
		if si.SessionID == id {
			device = deviceName(si.Device)
		}
	}
	st.ending, st.err, st.msg = id, "", ""
	run(s, 20*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.EndSession(c, id)
	}, func(_ app.Context, _ struct{}, err error) {
		st.ending = ""
		var we *wire.Error
		switch {
		case errors.As(err, &we) && we.Code == wire.CodeNotFound:
			st.msg = "That session had already ended."
		case err != nil:
			st.err = sessionsError(err, "Parley couldn't sign out "+device+".")
			return
		default:
			st.msg = "Signed out of " + device + "."
		}
		st.list = without(st.list, id)
		s.loadSessions()
	})
}

// logoutOtherSessions signs out every session but this one.
func (s *session) logoutOtherSessions() {
	st := &s.signIns
	if st.ending != "" || s.eng == nil {
		return
	}
	st.ending, st.err, st.msg = allOthers, "", ""
	run(s, 20*time.Second, func(c context.Context) (int, error) {
		return s.eng.LogoutOtherSessions(c)
	}, func(_ app.Context, n int, err error) {
		st.ending = ""
		if err != nil {
			st.err = sessionsError(err, "Parley couldn't sign out your other sessions.")
			return
		}
		switch n {
		case 0:
			st.msg = "You weren't signed in anywhere else."
		case 1:
			st.msg = "Signed out of 1 other session."
		default:
			st.msg = "Signed out of " + strconv.Itoa(n) + " other sessions."
		}
		var kept []wire.SessionInfo
		for _, si := range st.list {
			if si.Current {
				kept = append(kept, si)
			}
		}
		st.list = kept
		s.loadSessions()
	})
}

func without(list []wire.SessionInfo, id string) []wire.SessionInfo {
	var out []wire.SessionInfo
	for _, si := range list {
		if si.SessionID != id {
			out = append(out, si)
		}
	}
	return out
}

// sessionsError is the sentence for a failed session request.
func sessionsError(err error, what string) string {
	var we *wire.Error
	if errors.As(err, &we) {
		switch we.Code {
		case wire.CodeForbidden:
			return "Guests have no sign-ins to manage."
		case wire.CodeUnreachable:
			return what + " The server can't be reached; check your connection and try again."
		case wire.CodeRateLimited:
			return what + " Too many requests; wait a moment and try again."
		}
	}
	return what + " Try again."
}

// deviceName is how a session's device is shown.
func deviceName(label string) string {
	if label == "" {
		return "Unknown device"
	}
	return label
}

// lastActive says when a session was last active, relative to now: "Active
// now" for one that is online.
func lastActive(si wire.SessionInfo, now time.Time) string {
	if si.Online || si.Current {
		return "Active now"
	}
	d := now.Sub(time.UnixMilli(si.LastActiveAt))
	plural := func(n int, unit string) string {
		if n == 1 {
			return "Active 1 " + unit + " ago"
		}
		return "Active " + strconv.Itoa(n) + " " + unit + "s ago"
	}
	switch {
	case d < time.Minute:
		return "Active less than a minute ago"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d < 48*time.Hour:
		return "Active yesterday"
	}
	return plural(int(d/(24*time.Hour)), "day")
}
