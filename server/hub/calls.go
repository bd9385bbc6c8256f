package hub

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"parley/app/wire"
	"parley/server/store"
)

// This file holds the core's one-to-one and group call requests: create,
// answer, decline, end, signal, mute and media, and the ringing they start.

// joinedElsewhere reports whether u is joined in a live call other than except.
func joinedElsewhere(u *user, except *call) bool {
	for cl, p := range u.parts {
		if cl != except && !p.done && wire.Joined(cl.status(p)) {
			return true
		}
	}
	return false
}

// inCall reports whether u may not start a call: joined in a call, or rung by
// a call that is already active.
func inCall(u *user) bool {
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

// checkCreate validates a call.create request from username self and returns
// the callees' usernames, de-duplicated and without the caller. It needs no
// state: the transport calls it before looking the callees up.
func (k *core) checkCreate(self string, req wire.CallCreateRequest) ([]string, *wire.Error) {
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
	names, e := k.parseUsers(self, req.To)
	if e != nil {
		return nil, e
	}
	if len(names)+1 > k.cfg.MaxParticipants {
		return nil, wire.Errorf(wire.CodeCallFull, wire.ReasonCallFull,
			"A call has at most %d participants including you; %d were asked.", k.cfg.MaxParticipants, len(names)+1)
	}
	return names, nil
}

// parseUsers parses JIDs of users to call or invite: de-duplicated, without
// self. A malformed JID is 400, another domain 404; none left is 400.
func (k *core) parseUsers(self string, to []string) ([]string, *wire.Error) {
	if len(to) > MaxCallees {
		return nil, wire.BadRequest("Too many users (%d).", len(to))
	}
	var names []string
	for _, jid := range to {
		name, e := wire.ParseJID(jid, k.cfg.Domain)
		if e != nil {
			return nil, e
		}
		if name != self && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, wire.BadRequest("Name at least one user other than yourself.")
	}
	return names, nil
}

// create starts a call from tab id to the callees (accounts already looked
// up, in the order called; see checkCreate). Those named in blockedBy
// blocked the caller: they are engaged, silently (see blocks.go).
func (k *core) create(fx *effects, id string, req wire.CallCreateRequest, callees []store.User, blockedBy, pushable map[string]bool) (wire.Call, *wire.Error) {
	t := k.tabOf(id)
	if t == nil {
		return wire.Call{}, errUnauthorized()
	}
	if inCall(t.u) {
		return wire.Call{}, wire.Conflict("You are already in a call.")
	}
	now := k.now()
	cl := &call{byName: make(map[string]*part)}
	mode := wire.ModeOneToMany
	if len(callees) == 1 && req.GroupID == "" {
		mode = wire.ModeOneToOne
	}
	link := k.newLink()
	roomID := randomID(16)
	cl.link = link
	shown := "" // a one-to-one call's link is hidden until shared (call.share)
	if mode == wire.ModeOneToMany {
		shown = link
	}
	cl.snap = wire.Call{
		RoomID: roomID, Link: shown, Type: req.Type, Mode: mode, GroupID: req.GroupID,
		Initiator: t.u.jid, State: wire.CallStateRinging, CreatedAt: now, To: []string{},
	}
	caller := cl.addPart(t.u, wire.StatusConnecting)
	caller.tab = t
	cl.snap.Participants[caller.idx].JoinOrder = 1
	cl.joined = []string{t.u.jid}

	var engaged, pending []*part
	for _, su := range callees {
		u := k.userFor(su)
		cl.snap.To = append(cl.snap.To, u.jid)
		if joinedElsewhere(u, nil) || blockedBy[u.name] {
			p := cl.addPart(u, wire.StatusEngaged)
			p.silent = blockedBy[u.name]
			engaged = append(engaged, p)
			continue
		}
		p := cl.addPart(u, wire.StatusCalling)
		if u.online() {
			cl.setStatus(p, wire.StatusRinging)
		}
		pending = append(pending, p)
	}
	k.calls[roomID] = cl
	k.links[link] = cl
	k.touch(cl)
	fx.note(cl, noteCreated, CallKindCall, 0, "call created",
		"type", req.Type, "mode", mode, "from", t.u.name, "callees", len(callees))

	for _, p := range engaged {
		fx.note(cl, noteRingEnded, OutcomeBusy, 0, "call busy", "user", p.u.name)
		k.finishPart(fx, cl, p, now)
	}
	k.ring(fx, cl, pending, pushable)
	if !k.checkEnd(fx, cl, now) {
		k.broadcast(fx, cl, t.u.jid, "")
	}
	return cl.snapshot(), nil
}

// ring sends call.incoming to every tab of the pending parts and starts
// their ring timers; those named in pushable with no tab to ring are rung
// by Web Push (ringByPush).
func (k *core) ring(fx *effects, cl *call, pending []*part, pushable map[string]bool) {
	if len(pending) == 0 {
		return
	}
	k.ringByPush(fx, cl, pending, pushable)
	incoming := mustJSON(wire.CallEvent{Call: cl.snap})
	for _, p := range pending {
		for _, t := range p.u.tabs {
			fx.emitRaw(t, wire.EventIncoming, incoming)
		}
		p.ringGen++
		p.ringing = true
		p.ringEnd = k.now() + k.cfg.RingTimeout.Milliseconds()
		fx.start(timerKey{timerRing, cl.snap.RoomID, p.u.name}, p.ringGen, k.cfg.RingTimeout)
		fx.note(cl, noteRinging, "", 0, "call ringing", "user", p.u.name, "status", cl.status(p))
	}
}

// ringTab rings a tab that just signed in (incoming) or resumed for every
// call still ringing its user: a callee shown as "calling" becomes "ringing".
func (k *core) ringTab(fx *effects, t *tab, incoming bool) {
	for cl, p := range t.u.parts {
		if p.done || !wire.Pending(cl.status(p)) {
			continue
		}
		changed := false
		if cl.status(p) == wire.StatusCalling && t.online {
			cl.setStatus(p, wire.StatusRinging)
			changed = true
		}
		if incoming {
			fx.emit(t, wire.EventIncoming, wire.CallEvent{Call: cl.snap})
		}
		if changed {
			k.broadcast(fx, cl, "", "")
		}
	}
}

// ringTimeout gives up ringing callee p.
func (k *core) ringTimeout(fx *effects, cl *call, p *part) {
	if cl.ended || p.done || !wire.Pending(cl.status(p)) {
		return
	}
	now := k.now()
	cl.setStatus(p, wire.StatusNoAnswer)
	k.finishPart(fx, cl, p, now)
	fx.note(cl, noteRingEnded, OutcomeMissed, 0, "call missed", "user", p.u.name)
	missed := mustJSON(wire.CallEvent{Call: cl.snap, Reason: wire.StatusNoAnswer})
	dismissed := mustJSON(wire.DismissEvent{RoomID: cl.snap.RoomID, Reason: wire.ReasonTimeout})
	for _, t := range p.u.tabs {
		fx.emitRaw(t, wire.EventMissed, missed)
		fx.emitRaw(t, wire.EventDismissed, dismissed)
	}
	k.broadcast(fx, cl, "", "")
	k.checkEnd(fx, cl, now)
}

// join makes p a joined participant bound to tab t (an answer or a link join).
func (k *core) join(fx *effects, cl *call, p *part, t *tab, now int64) {
	k.stopRing(fx, cl, p)
	cl.setStatus(p, wire.StatusConnecting)
	cl.snap.Participants[p.idx].JoinOrder = cl.nextJoinOrder()
	p.tab, p.answered, p.started, p.prev = t, true, now, ""
	if !slices.Contains(cl.joined, t.u.jid) {
		cl.joined = append(cl.joined, t.u.jid)
	}
	if cl.snap.StartedAt == 0 {
		cl.snap.StartedAt = now
		cl.snap.State = wire.CallStateActive
	}
	k.stopIdle(fx, cl)
}

// reopen starts a new part for a user whose earlier part in cl is over (they
// left, declined or missed it): it is pending or joined again, and its log
// will replace the earlier one.
func (cl *call) reopen(p *part, status string) {
	p.done, p.replace, p.answered, p.started, p.tab, p.prev = false, true, false, 0, nil, ""
	sp := &cl.snap.Participants[p.idx]
	sp.Status, sp.AudioMuted, sp.VideoMuted = status, false, false
	p.u.parts[cl] = p
}

// becomeGroup turns cl into a one-to-many call; a pending video switch,
// which is for two people, ends with "timeout" to both.
func (k *core) becomeGroup(fx *effects, cl *call) {
	cl.snap.Mode = wire.ModeOneToMany
	cl.snap.Link = cl.link // a group call's link is shareable
	if sw := cl.sw; sw != nil {
		k.stopSwitch(fx, cl)
		k.switchEvent(fx, cl, sw.from, sw.from, wire.SwitchTimeout)
		k.switchEvent(fx, cl, sw.to, sw.from, wire.SwitchTimeout)
	}
}

// leave ends joined participant p's part (call.end, logout, grace expired).
// The initiator leaving before anyone answered cancels the call.
func (k *core) leave(fx *effects, cl *call, p *part, now int64) {
	cl.setStatus(p, wire.StatusDisconnected)
	k.finishPart(fx, cl, p, now)
	k.endShare(cl, p)
	if sw := cl.sw; sw != nil && (sw.from == p || sw.to == p) {
		k.stopSwitch(fx, cl)
	}
	fx.note(cl, noteLeft, "", 0, "call member left", "user", p.u.name)
	if cl.initiator(p) && cl.snap.StartedAt == 0 && !cl.snap.Meet {
		cl.why = EndCancelled
		k.endCall(fx, cl, wire.StatusEnded, now)
		return
	}
	k.broadcast(fx, cl, p.u.jid, "")
	k.checkEnd(fx, cl, now)
}

// decline ends pending callee p's part from tab t.
func (k *core) decline(fx *effects, cl *call, p *part, t *tab, now int64) {
	cl.setStatus(p, wire.StatusDeclined)
	k.finishPart(fx, cl, p, now)
	fx.note(cl, noteRingEnded, OutcomeDeclined, 0, "call declined", "user", p.u.name)
	k.dismissOthers(fx, cl, p, t, wire.ReasonDeclinedElsewhere)
	k.broadcast(fx, cl, p.u.jid, "")
	k.checkEnd(fx, cl, now)
}

// partOf returns tab id, the call roomID and the user's part in it. A user
// with no part gets 404, or 403 when forbidden is set (the media requests).
func (k *core) partOf(id, roomID string, forbidden bool) (*tab, *call, *part, *wire.Error) {
	t, cl, p, e := k.find(id, roomID)
	if e != nil {
		return nil, nil, nil, e
	}
	if p == nil {
		if forbidden {
			return nil, nil, nil, wire.Forbidden("Only participants of a call can do this.")
		}
		return nil, nil, nil, wire.NotFound("You have no part in this call.")
	}
	return t, cl, p, nil
}

// answer answers the call roomID on tab id.
func (k *core) answer(fx *effects, id string, req wire.AnswerRequest) (wire.Call, *wire.Error) {
	t, cl, p, e := k.partOf(id, req.RoomID, false)
	if e != nil {
		return wire.Call{}, e
	}
	if st := cl.status(p); p.done || !wire.Pending(st) {
		return wire.Call{}, wire.Conflict("There is no ringing call to answer (you are %s).", st)
	}
	if joinedElsewhere(t.u, cl) {
		return wire.Call{}, wire.Conflict("You are already in another call; end it first.")
	}
	// The prepared answers go to participants joined now; check them all
	// before anything changes.
	out := make([]*tab, len(req.Signals))
	data := make([][]byte, len(req.Signals))
	for i, r := range req.Signals {
		name, e := wire.ParseJID(r.To, k.cfg.Domain)
		if e != nil {
			return wire.Call{}, e
		}
		tp := cl.byName[name]
		if tp == nil || tp == p {
			return wire.Call{}, wire.Forbidden("%s is not another participant of this call.", truncate(r.To, 80))
		}
		if data[i], e = signalEvent(req.RoomID, t.u.jid, r.Payload); e != nil {
			return wire.Call{}, e
		}
		if !tp.done && wire.Joined(cl.status(tp)) && tp.tab != nil {
			out[i] = tp.tab // else they left (or stopped ringing) meanwhile: dropped
		}
	}
	k.join(fx, cl, p, t, k.now())
	fx.note(cl, noteRingEnded, OutcomeAnswered, 0, "call answered", "user", t.u.name)
	k.dismissOthers(fx, cl, p, t, wire.ReasonAnsweredElsewhere)
	for i, to := range out {
		if to != nil {
			fx.emitRaw(to, wire.EventSignal, data[i])
		}
	}
	k.broadcast(fx, cl, t.u.jid, "")
	return cl.snapshot(), nil
}

// nextJoinOrder is the join order of the next participant to join cl: one
// more than any so far (wire.Participant.JoinOrder).
func (cl *call) nextJoinOrder() int {
	n := 0
	for _, sp := range cl.snap.Participants {
		n = max(n, sp.JoinOrder)
	}
	return n + 1
}

// signalEvent encodes a relayed signal, which must fit the receiver's frame
// limit: it names the sender instead of the receiver, and encoding escapes
// <, > and & (six bytes each), so it can be larger than the request was.
func signalEvent(roomID, from string, p wire.Payload) ([]byte, *wire.Error) {
	data := mustJSON(wire.SignalEvent{RoomID: roomID, From: from, Payload: p})
	if len(data)+eventEnvelope > wire.MaxFrameBytes {
		return nil, wire.Errorf(wire.CodeTooLarge, wire.ReasonTooLarge,
			"The relayed signal would be %d bytes, over the %d byte frame limit.", len(data)+eventEnvelope, wire.MaxFrameBytes)
	}
	return data, nil
}

// decline declines the call roomID on every tab of tab id's user.
func (k *core) declineCall(fx *effects, id, roomID string) *wire.Error {
	t, cl, p, e := k.partOf(id, roomID, false)
	if e != nil {
		return e
	}
	if st := cl.status(p); p.done || !wire.Pending(st) {
		return wire.Conflict("There is no ringing call to decline (you are %s).", st)
	}
	k.decline(fx, cl, p, t, k.now())
	return nil
}

// end leaves the call roomID from tab id (a pending callee declines).
func (k *core) end(fx *effects, id, roomID string) *wire.Error {
	t, cl, p, e := k.partOf(id, roomID, false)
	if e != nil {
		return e
	}
	switch st := cl.status(p); {
	case p.done:
		return wire.Conflict("You already left this call (%s).", st)
	case wire.Pending(st):
		k.decline(fx, cl, p, t, k.now())
	case p.tab != t:
		return wire.Forbidden("This call is on another tab or device.")
	default:
		k.leave(fx, cl, p, k.now())
	}
	return nil
}

// mediaMember returns tab id's part in roomID for the requests about media,
// which must come from the tab bound to the call (else 403 with what).
func (k *core) mediaMember(id, roomID, what string) (*tab, *call, *part, *wire.Error) {
	t, cl, p, e := k.partOf(id, roomID, true)
	if e != nil {
		return nil, nil, nil, e
	}
	if p.done || !wire.Joined(cl.status(p)) || p.tab != t {
		return nil, nil, nil, wire.Forbidden("Only a joined participant (on the tab that joined) can %s.", what)
	}
	return t, cl, p, nil
}

// signal relays a signal payload from tab id to another joined participant,
// or to every tab of a participant still ringing (a pre-offer).
func (k *core) signal(fx *effects, id string, req wire.SignalRequest) *wire.Error {
	defer k.readOnly(req.RoomID)()
	t, cl, p, e := k.mediaMember(id, req.RoomID, "signal")
	if e != nil {
		return e
	}
	name, e := wire.ParseJID(req.To, k.cfg.Domain)
	if e != nil {
		return e
	}
	tp := cl.byName[name]
	if kn := cl.knockOf(k.jidOf(req.To)); kn != nil && (tp == nil || tp.done || !wire.Joined(cl.status(tp))) {
		// A pre-offer for someone waiting to be let in: only its session
		// description, the member's candidates follow the admission.
		if req.Payload.SDP == nil || req.Payload.SDP.Type != "offer" || strings.Contains(req.Payload.SDP.SDP, "a=candidate:") {
			return wire.Forbidden("Only an offer without candidates may go to someone not yet let in.")
		}
		data, e := signalEvent(req.RoomID, t.u.jid, req.Payload)
		if e != nil {
			return e
		}
		if kn.t.online {
			fx.emitRaw(kn.t, wire.EventSignal, data)
		}
		return nil
	}
	pending := tp != nil && !tp.done && wire.Pending(cl.status(tp))
	if tp == nil || tp == p || tp.done || (!pending && (!wire.Joined(cl.status(tp)) || tp.tab == nil)) {
		return wire.Forbidden("%s is not another joined or ringing participant of this call.", truncate(req.To, 80))
	}
	data, e := signalEvent(req.RoomID, t.u.jid, req.Payload)
	if e != nil {
		return e
	}
	if pending {
		// A pre-offer (or its candidates) for someone still ringing: every
		// tab of theirs may answer, so each prepares. A tab away (its
		// connection lost) would only have it replayed, crowding out the
		// events it must not miss; answering there asks for the offer again.
		for _, tt := range tp.u.tabs {
			if tt.online {
				fx.emitRaw(tt, wire.EventSignal, data)
			}
		}
		return nil
	}
	fx.emitRaw(tp.tab, wire.EventSignal, data)
	return nil
}

// mute publishes tab id's mute state.
func (k *core) mute(fx *effects, id string, req wire.MuteRequest) *wire.Error {
	t, cl, p, e := k.mediaMember(id, req.RoomID, "mute")
	if e != nil {
		return e
	}
	sp := &cl.snap.Participants[p.idx]
	changed := false
	if req.Audio != nil && *req.Audio != sp.AudioMuted {
		sp.AudioMuted, changed = *req.Audio, true
	}
	if req.Video != nil && *req.Video != sp.VideoMuted {
		sp.VideoMuted, changed = *req.Video, true
	}
	if changed {
		k.broadcast(fx, cl, t.u.jid, "")
	}
	return nil
}

// media records tab id's media state.
func (k *core) media(fx *effects, id string, req wire.MediaRequest) *wire.Error {
	t, cl, p, e := k.mediaMember(id, req.RoomID, "report media")
	if e != nil {
		return e
	}
	if req.Status == wire.StatusConnected && !cl.connected {
		cl.connected = true
		since := cl.snap.CreatedAt
		if cl.snap.Meet {
			since = cl.snap.StartedAt // a meet call starts when someone joins it
		}
		setup := time.Duration(max(k.now()-since, 0)) * time.Millisecond
		fx.note(cl, noteConnected, "", setup, "call connected", "user", t.u.name, "setup_ms", setup.Milliseconds())
	}
	if cl.status(p) != req.Status {
		cl.setStatus(p, req.Status)
		k.broadcast(fx, cl, t.u.jid, "")
	}
	return nil
}

// checkPayload validates a call.signal payload.
func checkPayload(p wire.Payload) *wire.Error {
	if p.SDP == nil && p.Candidate == nil && !p.Restart && !p.Reset && !p.ResetDone && !p.Reoffer {
		return wire.BadRequest("A signal payload carries an sdp, a candidate, a restart or reoffer request or a reset.")
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
