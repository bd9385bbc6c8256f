package hub

import (
	"slices"

	"parley/app/wire"
	"parley/server/store"
)

// invite rings accounts (already looked up) into the call roomID from tab
// id, which must be joined in it. Users already joined or pending are
// skipped; those whose part is over are rung again. Those named in
// blockedBy blocked the inviter: they are engaged, silently (see blocks.go).
// Those named in pushable may be rung by Web Push (push.go).
func (k *core) invite(fx *effects, id, roomID string, accounts []store.User, blockedBy, pushable map[string]bool) *wire.Error {
	t, cl, _, e := k.memberOf(id, roomID)
	if e != nil {
		return e
	}
	fresh := cl.unrung(accounts) // not those already in the call or being rung
	if len(fresh) == 0 {
		return nil
	}
	joined, pending := cl.counts()
	if n := joined + pending + len(fresh); n > k.cfg.MaxParticipants {
		return wire.Errorf(wire.CodeCallFull, wire.ReasonCallFull,
			"A call has at most %d participants; inviting %d would make %d.", k.cfg.MaxParticipants, len(fresh), n)
	}
	now := k.now()
	var engaged, rung []*part
	users := make([]string, 0, len(fresh))
	for _, su := range fresh {
		u := k.userFor(su)
		status := wire.StatusCalling
		if joinedElsewhere(u, cl) || blockedBy[u.name] {
			status = wire.StatusEngaged
		} else if u.online() {
			status = wire.StatusRinging
		}
		p := cl.byName[u.name]
		if p != nil {
			cl.reopen(p, status)
		} else {
			p = cl.addPart(u, status)
		}
		p.silent = blockedBy[u.name]
		sp := &cl.snap.Participants[p.idx]
		sp.Invited, sp.InvitedBy = true, t.u.jid
		if !slices.Contains(cl.snap.Invited, u.jid) {
			cl.snap.Invited = append(cl.snap.Invited, u.jid)
		}
		users = append(users, u.jid)
		if status == wire.StatusEngaged {
			engaged = append(engaged, p)
		} else {
			rung = append(rung, p)
		}
	}
	k.becomeGroup(fx, cl)
	for _, p := range engaged {
		fx.note(cl, noteRingEnded, OutcomeBusy, 0, "call busy", "user", p.u.name)
		k.finishPart(fx, cl, p, now)
	}
	fx.note(cl, noteInvited, "", 0, "call invite", "by", t.u.name, "users", len(users))
	invited := mustJSON(wire.InviteEvent{RoomID: cl.snap.RoomID, By: t.u.jid, Users: users})
	for _, p := range cl.parts {
		if p.tab != nil && p.tab != t && !p.done && wire.Joined(cl.status(p)) {
			fx.emitRaw(p.tab, wire.EventInvited, invited)
		}
	}
	k.ringByPush(fx, cl, rung, pushable) // before the broadcast: they show as ringing
	k.broadcast(fx, cl, t.u.jid, "")
	k.ring(fx, cl, rung, pushable)
	return nil
}
