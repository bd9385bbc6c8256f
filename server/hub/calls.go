package hub

import (
	"slices"
	"time"
	"unicode/utf8"

	"parley/app/wire"
	"parley/server/store"
)

// call is one live call. snap is the authoritative state sent to clients;
// parts[i] is the hub's side of snap.Participants[i].
type call struct {
	snap   wire.Call
	parts  []*part
	byName map[string]*part
	joined []string // JIDs of everyone who joined, in order (the log's userList)
	ended  bool

	sw         *switchReq            // the pending voice-to-video request, if any
	subs       map[*session]struct{} // sessions previewing the call by link
	previewKey string                // the joined set and statuses last sent to subs
	idle       *time.Timer           // a meet call's idle timer, while running
	idleGen    uint64                // incremented on every (re)start, so a stale idle timer does nothing
}

// switchReq is a pending voice-to-video switch request from one joined
// participant to the other.
type switchReq struct {
	from, to *part
	timer    *time.Timer
}

// part is one user's part in a call.
type part struct {
	u        *user
	idx      int
	sess     *session // the session media signals go to, once joined
	prev     string   // status before a drop set it to reconnecting
	ring     *time.Timer
	answered bool   // a callee who answered
	started  int64  // when this callee answered (epoch ms)
	done     bool   // the part is over and its log written
	ringGen  uint64 // incremented on every ring, so a stale ring timer does nothing
	replace  bool   // the user was invited or joined again after an earlier part: its log replaces the earlier one
}

func (c *call) status(p *part) string       { return c.snap.Participants[p.idx].Status }
func (c *call) setStatus(p *part, s string) { c.snap.Participants[p.idx].Status = s }
func (c *call) initiator(p *part) bool      { return c.snap.Participants[p.idx].Initiator }

// snapshot returns a deep copy of the call's state.
func (c *call) snapshot() wire.Call {
	s := c.snap
	s.To = slices.Clone(c.snap.To)
	s.Invited = slices.Clone(c.snap.Invited)
	s.Participants = slices.Clone(c.snap.Participants)
	return s
}

func (c *call) addPart(u *user, status string) *part {
	p := &part{u: u, idx: len(c.parts)}
	c.parts = append(c.parts, p)
	c.byName[u.name] = p
	c.snap.Participants = append(c.snap.Participants, wire.Participant{
		JID: u.jid, DisplayName: u.display, Status: status, Initiator: u.jid == c.snap.Initiator,
	})
	u.parts[c] = p
	return p
}

// joinedElsewhere reports whether u is joined in a live call other than except.
func (h *Hub) joinedElsewhere(u *user, except *call) bool {
	for cl, p := range u.parts {
		if cl != except && !p.done && wire.Joined(cl.status(p)) {
			return true
		}
	}
	return false
}

// inCall reports whether u may not start a call: joined in a call, or rung by
// a call that is already active.
func (h *Hub) inCall(u *user) bool {
	for cl, p := range u.parts {
		if p.done {
			continue
		}
		st := cl.status(p)
		if wire.Joined(st) || (wire.Pending(st) && cl.snap.State == wire.CallStateActive) {
			return true
		}
	}
	return false
}

// handleCreate serves call.create.
func (h *Hub) handleCreate(c *conn, f wire.Frame) {
	s := h.currentSession(c)
	if s == nil {
		h.sendNow(c, f.ID, nil, errUnauthorized())
		return
	}
	var req wire.CallCreateRequest
	if e := wire.DecodeData(f, &req); e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	callees, e := h.checkCreate(s.u.name, req)
	if e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	// Look the callees up outside the lock.
	accounts, e := h.lookupUsers(callees)
	if e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	cl, e := h.createCall(b, c, s, req, accounts)
	if e != nil {
		h.replyErr(b, c, f.ID, e)
		h.commit(b)
		return
	}
	reply := &batch{}
	h.reply(reply, c, f.ID, wire.CallResult{Call: cl.snapshot()})
	b.ops = append(reply.ops, b.ops...)
	h.commit(b)
}

