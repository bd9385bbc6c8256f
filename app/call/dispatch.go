package call

import (
	"encoding/json"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// handleEvent runs on the work queue for every server event, in order.
func (e *Engine) handleEvent(f wire.Frame) {
	if f.Type == wire.EventUpdate || f.Type == wire.EventSignal {
		// The call's events wait until the request that made the call has
		// been answered and adopt has run: an offer may overtake the reply.
		e.mu.Lock()
		cs := e.call
		knocking := f.Type == wire.EventSignal && e.knock != nil && cs != nil && e.knock.roomID == cs.roomID
		if cs != nil && !cs.adopted && !cs.ended && !knocking { // a knocker prepares the members' offers at once
			cs.early = append(cs.early, f)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
	}
	switch f.Type {
	case wire.EventIncoming:
		on(f, e.onIncoming)
	case wire.EventMissed:
		on(f, e.onMissed)
	case wire.EventDismissed:
		on(f, e.onDismissed)
	case wire.EventUpdate:
		on(f, e.onUpdate)
	case wire.EventSignal:
		on(f, e.onSignal)
	case wire.EventInvited:
		on(f, e.onInvited)
	case wire.EventSwitch:
		on(f, e.onSwitch)
	case wire.EventData:
		on(f, e.onData)
	case wire.EventUsers:
		on(f, e.onUsers)
	case wire.EventKnock:
		on(f, e.onKnock)
	case wire.EventKnockResolved:
		on(f, e.onKnockResolved)
	case wire.EventAdmission:
		on(f, e.onAdmission)
	default:
		e.log.Debug("unknown server event", "type", f.Type)
	}
}

// on decodes f's payload as T and hands it to handle. A payload that does not
// decode is dropped: the server never sends one, and a bad frame must not
// break the call.
func on[T any](f wire.Frame, handle func(T)) {
	var v T
	if json.Unmarshal(f.Data, &v) == nil {
		handle(v)
	}
}

// onIncoming rings this device, once per call.
func (e *Engine) onIncoming(ev wire.CallEvent) {
	e.mu.Lock()
	// A replayed ring of the call this page is already in (it answered,
	// then reloaded) rings nothing.
	dup := e.call != nil && e.call.roomID == ev.Call.RoomID
	for _, c := range e.incoming {
		dup = dup || c.RoomID == ev.Call.RoomID
	}
	if !dup {
		e.incoming = append(e.incoming, ev.Call)
	}
	e.mu.Unlock()
	if !dup {
		e.emit(e.incomingPayload(ev.Call, wire.StatusCalling))
		go e.checkGrant(ev.Call.RoomID, ev.Call.Type == wire.TypeVideo)
	}
}

// checkGrant finds out, while room rings here, whether the devices its
// answer needs are allowed already: asking the browser takes a round trip
// or two that answering should not wait for.
func (e *Engine) checkGrant(room string, video bool) {
	ok := rtc.Granted(e.currentMedia(), video)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.incoming {
		if c.RoomID == room {
			if e.ringGrants == nil {
				e.ringGrants = map[string]bool{}
			}
			e.ringGrants[room] = ok
			return
		}
	}
}

// onMissed reports a call that stopped ringing unanswered.
func (e *Engine) onMissed(ev wire.CallEvent) {
	e.removeIncoming(ev.Call.RoomID)
	status := ev.Reason
	if status != wire.StatusNoAnswer {
		status = wire.StatusEnded
	}
	e.emit(event.MissedCall(e.incomingPayload(ev.Call, status)))
}

// onDismissed stops ringing here: answered or declined on another device, or
// cancelled.
func (e *Engine) onDismissed(ev wire.DismissEvent) {
	if !e.removeIncoming(ev.RoomID) {
		return
	}
	e.emit(event.CallStatus{Status: wire.StatusEnded, UserJID: e.me(), LocalUser: true, RoomID: ev.RoomID,
		Reason: ev.Reason, UsersStatus: []event.UserStatus{}})
}

// onUpdate applies a new snapshot of the call this device is in.
func (e *Engine) onUpdate(ev wire.CallEvent) {
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if cs != nil && cs.roomID == ev.Call.RoomID {
		e.apply(cs, ev.Call, ev.Reason)
	}
}

// onInvited reports that someone in the call invited more people.
func (e *Engine) onInvited(ev wire.InviteEvent) {
	users := []event.UserStatus{}
	e.mu.Lock()
	if cs := e.call; cs != nil && cs.snap != nil {
		users = statusesOf(cs.snap)
	}
	e.mu.Unlock()
	e.emit(event.InviteUsers{UserJID: ev.By, InviteUsers: append([]string{}, ev.Users...), RoomID: ev.RoomID, UsersStatus: users})
}

// onSwitch reports a step of the voice-to-video switch.
func (e *Engine) onSwitch(ev wire.SwitchEvent) {
	e.emit(event.CallSwitch{UserJID: ev.From, LocalUser: ev.From == e.me(), Status: ev.Action})
}

// onData hands on custom data from another participant.
func (e *Engine) onData(ev wire.DataEvent) {
	e.emit(event.CustomData{Data: ev.Data, From: event.CustomDataFrom{UserJID: ev.From}})
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
// invitee whoever invited them; an invitee's toUsers is everyone in the call
// or rung into it, the inviter and you included.
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
			if p.JID == me || wire.Joined(p.Status) || wire.Pending(p.Status) {
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
		UserDetails: event.UserDetails{DisplayName: caller.DisplayName, Guest: caller.Guest}, UserJID: caller.JID, UsersStatus: statusesOf(&c),
	}
}

func statusesOf(c *wire.Call) []event.UserStatus {
	out := make([]event.UserStatus, 0, len(c.Participants))
	for _, p := range c.Participants {
		out = append(out, event.UserStatus{UserJID: p.JID, DisplayName: p.DisplayName, Status: p.Status,
			AudioMuted: p.AudioMuted, VideoMuted: p.VideoMuted, CallInitiator: p.Initiator, Guest: p.Guest})
	}
	return out
}
