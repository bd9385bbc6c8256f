package hub

import (
	"slices"
	"strings"

	"parley/app/wire"
)

// This file holds admission: who may join a call by its link.
//
// A one-to-one call's link is hidden (its snapshot has no roomLink, and
// link.subscribe / link.join answer invalid_link as for a link of no call)
// until a participant shares it with call.share; group calls and meet calls
// are shareable from the start. Joining by link knocks (linkJoin): the
// call's signed-in, non-guest joined participants (its admitters) get
// call.knock, and the first of them to answer with call.admit or call.deny
// decides; the others get call.knock.resolved. Members who join while a
// knock waits are shown it too. Nobody answering within the knock timeout
// refuses the joiner. The joiner learns the outcome from link.admission.

// knock is one tab waiting to be let into a call.
type knock struct {
	id    string
	cl    *call
	t     *tab
	name  string          // the joiner's display name in the call
	gen   uint64          // the knock timer's generation
	shown map[*tab]string // admitter tabs shown the knock, to their user's JID
}

// knockGen numbers knock timers across the core, so a timer of a withdrawn
// knock never matches a later knock of the same user.
func (k *core) nextKnockGen() uint64 {
	k.knockGen++
	return k.knockGen
}

// knockOn makes tab t knock on cl as display (see linkJoin, which checked
// the link, the capacity and that t's user is not joined).
func (k *core) knockOn(fx *effects, cl *call, t *tab, display string) (wire.LinkJoinResult, *wire.Error) {
	if kn := t.knock; kn != nil {
		if kn.cl == cl {
			return wire.LinkJoinResult{}, wire.Conflict("You are already waiting to be let into this call.")
		}
		return wire.LinkJoinResult{}, wire.Conflict("You are waiting to be let into another call; cancel that first.")
	}
	if cl.knockOf(t.u.jid) != nil {
		return wire.LinkJoinResult{}, wire.Conflict("You are already waiting to be let into this call on another tab.")
	}
	if len(cl.knocks) >= MaxKnocks {
		return wire.LinkJoinResult{}, wire.LimitReached("%d people are already waiting to be let into this call; try again later.", MaxKnocks)
	}
	kn := &knock{id: randomID(8), cl: cl, t: t, name: display, gen: k.nextKnockGen(), shown: make(map[*tab]string)}
	cl.knocks = append(cl.knocks, kn)
	t.knock = kn
	fx.start(timerKey{timerKnock, cl.snap.RoomID, t.u.name}, kn.gen, k.cfg.KnockTimeout)
	fx.note(cl, noteAdmission, "", 0, "call knock", "user", t.u.name, "guest", t.u.guest)
	k.showKnocks(fx, cl)
	return wire.LinkJoinResult{Waiting: true, RequestID: kn.id, RoomID: cl.snap.RoomID}, nil
}

// knockOf returns the knock of the user with jid on cl, or nil.
func (cl *call) knockOf(jid string) *knock {
	for _, kn := range cl.knocks {
		if kn.t.u.jid == jid {
			return kn
		}
	}
	return nil
}

// admitter reports whether p may admit or deny knocks: a registered user
// joined in the call with a bound tab.
func (cl *call) admitter(p *part) bool {
	return !p.done && !p.u.guest && p.tab != nil && wire.Joined(cl.status(p))
}

// showKnocks sends call.knock for every waiting knock to every admitter tab
// that has not been shown it yet (a member who joined after the knock).
func (k *core) showKnocks(fx *effects, cl *call) {
	for _, kn := range cl.knocks {
		var data []byte
		for _, p := range cl.parts {
			if !cl.admitter(p) {
				continue
			}
			if _, seen := kn.shown[p.tab]; seen {
				continue
			}
			if data == nil {
				data = mustJSON(wire.KnockEvent{RoomID: cl.snap.RoomID, RequestID: kn.id, UserJID: kn.t.u.jid,
					DisplayName: kn.name, Guest: kn.t.u.guest})
			}
			kn.shown[p.tab] = p.u.jid
			fx.emitRaw(p.tab, wire.EventKnock, data)
		}
	}
}

// resolve ends knock kn with outcome (by: the member who decided, if any):
// its timer stops, and the admitters who were shown it get
// call.knock.resolved. The joiner is told by the caller.
func (k *core) resolve(fx *effects, kn *knock, outcome, by string) {
	cl := kn.cl
	cl.knocks = slices.DeleteFunc(cl.knocks, func(x *knock) bool { return x == kn })
	if kn.t.knock == kn {
		kn.t.knock = nil
	}
	fx.stop(timerKey{timerKnock, cl.snap.RoomID, kn.t.u.name})
	data := mustJSON(wire.KnockResolvedEvent{RoomID: cl.snap.RoomID, RequestID: kn.id, UserJID: kn.t.u.jid, Outcome: outcome, By: by})
	for _, p := range cl.parts {
		if _, seen := kn.shown[p.tab]; seen && cl.admitter(p) {
			fx.emitRaw(p.tab, wire.EventKnockResolved, data)
		}
	}
	fx.note(cl, noteAdmission, outcome, 0, "call knock resolved", "user", kn.t.u.name, "outcome", outcome)
}

