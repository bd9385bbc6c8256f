package hub

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"parley/app/wire"
)

var linkRE = regexp.MustCompile(`^[a-z]{3}-[a-z]{4}-[a-z]{3}$`)

func create(t testing.TB, c *client, callType string, to ...string) wire.Call {
	t.Helper()
	var res wire.CallResult
	c.must(wire.TypeCallCreate, wire.CallCreateRequest{To: to, Type: callType}, &res)
	return res.Call
}

func room(c wire.Call) wire.RoomRequest { return wire.RoomRequest{RoomID: c.RoomID} }

func offer(room, to string) wire.SignalRequest {
	return wire.SignalRequest{RoomID: room, To: to, Payload: wire.Payload{SDP: &wire.SessionDescription{Type: "offer", SDP: "v=0 offer"}}}
}

func logs(t testing.TB, c *client) []wire.CallLog {
	t.Helper()
	var page wire.CallLogPage
	c.must(wire.TypeCallLogs, wire.CallLogsRequest{Page: 1}, &page)
	return page.CallLogs
}

func stateIs(state string) func(wire.CallEvent) bool {
	return func(ce wire.CallEvent) bool { return ce.Call.State == state }
}

func statusIs(who, status string) func(wire.CallEvent) bool {
	return func(ce wire.CallEvent) bool { return statusOf(ce.Call, jid(who)) == status }
}

// payload waits for an event of typ whose payload (decoded into T) matches,
// and returns it with its frame.
func payload[T any](t testing.TB, c *client, typ string, match func(T) bool) (T, wire.Frame) {
	t.Helper()
	var out T
	f := c.event(typ, func(f wire.Frame) bool {
		var v T
		if json.Unmarshal(f.Data, &v) != nil {
			return false
		}
		if match == nil || match(v) {
			out = v
			return true
		}
		return false
	})
	return out, f
}

func answer(t testing.TB, c *client, call wire.Call) wire.Call {
	t.Helper()
	var res wire.CallResult
	c.must(wire.TypeCallAnswer, room(call), &res)
	return res.Call
}

func groupCall(t testing.TB, c *client, callType, group string, to ...string) wire.Call {
	t.Helper()
	var res wire.CallResult
	c.must(wire.TypeCallCreate, wire.CallCreateRequest{To: to, Type: callType, GroupID: group}, &res)
	return res.Call
}

func joinedJIDs(users []wire.Participant) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.JID)
	}
	slices.Sort(out)
	return out
}

func jids(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, jid(n))
	}
	slices.Sort(out)
	return out
}
