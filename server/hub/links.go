package hub

import (
	"strings"

	"parley/app/wire"
	"parley/server/store"
)

// This file holds the core's call links: previews (link.subscribe), joining
// by link (link.join) and meet calls (meet.create), which people only join
// by link.

// linkCodeOf accepts a link code or a URL ending in one.
func linkCodeOf(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// checkLink validates a link request: the code's shape and the display name.
// It needs no state: the transport calls it before counting the look-up.
func checkLink(req wire.LinkRequest) (code, name string, e *wire.Error) {
	code = linkCodeOf(req.Link)
	if !wire.ValidLinkCode(code) {
		return "", "", wire.InvalidLink("This is not a valid call link.")
	}
	name, ok := store.CleanDisplayName(req.DisplayName)
	if !ok {
		return "", "", wire.BadRequest("A display name is at most %d characters, without control characters.", store.MaxDisplayNameLen)
	}
	return code, name, nil
}

// preview is the link preview of cl: its joined participants.
func (cl *call) preview() wire.LinkPreview {
	users := []wire.Participant{}
	for _, p := range cl.parts {
		if !p.done && wire.Joined(cl.status(p)) {
			users = append(users, cl.snap.Participants[p.idx])
		}
	}
	return wire.LinkPreview{RoomID: cl.snap.RoomID, Type: cl.snap.Type, Users: users}
}

// previewKeyOf sums up what link.users reports changes of: the joined
// participants and their statuses.
func (cl *call) previewKeyOf() string {
	var sb strings.Builder
	for _, p := range cl.parts {
		if st := cl.status(p); !p.done && wire.Joined(st) {
			sb.WriteString(p.u.jid)
			sb.WriteByte('=')
			sb.WriteString(st)
			sb.WriteByte(' ')
		}
	}
	return sb.String()
}

// notifyPreview sends link.users to cl's subscribers when the joined set or
// a joined status changed since the last one.
func (k *core) notifyPreview(fx *effects, cl *call) {
	if len(cl.subs) == 0 || cl.ended {
		return
	}
	key := cl.previewKeyOf()
	if key == cl.previewKey {
		return
	}
	cl.previewKey = key
	data := mustJSON(cl.preview())
	for t := range cl.subs {
		fx.emitRaw(t, wire.EventUsers, data)
	}
}

// unsubscribe ends t's link preview, if any.
func (k *core) unsubscribe(t *tab) {
	if cl := t.sub; cl != nil {
		delete(cl.subs, t)
	}
	t.sub, t.subName = nil, ""
}

// unsubscribeTab serves link.unsubscribe from tab id: it ends the preview
// and withdraws the tab's knock, if any.
func (k *core) unsubscribeTab(fx *effects, id string) *wire.Error {
	t := k.tabOf(id)
	if t == nil {
		return errUnauthorized()
	}
	k.unsubscribe(t)
	k.withdraw(fx, t)
	return nil
}

// linkCall returns the live call with link code. The link of a one-to-one
// call nobody shared (call.share) is as unknown as a link of no call.
func (k *core) linkCall(code string) (*call, *wire.Error) {
	if cl := k.links[code]; cl != nil && cl.snap.Link != "" {
		k.touch(cl)
		return cl, nil
	}
	if _, ok := k.endedL[code]; ok {
		return nil, errCallEnded()
	}
	return nil, wire.InvalidLink("There is no call with this link.")
}

// subscribe starts tab id previewing the call with link code (see
// checkLink). name, when set, is the display name a registered user will
// have in the call if they join it.
func (k *core) subscribe(id, code, name string) (wire.LinkPreview, *wire.Error) {
	t := k.tabOf(id)
	if t == nil {
		return wire.LinkPreview{}, errUnauthorized()
	}
	cl, e := k.linkCall(code)
	if e != nil {
		return wire.LinkPreview{}, e
	}
	k.unsubscribe(t)
	if cl.subs == nil {
		cl.subs = make(map[*tab]struct{})
	}
	cl.subs[t] = struct{}{}
	t.sub = cl
	if !t.u.guest {
		t.subName = name
	}
	cl.previewKey = cl.previewKeyOf()
	return cl.preview(), nil
}

// linkJoin serves link.join from tab id for the call with link code (see
// checkLink). Someone the call already rings, the creator of a meet call and
// anyone joining an open meet link join at once (Call set); everyone else
// knocks and waits (Waiting set) until a member admits or denies them or
// the knock times out (admission.go). A registered user's display name in
// the call is name, or the one given when subscribing to this call, or their
// account's; a guest's is always the one they signed in with.
func (k *core) linkJoin(fx *effects, id, code, name string) (wire.LinkJoinResult, *wire.Error) {
	t := k.tabOf(id)
	if t == nil {
		return wire.LinkJoinResult{}, errUnauthorized()
	}
	cl, e := k.linkCall(code)
	if e != nil {
		return wire.LinkJoinResult{}, e
	}
	u := t.u
	p := cl.byName[u.name]
	if p != nil && !p.done && wire.Joined(cl.status(p)) {
		return wire.LinkJoinResult{}, wire.Conflict("You are already in this call.")
	}
	if joinedElsewhere(u, cl) {
		return wire.LinkJoinResult{}, wire.Conflict("You are already in another call; end it first.")
	}
	wasPending := p != nil && !p.done && wire.Pending(cl.status(p))
	if joined, pending := cl.counts(); !wasPending && joined+pending+1 > k.cfg.MaxParticipants {
		return wire.LinkJoinResult{}, wire.Errorf(wire.CodeCallFull, wire.ReasonCallFull, "This call is full (%d participants).", k.cfg.MaxParticipants)
	}
	display := u.display
	if !u.guest {
		if name == "" && t.sub == cl {
			name = t.subName
		}
		if name != "" {
			display = name
		}
	}
	if !wasPending && !cl.snap.Open && !(cl.snap.Meet && u.jid == cl.snap.Initiator) {
		return k.knockOn(fx, cl, t, display)
	}
	k.enter(fx, cl, t, display)
	k.broadcast(fx, cl, u.jid, "")
	snap := cl.snapshot()
	return wire.LinkJoinResult{Call: &snap}, nil
}

// enter makes tab t's user a joined participant of cl shown as display: a
// link join, or an admitted knock. The caller broadcasts the change.
func (k *core) enter(fx *effects, cl *call, t *tab, display string) {
	u := t.u
	p := cl.byName[u.name]
	wasPending := p != nil && !p.done && wire.Pending(cl.status(p))
	now := k.now()
	switch {
	case p == nil:
		p = cl.addPart(u, wire.StatusConnecting)
	case p.done:
		cl.reopen(p, wire.StatusConnecting)
	}
	cl.snap.Participants[p.idx].DisplayName = display
	k.join(fx, cl, p, t, now)
	k.unsubscribe(t)
	if wasPending {
		k.dismissOthers(fx, cl, p, t, wire.ReasonAnsweredElsewhere)
	}
	k.becomeGroup(fx, cl)
	if wasPending {
		fx.note(cl, noteRingEnded, OutcomeAnswered, 0, "call answered", "user", u.name, "by_link", true)
	} else {
		fx.note(cl, noteJoined, "", 0, "call member joined", "user", u.name, "guest", u.guest)
	}
}

// meetCreate creates a meet call from tab id, connected from the remote
// address ip, with nobody in it: people join it by link, its creator
// included. An account and an address may have only so many live meet links.
func (k *core) meetCreate(fx *effects, id, ip string, req wire.MeetRequest) (wire.Call, *wire.Error) {
	t := k.tabOf(id)
	if t == nil {
		return wire.Call{}, errUnauthorized()
	}
	if req.Type != wire.TypeAudio && req.Type != wire.TypeVideo {
		return wire.Call{}, wire.BadRequest("callType must be %q or %q.", wire.TypeAudio, wire.TypeVideo)
	}
	by := meetKey{user: t.u.name, ip: ip}
	if e := k.meets.check(k.cfg, by); e != nil {
		return wire.Call{}, e
	}
	link := k.newLink()
	cl := &call{byName: make(map[string]*part), link: link}
	cl.snap = wire.Call{
		RoomID: randomID(16), Link: link, Type: req.Type, Mode: wire.ModeOneToMany, Initiator: t.u.jid,
		State: wire.CallStateRinging, CreatedAt: k.now(), To: []string{}, Meet: true, Open: req.Open,
		Participants: []wire.Participant{},
	}
	k.calls[cl.snap.RoomID] = cl
	k.links[link] = cl
	k.touch(cl)
	k.meets.add(cl, by)
	k.startIdle(fx, cl)
	fx.note(cl, noteCreated, CallKindMeet, 0, "call created", "type", req.Type, "mode", wire.ModeOneToMany, "from", t.u.name, "meet", true)
	return cl.snapshot(), nil
}