// tellJoiner sends the knocking tab the outcome of its knock.
func (k *core) tellJoiner(fx *effects, kn *knock, outcome string, snap *wire.Call) {
	fx.emit(kn.t, wire.EventAdmission, wire.AdmissionEvent{RoomID: kn.cl.snap.RoomID, RequestID: kn.id, Outcome: outcome, Call: snap})
}

// withdraw ends tab t's knock, if any (the joiner gave up or signed out).
func (k *core) withdraw(fx *effects, t *tab) {
	if kn := t.knock; kn != nil {
		k.resolve(fx, kn, wire.KnockCanceled, "")
	}
}

// dropKnocks ends every knock on cl with outcome, telling the joiners.
func (k *core) dropKnocks(fx *effects, cl *call, outcome string) {
	for _, kn := range slices.Clone(cl.knocks) {
		k.resolve(fx, kn, outcome, "")
		k.tellJoiner(fx, kn, outcome, nil)
	}
}

// knockTimeout refuses a knock nobody answered in time.
func (k *core) knockTimeout(fx *effects, cl *call, tm timer) {
	for _, kn := range cl.knocks {
		if kn.t.u.name == tm.key.user && kn.gen == tm.gen {
			k.resolve(fx, kn, wire.KnockTimeout, "")
			k.tellJoiner(fx, kn, wire.KnockTimeout, nil)
			return
		}
	}
}

// share serves call.share from tab id: a joined participant makes the call's
// link joinable (by knocking) and gets it.
func (k *core) share(fx *effects, id, roomID string) (wire.ShareResult, *wire.Error) {
	t, cl, _, e := k.memberOf(id, roomID)
	if e != nil {
		return wire.ShareResult{}, e
	}
	if cl.snap.Link == "" {
		cl.snap.Link = cl.link
		fx.note(cl, noteAdmission, "", 0, "call link shared", "user", t.u.name)
		k.broadcast(fx, cl, t.u.jid, "")
	}
	return wire.ShareResult{Link: cl.link}, nil
}

// decide serves call.admit (admit true) and call.deny from tab id.
func (k *core) decide(fx *effects, id string, req wire.AdmitRequest, admit bool) *wire.Error {
	t, cl, p, e := k.memberOf(id, req.RoomID)
	if e != nil {
		return e
	}
	if !cl.admitter(p) {
		return wire.Forbidden("Guests cannot let people in.")
	}
	kn := cl.knockOf(k.jidOf(req.UserJID))
	if kn == nil {
		return wire.NotFound("Nobody by that name is waiting to join (someone may have answered already).")
	}
	if !admit {
		k.resolve(fx, kn, wire.KnockDenied, t.u.jid)
		k.tellJoiner(fx, kn, wire.KnockDenied, nil)
		return nil
	}
	u := kn.t.u
	if joinedElsewhere(u, cl) {
		return wire.Conflict("%s is in another call now.", kn.name)
	}
	q := cl.byName[u.name]
	if q != nil && !q.done && wire.Joined(cl.status(q)) {
		return wire.Conflict("%s is already in this call.", kn.name)
	}
	wasPending := q != nil && !q.done && wire.Pending(cl.status(q))
	if joined, pending := cl.counts(); !wasPending && joined+pending+1 > k.cfg.MaxParticipants {
		return wire.CallFull(k.cfg.MaxParticipants)
	}
	k.enter(fx, cl, kn.t, kn.name)
	k.resolve(fx, kn, wire.KnockAdmitted, t.u.jid)
	snap := cl.snapshot()
	k.tellJoiner(fx, kn, wire.KnockAdmitted, &snap)
	k.broadcast(fx, cl, u.jid, "")
	return nil
}

// jidOf turns a JID or a bare username of this server into a JID as the
// server writes it (lower case).
func (k *core) jidOf(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(s, "@") {
		return s
	}
	return wire.JID(s, k.cfg.Domain)
}

// handleShare serves call.share.
func (h *Hub) handleShare(c *conn, f wire.Frame) {
	handle(h, c, f, handler[wire.RoomRequest]{
		prepare: func(_ *session, req *wire.RoomRequest) *wire.Error { return needRoom(f.Type, req.RoomID) },
		apply: func(_ *batch, fx *effects, s *session, req wire.RoomRequest) (any, *wire.Error) {
			res, e := h.core.share(fx, s.id, req.RoomID)
			if e != nil {
				return nil, e
			}
			return res, nil
		},
	})
}

// handleAdmission serves call.admit and call.deny.
func (h *Hub) handleAdmission(c *conn, f wire.Frame) {
	admit := f.Type == wire.TypeCallAdmit
	handle(h, c, f, handler[wire.AdmitRequest]{
		prepare: func(_ *session, req *wire.AdmitRequest) *wire.Error {
			if req.UserJID == "" {
				return wire.BadRequest("The %q request needs the userJid of who is waiting.", f.Type)
			}
			return needRoom(f.Type, req.RoomID)
		},
		apply: func(_ *batch, fx *effects, s *session, req wire.AdmitRequest) (any, *wire.Error) {
			return nil, h.core.decide(fx, s.id, req, admit)
		},
	})
}