// checkCreate validates a call.create request and returns the callees'
// usernames, de-duplicated and without the caller.
func (h *Hub) checkCreate(self string, req wire.CallCreateRequest) ([]string, *wire.Error) {
	if req.Type != wire.TypeAudio && req.Type != wire.TypeVideo {
		return nil, wire.BadRequest("callType must be %q or %q.", wire.TypeAudio, wire.TypeVideo)
	}
	if len(req.To) == 0 {
		return nil, wire.BadRequest("Name at least one user to call.")
	}
	if len(req.To) > MaxCallees {
		return nil, wire.BadRequest("Too many users to call (%d).", len(req.To))
	}
	if len(req.GroupID) > MaxGroupIDLen || !utf8.ValidString(req.GroupID) {
		return nil, wire.BadRequest("groupId is at most %d bytes of UTF-8.", MaxGroupIDLen)
	}
	names, e := h.parseUsers(self, req.To)
	if e != nil {
		return nil, e
	}
	if len(names)+1 > h.cfg.MaxParticipants {
		return nil, errorf(wire.CodeCallFull, reasonCallFull,
			"A call has at most %d participants including you; %d were asked.", h.cfg.MaxParticipants, len(names)+1)
	}
	return names, nil
}

// createCall starts a call from session s. Called with h.mu held.
func (h *Hub) createCall(b *batch, c *conn, s *session, req wire.CallCreateRequest, callees []store.User) (*call, *wire.Error) {
	if _, e := h.sessionCheck(c); e != nil {
		return nil, e
	}
	if c.sess != s {
		return nil, errUnauthorized()
	}
	if h.inCall(s.u) {
		return nil, errorf(wire.CodeConflict, reasonConflict, "You are already in a call.")
	}
	now := nowMillis()
	cl := &call{byName: make(map[string]*part)}
	mode := wire.ModeOneToMany
	if len(callees) == 1 && req.GroupID == "" {
		mode = wire.ModeOneToOne
	}
	link := h.newLink()
	roomID := randomID(16)
	cl.snap = wire.Call{
		RoomID: roomID, Link: link, Type: req.Type, Mode: mode, GroupID: req.GroupID,
		Initiator: s.u.jid, State: wire.CallStateRinging, CreatedAt: now, To: []string{},
	}
	caller := cl.addPart(s.u, wire.StatusConnecting)
	caller.sess = s
	cl.joined = []string{s.u.jid}

	var engaged, pending []*part
	for _, su := range callees {
		u := h.userFor(su)
		cl.snap.To = append(cl.snap.To, u.jid)
		if h.joinedElsewhere(u, nil) {
			engaged = append(engaged, cl.addPart(u, wire.StatusEngaged))
			continue
		}
		p := cl.addPart(u, wire.StatusCalling)
		if hasAttached(u) {
			cl.setStatus(p, wire.StatusRinging)
		}
		pending = append(pending, p)
	}
	h.calls[roomID] = cl
	h.links[link] = cl
	h.log.Info("call created", "room", roomID, "type", req.Type, "mode", mode, "from", s.u.name, "callees", len(callees))

	for _, p := range engaged {
		h.finishPart(b, cl, p, now)
	}
	h.ring(b, cl, pending)
	if !h.checkEnd(b, cl, now) {
		h.broadcast(b, cl, s.u.jid, "")
	}
	return cl, nil
}

// ring sends call.incoming to every tab of the pending parts and starts
// their ring timers. Called with h.mu held.
func (h *Hub) ring(b *batch, cl *call, pending []*part) {
	if len(pending) == 0 {
		return
	}
	incoming := mustJSON(wire.CallEvent{Call: cl.snap})
	for _, p := range pending {
		for _, rs := range p.u.sessions {
			b.do(func() { h.sendEvent(rs, wire.EventIncoming, incoming) })
		}
		if p.ring != nil {
			p.ring.Stop()
		}
		p.ringGen++
		gen := p.ringGen
		p.ring = h.afterFunc(h.cfg.RingTimeout, func() {
			if p.ringGen == gen {
				h.ringTimeout(cl, p)
			}
		})
	}
}

func hasAttached(u *user) bool {
	for _, s := range u.sessions {
		if s.c != nil {
			return true
		}
	}
	return false
}

