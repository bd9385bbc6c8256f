package call

import (
	"encoding/json"

	"parley/app/call/event"
	"parley/app/wire"
)

// handleEvent runs on the work queue for every server event, in order.
func (e *Engine) handleEvent(f wire.Frame) {
	if f.Type == wire.EventUpdate || f.Type == wire.EventSignal {
		// The call's events wait until the request that made the call has
		// been answered and adopt has run: an offer may overtake the reply.
		e.mu.Lock()
		cs := e.call
		if cs != nil && !cs.adopted && !cs.ended {
			cs.early = append(cs.early, f)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
	}
	switch f.Type {
	case wire.EventIncoming:
		var ev wire.CallEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		e.mu.Lock()
		dup := false
		for _, c := range e.incoming {
			dup = dup || c.RoomID == ev.Call.RoomID
		}
		if !dup {
			e.incoming = append(e.incoming, ev.Call)
		}
		e.mu.Unlock()
		if !dup {
			p := e.incomingPayload(ev.Call, wire.StatusCalling)
			e.emit(p)
		}
	case wire.EventMissed:
		var ev wire.CallEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		e.removeIncoming(ev.Call.RoomID)
		status := ev.Reason
		if status != wire.StatusNoAnswer {
			status = wire.StatusEnded
		}
		p := e.incomingPayload(ev.Call, status)
		e.emit(event.MissedCall(p))
	case wire.EventDismissed:
		var ev wire.DismissEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		if !e.removeIncoming(ev.RoomID) {
			return
		}
		me := e.me()
		e.emit(event.CallStatus{Status: wire.StatusEnded, UserJID: me, LocalUser: true, RoomID: ev.RoomID, Reason: ev.Reason, UsersStatus: []event.UserStatus{}})
	case wire.EventUpdate:
		var ev wire.CallEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		e.mu.Lock()
		cs := e.call
		e.mu.Unlock()
		if cs != nil && cs.roomID == ev.Call.RoomID {
			e.apply(cs, ev.Call, ev.Reason)
		}
	case wire.EventSignal:
		var ev wire.SignalEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return
		}
		e.onSignal(ev)
	default:
		e.handleGroupEvent(f)
	}
}

// handleGroupEvent handles the events of group features (work queue); it
// reports whether it knew the event.
func (e *Engine) handleGroupEvent(f wire.Frame) bool {
	switch f.Type {
	case wire.EventInvited:
		var ev wire.InviteEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return true
		}
		e.mu.Lock()
		cs := e.call
		e.mu.Unlock()
		users := []event.UserStatus{}
		if cs != nil && cs.snap != nil {
			users = statusesOf(cs.snap)
		}
		iv := event.InviteUsers{UserJID: ev.By, InviteUsers: append([]string{}, ev.Users...), RoomID: ev.RoomID, UsersStatus: users}
		e.emit(iv)
	case wire.EventSwitch:
		var ev wire.SwitchEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return true
		}
		me := e.me()
		sw := event.CallSwitch{UserJID: ev.From, LocalUser: ev.From == me, Status: ev.Action}
		e.emit(sw)
	case wire.EventData:
		var ev wire.DataEvent
		if json.Unmarshal(f.Data, &ev) != nil {
			return true
		}
		from := event.CustomDataFrom{UserJID: ev.From}
		data := ev.Data
		e.emit(event.CustomData{Data: data, From: from})
	case wire.EventUsers:
		var p wire.LinkPreview
		if json.Unmarshal(f.Data, &p) != nil {
			return true
		}
		e.onUsers(p)
	default:
		return false
	}
	return true
}

func (e *Engine) me() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == nil {
		return ""
	}
	return e.user.JID
}

// incomingPayload is the incomingCallListener (or missedCallListener) payload
// for call c ringing here. userJid is who rang: the initiator, or for an
// invitee whoever invited them; toUsers is everyone else rung or in the call,
// you included.
func (e *Engine) incomingPayload(c wire.Call, status string) event.IncomingCall {
	me := e.me()
	all := make([]string, 0, len(c.Participants))
	var caller, self wire.Participant
	for _, p := range c.Participants {
		all = append(all, p.JID)
		if p.Initiator {
			caller = p
		}
		if p.JID == me {
			self = p
		}
	}
	to := append([]string{}, c.To...)
	if self.Invited && self.InvitedBy != "" {
		if by := c.Participant(self.InvitedBy); by != nil {
			caller = *by
		}
		to = to[:0]
		for _, p := range c.Participants {
			if p.JID != caller.JID && (p.JID == me || wire.Joined(p.Status) || wire.Pending(p.Status)) {
				to = append(to, p.JID)
			}
		}
	}
	var group *string
	if c.GroupID != "" {
		g := c.GroupID
		group = &g
	}
	return event.IncomingCall{
		AllUsers: all, CallMode: c.Mode, CallTime: c.CreatedAt, CallType: c.Type, From: caller.JID, To: me,
		GroupID: group, LocalUser: false, RoomID: c.RoomID, RoomLink: c.Link, Status: status, ToUsers: to,
		UserDetails: event.UserDetails{DisplayName: caller.DisplayName}, UserJID: caller.JID, UsersStatus: statusesOf(&c),
	}
}

func statusesOf(c *wire.Call) []event.UserStatus {
	out := make([]event.UserStatus, 0, len(c.Participants))
	for _, p := range c.Participants {
		out = append(out, event.UserStatus{UserJID: p.JID, DisplayName: p.DisplayName, Status: p.Status,
			AudioMuted: p.AudioMuted, VideoMuted: p.VideoMuted, CallInitiator: p.Initiator})
	}
	return out
}
