package hub

import (
	"parley/app/wire"
	"parley/server/store"
)

// This file holds the core's users and tabs: signing a tab in, dropping,
// resuming and removing it, and the timers that fire back into the core.

// userFor returns the core's user for an account, creating it.
func (k *core) userFor(su store.User) *user {
	u := k.users[su.Username]
	if u == nil {
		u = &user{
			id: su.ID, name: su.Username, display: su.DisplayName, jid: wire.JID(su.Username, k.cfg.Domain),
			tabs: make(map[string]*tab), parts: make(map[*call]*part), guest: su.Guest,
		}
		k.users[su.Username] = u
	}
	return u
}

// gcUser forgets a user with no tabs and no live calls.
func (k *core) gcUser(u *user) {
	if len(u.tabs) == 0 && len(u.parts) == 0 && k.users[u.name] == u {
		delete(k.users, u.name)
	}
}

func (u *user) online() bool {
	for _, t := range u.tabs {
		if t.online {
			return true
		}
	}
	return false
}

// addTab signs a new tab of su in (online) and rings it for every call
// ringing its user.
func (k *core) addTab(fx *effects, su store.User, id string) {
	u := k.userFor(su)
	t := &tab{id: id, u: u, online: true}
	k.tabs[id] = t
	u.tabs[id] = t
	k.touchUser(u)
	k.ringTab(fx, t, true)
}

// tabOf returns the live tab id, or nil.
func (k *core) tabOf(id string) *tab {
	if t := k.tabs[id]; t != nil && !t.removed {
		return t
	}
	return nil
}

// resumeTab re-attaches tab id after a drop: participants the drop showed as
// reconnecting get their previous status back. It returns the call the tab
// is joined in, if any.
func (k *core) resumeTab(fx *effects, id string) *wire.Call {
	t := k.tabOf(id)
	if t == nil {
		return nil
	}
	t.online = true
	k.touchUser(t.u)
	var current *wire.Call
	for cl, p := range t.u.parts {
		if p.done || p.tab != t {
			continue
		}
		if st := cl.status(p); p.prev != "" && st == wire.StatusReconnecting && p.prev != st {
			cl.setStatus(p, p.prev)
			k.broadcast(fx, cl, t.u.jid, "")
		}
		p.prev = ""
		snap := cl.snapshot()
		current = &snap
	}
	k.ringTab(fx, t, false)
	return current
}

// dropTab marks tab id offline (its connection dropped): the calls it is
// joined in show it reconnecting until it resumes or is removed.
func (k *core) dropTab(fx *effects, id string) {
	t := k.tabOf(id)
	if t == nil {
		return
	}
	t.online = false
	k.touchUser(t.u)
	for cl, p := range t.u.parts {
		if p.done || p.tab != t {
			continue
		}
		if st := cl.status(p); wire.Joined(st) {
			p.prev = st
			if st != wire.StatusReconnecting {
				cl.setStatus(p, wire.StatusReconnecting)
				k.broadcast(fx, cl, t.u.jid, "")
			}
		}
	}
	k.pushUnseen(fx, t.u)
}

// removeTab ends tab id for good (logout, resume grace expired): it leaves
// the calls it is joined in and its link preview.
func (k *core) removeTab(fx *effects, id string) {
	t := k.tabOf(id)
	if t == nil {
		return
	}
	now := k.now()
	k.touchUser(t.u)
	for cl, p := range t.u.parts {
		if !p.done && p.tab == t && wire.Joined(cl.status(p)) {
			k.leave(fx, cl, p, now)
		}
	}
	k.unsubscribe(t)
	k.withdraw(fx, t)
	t.removed, t.online = true, false
	delete(k.tabs, id)
	delete(t.u.tabs, id)
	k.gcUser(t.u)
}

// tabInCall reports whether tab id is the tab of a joined participant of a
// live call (the per-user session cap spares such tabs).
func (k *core) tabInCall(id string) bool {
	t := k.tabOf(id)
	if t == nil {
		return false
	}
	for cl, p := range t.u.parts {
		if !p.done && p.tab == t && wire.Joined(cl.status(p)) {
			return true
		}
	}
	return false
}

// ---- timers ----

// fire applies a timer that went off; a superseded one does nothing.
func (k *core) fire(fx *effects, tm timer) {
	cl := k.calls[tm.key.room]
	if cl == nil || cl.ended {
		return
	}
	k.touch(cl)
	switch tm.key.kind {
	case timerRing:
		if p := cl.byName[tm.key.user]; p != nil && p.ringGen == tm.gen {
			p.ringing = false
			k.ringTimeout(fx, cl, p)
		}
	case timerSwitch:
		if sw := cl.sw; sw != nil && cl.swGen == tm.gen {
			cl.sw = nil
			k.switchEvent(fx, cl, sw.from, sw.from, wire.SwitchTimeout)
			k.switchEvent(fx, cl, sw.to, sw.from, wire.SwitchTimeout)
		}
	case timerKnock:
		k.knockTimeout(fx, cl, tm)
	case timerIdle:
		if cl.idle && cl.idleGen == tm.gen {
			cl.idle = false
			if joined, _ := cl.counts(); joined > 0 {
				return
			}
			cl.why = EndIdle
			k.endCall(fx, cl, wire.StatusEnded, k.now())
		}
	}
}