// ringSession rings a session that just signed in (incoming) or resumed for
// every call still ringing its user: a callee shown as "calling" becomes
// "ringing". Called with h.mu held.
func (h *Hub) ringSession(b *batch, s *session, incoming bool) {
	for cl, p := range s.u.parts {
		if p.done || !wire.Pending(cl.status(p)) {
			continue
		}
		changed := false
		if cl.status(p) == wire.StatusCalling && s.c != nil {
			cl.setStatus(p, wire.StatusRinging)
			changed = true
		}
		if incoming {
			h.event(b, s, wire.EventIncoming, wire.CallEvent{Call: cl.snap})
		}
		if changed {
			h.broadcast(b, cl, "", "")
		}
	}
}

// ringTimeout gives up ringing callee p. Called with h.mu held.
func (h *Hub) ringTimeout(cl *call, p *part) {
	if cl.ended || p.done || !wire.Pending(cl.status(p)) {
		return
	}
	now := nowMillis()
	b := &batch{}
	cl.setStatus(p, wire.StatusNoAnswer)
	h.finishPart(b, cl, p, now)
	missed := mustJSON(wire.CallEvent{Call: cl.snap, Reason: wire.StatusNoAnswer})
	dismissed := mustJSON(wire.DismissEvent{RoomID: cl.snap.RoomID, Reason: wire.ReasonTimeout})
	for _, s := range p.u.sessions {
		b.do(func() {
			h.sendEvent(s, wire.EventMissed, missed)
			h.sendEvent(s, wire.EventDismissed, dismissed)
		})
	}
	h.broadcast(b, cl, "", "")
	h.checkEnd(b, cl, now)
	h.commit(b)
}

// broadcast sends the call's current state to every joined participant's
// session, and the joined users to the link subscribers when they changed.
// Called with h.mu held.
func (h *Hub) broadcast(b *batch, cl *call, by, reason string) {
	data := mustJSON(wire.CallEvent{Call: cl.snap, By: by, Reason: reason})
	for _, p := range cl.parts {
		if s := p.sess; s != nil && !p.done && wire.Joined(cl.status(p)) {
			b.do(func() { h.sendEvent(s, wire.EventUpdate, data) })
		}
	}
	h.notifyPreview(b, cl)
}

// dismissOthers stops ringing on every session of p's user but except.
func (h *Hub) dismissOthers(b *batch, cl *call, p *part, except *session, reason string) {
	data := mustJSON(wire.DismissEvent{RoomID: cl.snap.RoomID, Reason: reason})
	for _, s := range p.u.sessions {
		if s != except {
			b.do(func() { h.sendEvent(s, wire.EventDismissed, data) })
		}
	}
}

// finishPart ends p's part (its status already final) and queues its log.
// Called with h.mu held.
func (h *Hub) finishPart(b *batch, cl *call, p *part, now int64) {
	if p.done {
		return
	}
	p.done = true
	if p.ring != nil {
		p.ring.Stop()
		p.ring = nil
	}
	p.ringGen++
	b.logs = append(b.logs, h.logFor(cl, p, now))
	delete(p.u.parts, cl)
	h.gcUser(p.u)
}

// logFor is p's call log entry, its part ending at now.
func (h *Hub) logFor(cl *call, p *part, now int64) store.CallLog {
	l := wire.CallLog{
		RoomID: cl.snap.RoomID, RoomLink: cl.snap.Link, CallMode: cl.snap.Mode, CallType: cl.snap.Type,
		FromUser: cl.snap.Initiator, ToUsers: slices.Clone(cl.snap.To), UserList: slices.Clone(cl.joined),
		InviteUserList: slices.Clone(cl.snap.Invited), CallTime: cl.snap.CreatedAt, EndTime: now,
	}
	if l.InviteUserList == nil {
		l.InviteUserList = []string{}
	}
	if cl.snap.GroupID != "" {
		g := cl.snap.GroupID
		l.GroupID = &g
	}
	var start int64
	switch {
	case cl.initiator(p):
		l.CallState = wire.LogOutgoing
		start = cl.snap.StartedAt
		if cl.snap.Meet || p.replace {
			// A meet's creator, or an initiator invited back, started
			// when they joined (0 if they never did).
			start = p.started
		}
	case p.answered:
		l.CallState = wire.LogIncoming
		start = p.started
	case cl.status(p) == wire.StatusDeclined:
		l.CallState = wire.LogDeclined
	default:
		l.CallState = wire.LogMissed
	}
	if start != 0 {
		l.StartTime = &start
		l.Duration = max(now-start, 0)
	}
	return store.CallLog{UserID: p.u.id, CallLog: l, Replace: p.replace}
}

// counts returns how many participants are joined and how many pending.
func (c *call) counts() (joined, pending int) {
	for _, p := range c.parts {
		if p.done {
			continue
		}
		switch st := c.status(p); {
		case wire.Joined(st):
			joined++
		case wire.Pending(st):
			pending++
		}
	}
	return joined, pending
}

// checkEnd applies the end rule: a call with fewer than two participants
// joined or still being rung ends. A meet call instead ends when nobody is
// joined or rung any more after someone joined; while nobody is joined its
// idle timer runs. Called with h.mu held.
func (h *Hub) checkEnd(b *batch, cl *call, now int64) bool {
	if cl.ended {
		return true
	}
	joined, pending := cl.counts()
	if cl.snap.Meet {
		if joined > 0 {
			return false
		}
		if pending > 0 || len(cl.joined) == 0 {
			h.startIdle(cl)
			return false
		}
	} else if joined+pending >= 2 {
		return false
	}
	h.endCall(b, cl, wire.StatusEnded, now)
	return true
}

// endCall ends a call: everyone still joined gets a final call.update with
// state "ended", everyone still rung gets call.missed{ended} and
// call.dismissed{canceled}, and every unfinished part is logged. Called with
// h.mu held.
func (h *Hub) endCall(b *batch, cl *call, reason string, now int64) {
	if cl.ended {
		return
	}
	cl.ended = true
	cl.snap.State = wire.CallStateEnded
	cl.snap.EndedAt = now
	var joined, pending []*part
	for _, p := range cl.parts {
		if p.done {
			continue
		}
		switch st := cl.status(p); {
		case wire.Joined(st):
			joined = append(joined, p)
		case wire.Pending(st):
			pending = append(pending, p)
		}
		cl.setStatus(p, wire.StatusEnded)
		h.finishPart(b, cl, p, now)
	}
	final := mustJSON(wire.CallEvent{Call: cl.snap, Reason: reason})
	for _, p := range joined {
		if s := p.sess; s != nil {
			b.do(func() { h.sendEvent(s, wire.EventUpdate, final) })
		}
	}
	missed := mustJSON(wire.CallEvent{Call: cl.snap, Reason: wire.StatusEnded})
	dismissed := mustJSON(wire.DismissEvent{RoomID: cl.snap.RoomID, Reason: wire.ReasonCanceled})
	for _, p := range pending {
		for _, s := range p.u.sessions {
			b.do(func() {
				h.sendEvent(s, wire.EventMissed, missed)
				h.sendEvent(s, wire.EventDismissed, dismissed)
			})
		}
	}
	h.stopSwitch(cl)
	if cl.idle != nil {
		cl.idle.Stop()
		cl.idle = nil
	}
	cl.idleGen++
	if len(cl.subs) > 0 {
		gone := mustJSON(wire.LinkPreview{RoomID: cl.snap.RoomID, Type: cl.snap.Type, Users: []wire.Participant{}})
		for s := range cl.subs {
			s.sub = nil
			b.do(func() { h.sendEvent(s, wire.EventUsers, gone) })
		}
		cl.subs = nil
	}
	h.log.Info("call ended", "room", cl.snap.RoomID, "joined", len(cl.joined), "ms", now-cl.snap.CreatedAt)
	delete(h.calls, cl.snap.RoomID)
	if h.links[cl.snap.Link] == cl {
		delete(h.links, cl.snap.Link)
	}
	h.ended[cl.snap.RoomID] = struct{}{}
	h.endedL[cl.snap.Link] = struct{}{}
	h.endedQ = append(h.endedQ, endedCall{cl.snap.RoomID, cl.snap.Link})
	if len(h.endedQ) > endedMemory {
		delete(h.ended, h.endedQ[0].room)
		delete(h.endedL, h.endedQ[0].link)
		h.endedQ = slices.Delete(h.endedQ, 0, 1)
	}
}

// leave ends joined participant p's part (call.end, logout, grace expired).
// The initiator leaving before anyone answered cancels the call. Called with
// h.mu held.
func (h *Hub) leave(b *batch, cl *call, p *part, now int64) {
	cl.setStatus(p, wire.StatusDisconnected)
	h.finishPart(b, cl, p, now)
	if sw := cl.sw; sw != nil && (sw.from == p || sw.to == p) {
		h.stopSwitch(cl)
	}
	if cl.initiator(p) && cl.snap.StartedAt == 0 && !cl.snap.Meet {
		h.endCall(b, cl, wire.StatusEnded, now)
		return
	}
	h.broadcast(b, cl, p.u.jid, "")
	h.checkEnd(b, cl, now)
}

// decline ends pending callee p's part from session s.
func (h *Hub) decline(b *batch, cl *call, p *part, s *session, now int64) {
	cl.setStatus(p, wire.StatusDeclined)
	h.finishPart(b, cl, p, now)
	h.dismissOthers(b, cl, p, s, wire.ReasonDeclinedElsewhere)
	h.broadcast(b, cl, p.u.jid, "")
	h.checkEnd(b, cl, now)
}

// handleRoomOp serves the requests that name a live call: answer, decline,
// end, signal, mute and media.
func (h *Hub) handleRoomOp(c *conn, f wire.Frame) {
	var (
		room  wire.RoomRequest
		sig   wire.SignalRequest
		mute  wire.MuteRequest
		media wire.MediaRequest
		e     *wire.Error
	)
	switch f.Type {
	case wire.TypeCallSignal:
		if e = wire.DecodeData(f, &sig); e == nil {
			e = checkPayload(sig.Payload)
		}
		room.RoomID = sig.RoomID
	case wire.TypeCallMute:
		if e = wire.DecodeData(f, &mute); e == nil && mute.Audio == nil && mute.Video == nil {
			e = wire.BadRequest("call.mute needs audio, video or both.")
		}
		room.RoomID = mute.RoomID
	case wire.TypeCallMedia:
		if e = wire.DecodeData(f, &media); e == nil && media.Status != wire.StatusConnected && media.Status != wire.StatusReconnecting {
			e = wire.BadRequest("call.media status must be %q or %q.", wire.StatusConnected, wire.StatusReconnecting)
		}
		room.RoomID = media.RoomID
	default:
		e = wire.DecodeData(f, &room)
	}
	if e == nil && room.RoomID == "" {
		e = wire.BadRequest("The %q request needs a roomId.", f.Type)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	var result any
	if e == nil {
		result, e = h.roomOp(b, c, f.Type, room.RoomID, sig, mute, media)
	}
	reply := &batch{}
	if e != nil {
		h.replyErr(reply, c, f.ID, e)
	} else {
		h.reply(reply, c, f.ID, result)
	}
	b.ops = append(reply.ops, b.ops...)
	h.commit(b)
}

// roomOp applies one room request. Called with h.mu held.
func (h *Hub) roomOp(b *batch, c *conn, typ, roomID string, sig wire.SignalRequest, mute wire.MuteRequest, media wire.MediaRequest) (any, *wire.Error) {
	s, e := h.sessionCheck(c)
	if e != nil {
		return nil, e
	}
	cl := h.calls[roomID]
	if cl == nil {
		if _, ok := h.ended[roomID]; ok {
			return nil, errorf(wire.CodeCallEnded, reasonCallEnded, "This call has already ended.")
		}
		return nil, errorf(wire.CodeNotFound, reasonNotFound, "There is no call %q.", truncate(roomID, 64))
	}
	p := cl.byName[s.u.name]
	if p == nil {
		if typ == wire.TypeCallSignal || typ == wire.TypeCallMute || typ == wire.TypeCallMedia {
			return nil, errorf(wire.CodeForbidden, reasonForbidden, "Only participants of a call can do this.")
		}
		return nil, errorf(wire.CodeNotFound, reasonNotFound, "You have no part in this call.")
	}
	st := cl.status(p)
	now := nowMillis()
	// Requests about media must come from the session bound to the call.
	member := !p.done && wire.Joined(st) && p.sess == s

	switch typ {
	case wire.TypeCallAnswer:
		if p.done || !wire.Pending(st) {
			return nil, errorf(wire.CodeConflict, reasonConflict, "There is no ringing call to answer (you are %s).", st)
		}
		if h.joinedElsewhere(s.u, cl) {
			return nil, errorf(wire.CodeConflict, reasonConflict, "You are already in another call; end it first.")
		}
		if p.ring != nil {
			p.ring.Stop()
			p.ring = nil
		}
		h.join(cl, p, s, now)
		h.dismissOthers(b, cl, p, s, wire.ReasonAnsweredElsewhere)
		h.broadcast(b, cl, s.u.jid, "")
		return wire.CallResult{Call: cl.snapshot()}, nil

	case wire.TypeCallDecline:
		if p.done || !wire.Pending(st) {
			return nil, errorf(wire.CodeConflict, reasonConflict, "There is no ringing call to decline (you are %s).", st)
		}
		h.decline(b, cl, p, s, now)
		return nil, nil

	case wire.TypeCallEnd:
		switch {
		case p.done:
			return nil, errorf(wire.CodeConflict, reasonConflict, "You already left this call (%s).", st)
		case wire.Pending(st):
			h.decline(b, cl, p, s, now)
		case p.sess != s:
			return nil, errorf(wire.CodeForbidden, reasonForbidden, "This call is on another tab or device.")
		default:
			h.leave(b, cl, p, now)
		}
		return nil, nil

	case wire.TypeCallSignal:
		if !member {
			return nil, errorf(wire.CodeForbidden, reasonForbidden, "Only a joined participant (on the tab that joined) can signal.")
		}
		name, e := wire.ParseJID(sig.To, h.cfg.Domain)
		if e != nil {
			return nil, e
		}
		tp := cl.byName[name]
		if tp == nil || tp == p || tp.done || !wire.Joined(cl.status(tp)) || tp.sess == nil {
			return nil, errorf(wire.CodeForbidden, reasonForbidden, "%s is not another joined participant of this call.", truncate(sig.To, 80))
		}
		// The event must fit the receiver's frame limit: it names the sender
		// instead of the receiver, and encoding escapes <, > and & (six bytes
		// each), so it can be larger than the request was.
		data := mustJSON(wire.SignalEvent{RoomID: roomID, From: s.u.jid, Payload: sig.Payload})
		if len(data)+eventEnvelope > wire.MaxFrameBytes {
			return nil, errorf(wire.CodeTooLarge, reasonTooLarge,
				"The relayed signal would be %d bytes, over the %d byte frame limit.", len(data)+eventEnvelope, wire.MaxFrameBytes)
		}
		ts := tp.sess
		b.do(func() { h.sendEvent(ts, wire.EventSignal, data) })
		return nil, nil

	case wire.TypeCallMute:
		if !member {
			return nil, errorf(wire.CodeForbidden, reasonForbidden, "Only a joined participant (on the tab that joined) can mute.")
		}
		sp := &cl.snap.Participants[p.idx]
		changed := false
		if mute.Audio != nil && *mute.Audio != sp.AudioMuted {
			sp.AudioMuted, changed = *mute.Audio, true
		}
		if mute.Video != nil && *mute.Video != sp.VideoMuted {
			sp.VideoMuted, changed = *mute.Video, true
		}
		if changed {
			h.broadcast(b, cl, s.u.jid, "")
		}
		return nil, nil

	case wire.TypeCallMedia:
		if !member {
			return nil, errorf(wire.CodeForbidden, reasonForbidden, "Only a joined participant (on the tab that joined) can report media.")
		}
		if st != media.Status {
			cl.setStatus(p, media.Status)
			h.broadcast(b, cl, s.u.jid, "")
		}
		return nil, nil
	}
	return nil, wire.UnknownType(typ)
}

// checkPayload validates a call.signal payload.
func checkPayload(p wire.Payload) *wire.Error {
	if p.SDP == nil && p.Candidate == nil && !p.Restart {
		return wire.BadRequest("A signal payload carries an sdp, a candidate or a restart request.")
	}
	if p.SDP != nil {
		switch p.SDP.Type {
		case "offer", "answer", "pranswer", "rollback":
		default:
			return wire.BadRequest("sdp.type must be offer, answer, pranswer or rollback.")
		}
	}
	return nil
}
