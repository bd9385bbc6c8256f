package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"parley/app/wire"
	"parley/server/store"
)

// Rate limits per remote IP address (not configurable; behind a reverse
// proxy every client shares the proxy's address).
const (
	// GuestRate is the sustained guest creations per second per IP.
	GuestRate = 1.0 / 6
	// GuestBurst is the burst of guest creations per IP.
	GuestBurst = 10
	// LinkRate is the sustained link look-ups (link.subscribe, link.join)
	// per second per IP.
	LinkRate = 5
	// LinkBurst is the burst of link look-ups per IP.
	LinkBurst = 10
	// ipIdle is how long an IP's limiter is kept after its last use.
	ipIdle = 10 * time.Minute
)

// ipLimiter is a token bucket per remote IP address. It has its own lock and
// may be used with or without h.mu.
type ipLimiter struct {
	limit rate.Limit
	burst int

	mu    sync.Mutex
	ips   map[string]*ipEntry
	swept time.Time
}

type ipEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(r float64, burst int) *ipLimiter {
	return &ipLimiter{limit: rate.Limit(r), burst: burst, ips: make(map[string]*ipEntry)}
}

// allow reports whether one more event from remote (host:port or host) is
// within the limit, and counts it.
func (l *ipLimiter) allow(remote string) bool {
	ip := remote
	if host, _, err := net.SplitHostPort(remote); err == nil {
		ip = host
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > ipIdle {
		for k, e := range l.ips {
			if now.Sub(e.seen) > ipIdle {
				delete(l.ips, k)
			}
		}
		l.swept = now
	}
	e := l.ips[ip]
	if e == nil {
		e = &ipEntry{lim: rate.NewLimiter(l.limit, l.burst)}
		l.ips[ip] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

func errNotInCall() *wire.Error {
	return errorf(wire.CodeNotInCall, reasonNotInCall, "You are not in this call (join it first, on this tab).")
}

func errInvalidLink() *wire.Error {
	return errorf(wire.CodeInvalidLink, reasonInvalidLink, "This is not a valid call link.")
}

func errCallEnded() *wire.Error {
	return errorf(wire.CodeCallEnded, reasonCallEnded, "This call has already ended.")
}

// newLink returns a link code used by no live or recently ended call.
// Called with h.mu held.
func (h *Hub) newLink() string {
	for {
		link := linkCode()
		if _, ended := h.endedL[link]; h.links[link] == nil && !ended {
			return link
		}
	}
}

// parseUsers parses JIDs of users to call or invite: de-duplicated, without
// self. A malformed JID is 400, another domain 404; none left is 400.
func (h *Hub) parseUsers(self string, to []string) ([]string, *wire.Error) {
	if len(to) > MaxCallees {
		return nil, wire.BadRequest("Too many users (%d).", len(to))
	}
	var names []string
	for _, jid := range to {
		name, e := wire.ParseJID(jid, h.cfg.Domain)
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

// lookupUsers loads the accounts of names from the store, outside h.mu: 404
// for an unknown user, 403 for a guest (guests join by link only).
func (h *Hub) lookupUsers(names []string) ([]store.User, *wire.Error) {
	var e *wire.Error
	accounts := make([]store.User, 0, len(names))
	onOwnStack(func() {
		ctx, cancel := h.opCtx()
		defer cancel()
		for _, name := range names {
			su, err := h.st.UserByUsername(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				e = errorf(wire.CodeNotFound, reasonNotFound, "%s is not a user of this server.", wire.JID(name, h.cfg.Domain))
				return
			}
			if err != nil {
				e = h.storeError("look up user", err)
				return
			}
			if su.Guest {
				e = errorf(wire.CodeForbidden, reasonForbidden, "%s is a guest; guests join calls by link.", wire.JID(name, h.cfg.Domain))
				return
			}
			accounts = append(accounts, su)
		}
	})
	return accounts, e
}

// respond adds the reply (result or e) to request id ahead of b's other
// effects and commits b. On an error b must hold no changes. Called with h.mu held.
func (h *Hub) respond(b *batch, c *conn, id uint64, result any, e *wire.Error) {
	reply := &batch{}
	if e != nil {
		h.replyErr(reply, c, id, e)
	} else {
		h.reply(reply, c, id, result)
	}
	b.ops = append(reply.ops, b.ops...)
	h.commit(b)
}

// lookupRoom returns the live call roomID: 400 without an ID, 404 unknown,
// 100602 recently ended. Called with h.mu held.
func (h *Hub) lookupRoom(roomID string) (*call, *wire.Error) {
	if roomID == "" {
		return nil, wire.BadRequest("The request needs a roomId.")
	}
	cl := h.calls[roomID]
	if cl == nil {
		if _, ok := h.ended[roomID]; ok {
			return nil, errCallEnded()
		}
		return nil, errorf(wire.CodeNotFound, reasonNotFound, "There is no call %q.", truncate(roomID, 64))
	}
	return cl, nil
}

// memberOf returns c's session, the call roomID and the session's part in
// it, which must be joined and bound to this session (else 100609). Called
// with h.mu held.
func (h *Hub) memberOf(c *conn, roomID string) (*session, *call, *part, *wire.Error) {
	s, e := h.sessionCheck(c)
	if e != nil {
		return nil, nil, nil, e
	}
	cl, e := h.lookupRoom(roomID)
	if e != nil {
		return nil, nil, nil, e
	}
	p := cl.byName[s.u.name]
	if p == nil || p.done || p.sess != s || !wire.Joined(cl.status(p)) {
		return nil, nil, nil, errNotInCall()
	}
	return s, cl, p, nil
}

// join makes p a joined participant bound to session s (an answer or a link
// join). Called with h.mu held.
func (h *Hub) join(cl *call, p *part, s *session, now int64) {
	if p.ring != nil {
		p.ring.Stop()
		p.ring = nil
	}
	p.ringGen++
	cl.setStatus(p, wire.StatusConnecting)
	p.sess, p.answered, p.started, p.prev = s, true, now, ""
	if !slices.Contains(cl.joined, s.u.jid) {
		cl.joined = append(cl.joined, s.u.jid)
	}
	if cl.snap.StartedAt == 0 {
		cl.snap.StartedAt = now
		cl.snap.State = wire.CallStateActive
	}
	if cl.idle != nil {
		cl.idle.Stop()
		cl.idle = nil
		cl.idleGen++
	}
}

// reopen starts a new part for a user whose earlier part in cl is over (they
// left, declined or missed it): it is pending or joined again, and its log
// will replace the earlier one. Called with h.mu held.
func (cl *call) reopen(p *part, status string) {
	p.done, p.replace, p.answered, p.started, p.sess, p.prev = false, true, false, 0, nil, ""
	sp := &cl.snap.Participants[p.idx]
	sp.Status, sp.AudioMuted, sp.VideoMuted = status, false, false
	p.u.parts[cl] = p
}

// becomeGroup turns cl into a one-to-many call; a pending video switch,
// which is for two people, ends with "timeout" to both. Called with h.mu held.
func (h *Hub) becomeGroup(b *batch, cl *call) {
	cl.snap.Mode = wire.ModeOneToMany
	if sw := cl.sw; sw != nil {
		h.stopSwitch(cl)
		h.switchEvent(b, cl, sw.from, sw.from, wire.SwitchTimeout)
		h.switchEvent(b, cl, sw.to, sw.from, wire.SwitchTimeout)
	}
}

// startIdle starts a meet call's idle timer unless it runs. Called with h.mu held.
func (h *Hub) startIdle(cl *call) {
	if cl.idle != nil || cl.ended {
		return
	}
	cl.idleGen++
	gen := cl.idleGen
	cl.idle = h.afterFunc(h.cfg.MeetIdleTimeout, func() {
		if cl.ended || cl.idleGen != gen {
			return
		}
		cl.idle = nil
		if joined, _ := cl.counts(); joined > 0 {
			return
		}
		h.log.Info("meet idle", "room", cl.snap.RoomID)
		b := &batch{}
		h.endCall(b, cl, wire.StatusEnded, nowMillis())
		h.commit(b)
	})
}

// ---- call.invite ----

// handleInvite serves call.invite.
func (h *Hub) handleInvite(c *conn, f wire.Frame) {
	s := h.currentSession(c)
	if s == nil { // replaced by a resume elsewhere since the dispatch
		h.sendNow(c, f.ID, nil, errUnauthorized())
		return
	}
	var req wire.InviteRequest
	if e := wire.DecodeData(f, &req); e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	// Membership first: a stranger learns nothing about the invitees.
	h.mu.Lock()
	_, _, _, e := h.memberOf(c, req.RoomID)
	h.mu.Unlock()
	if e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	names, e := h.parseUsers(s.u.name, req.To)
	if e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	accounts, e := h.lookupUsers(names)
	if e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	e = h.invite(b, c, req.RoomID, accounts)
	h.respond(b, c, f.ID, nil, e)
}

// invite rings accounts into the call roomID. Called with h.mu held.
func (h *Hub) invite(b *batch, c *conn, roomID string, accounts []store.User) *wire.Error {
	s, cl, _, e := h.memberOf(c, roomID)
	if e != nil {
		return e
	}
	var fresh []store.User
	for _, su := range accounts {
		if p := cl.byName[su.Username]; p != nil && !p.done {
			if st := cl.status(p); wire.Joined(st) || wire.Pending(st) {
				continue // already in the call or being rung
			}
		}
		fresh = append(fresh, su)
	}
	if len(fresh) == 0 {
		return nil
	}
	joined, pending := cl.counts()
	if n := joined + pending + len(fresh); n > h.cfg.MaxParticipants {
		return errorf(wire.CodeCallFull, reasonCallFull,
			"A call has at most %d participants; inviting %d would make %d.", h.cfg.MaxParticipants, len(fresh), n)
	}
	now := nowMillis()
	var engaged, rung []*part
	users := make([]string, 0, len(fresh))
	for _, su := range fresh {
		u := h.userFor(su)
		status := wire.StatusCalling
		if h.joinedElsewhere(u, cl) {
			status = wire.StatusEngaged
		} else if hasAttached(u) {
			status = wire.StatusRinging
		}
		p := cl.byName[u.name]
		if p != nil {
			cl.reopen(p, status)
		} else {
			p = cl.addPart(u, status)
		}
		cl.snap.Participants[p.idx].Invited = true
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
	h.becomeGroup(b, cl)
	for _, p := range engaged {
		h.finishPart(b, cl, p, now)
	}
	h.log.Info("call invite", "room", cl.snap.RoomID, "by", s.u.name, "users", len(users))
	invited := mustJSON(wire.InviteEvent{RoomID: cl.snap.RoomID, By: s.u.jid, Users: users})
	for _, p := range cl.parts {
		if ps := p.sess; ps != nil && ps != s && !p.done && wire.Joined(cl.status(p)) {
			b.do(func() { h.sendEvent(ps, wire.EventInvited, invited) })
		}
	}
	h.broadcast(b, cl, s.u.jid, "")
	h.ring(b, cl, rung)
	return nil
}

// ---- call.switch and call.data ----

// handleMemberOp serves call.switch and call.data.
func (h *Hub) handleMemberOp(c *conn, f wire.Frame) {
	var (
		sw    wire.SwitchRequestPayload
		data  wire.DataRequest
		event json.RawMessage
		e     *wire.Error
	)
	if f.Type == wire.TypeCallSwitch {
		if e = wire.DecodeData(f, &sw); e == nil {
			switch sw.Action {
			case wire.SwitchRequest, wire.SwitchCancel, wire.SwitchAccept, wire.SwitchDecline:
			default:
				e = wire.BadRequest("call.switch action must be request, cancel, accept or decline.")
			}
		}
	} else if e = wire.DecodeData(f, &data); e == nil {
		event, e = dataEvent(data)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	if e == nil {
		if f.Type == wire.TypeCallSwitch {
			e = h.switchOp(b, c, sw)
		} else {
			e = h.dataOp(b, c, data.RoomID, event)
		}
	}
	h.respond(b, c, f.ID, nil, e)
}

// dataEvent checks custom data and returns the compact, unescaped JSON of
// its call.data event with From left for dataOp to fill in.
func dataEvent(req wire.DataRequest) (json.RawMessage, *wire.Error) {
	raw := bytes.TrimSpace(req.Data)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, wire.BadRequest("call.data needs data (any JSON value but null).")
	}
	if !utf8.Valid(raw) {
		return nil, wire.BadRequest("call.data data must be valid UTF-8.")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, wire.BadRequest("call.data data is not valid JSON: %v.", err)
	}
	if buf.Len() > wire.MaxCustomDataBytes {
		return nil, errorf(wire.CodeBadRequest, reasonTooLarge,
			"Custom data is %d bytes encoded, over the limit of %d.", buf.Len(), wire.MaxCustomDataBytes)
	}
	return buf.Bytes(), nil
}

// dataOp relays custom data to every other joined participant. Called with h.mu held.
func (h *Hub) dataOp(b *batch, c *conn, roomID string, data json.RawMessage) *wire.Error {
	s, cl, p, e := h.memberOf(c, roomID)
	if e != nil {
		return e
	}
	payload, err := wire.Marshal(wire.DataEvent{RoomID: roomID, From: s.u.jid, Data: data})
	if err != nil {
		return wire.BadRequest("call.data data could not be encoded: %v.", err)
	}
	for _, q := range cl.parts {
		if qs := q.sess; q != p && qs != nil && !q.done && wire.Joined(cl.status(q)) {
			b.do(func() { h.sendEvent(qs, wire.EventData, payload) })
		}
	}
	return nil
}

// switchEvent sends a call.switch event to p's bound session. Called with h.mu held.
func (h *Hub) switchEvent(b *batch, cl *call, to, from *part, action string) {
	if s := to.sess; s != nil && !to.done {
		data := mustJSON(wire.SwitchEvent{RoomID: cl.snap.RoomID, From: from.u.jid, Action: action})
		b.do(func() { h.sendEvent(s, wire.EventSwitch, data) })
	}
}

// stopSwitch forgets cl's pending switch request. Called with h.mu held.
func (h *Hub) stopSwitch(cl *call) {
	if cl.sw != nil {
		cl.sw.timer.Stop()
		cl.sw = nil
	}
}

// switchOp applies one call.switch step. Called with h.mu held.
func (h *Hub) switchOp(b *batch, c *conn, req wire.SwitchRequestPayload) *wire.Error {
	_, cl, p, e := h.memberOf(c, req.RoomID)
	if e != nil {
		return e
	}
	sw := cl.sw
	switch req.Action {
	case wire.SwitchRequest:
		if cl.snap.Mode != wire.ModeOneToOne {
			return errorf(wire.CodeForbidden, reasonForbidden,
				"Switching to video works in one-to-one calls; turn your camera on instead.")
		}
		var other *part
		n := 0
		for _, q := range cl.parts {
			if !q.done && wire.Joined(cl.status(q)) {
				n++
				if q != p {
					other = q
				}
			}
		}
		switch {
		case n != 2 || other == nil:
			return errorf(wire.CodeConflict, reasonConflict, "The other participant has not joined the call yet.")
		case cl.snap.Type == wire.TypeVideo:
			return errorf(wire.CodeConflict, reasonConflict, "This is already a video call.")
		case sw != nil:
			return errorf(wire.CodeConflict, reasonConflict, "A switch to video is already being asked for.")
		}
		sw = &switchReq{from: p, to: other}
		sw.timer = h.afterFunc(h.cfg.SwitchTimeout, func() {
			if cl.sw != sw || cl.ended {
				return
			}
			cl.sw = nil
			b := &batch{}
			h.switchEvent(b, cl, sw.from, sw.from, wire.SwitchTimeout)
			h.switchEvent(b, cl, sw.to, sw.from, wire.SwitchTimeout)
			h.commit(b)
		})
		cl.sw = sw
		h.switchEvent(b, cl, other, p, wire.SwitchRequest)
	case wire.SwitchCancel:
		if sw == nil || sw.from != p {
			return errorf(wire.CodeConflict, reasonConflict, "You have no switch request to cancel.")
		}
		h.stopSwitch(cl)
		h.switchEvent(b, cl, sw.to, p, wire.SwitchCancel)
	case wire.SwitchAccept, wire.SwitchDecline:
		if sw == nil || sw.to != p {
			return errorf(wire.CodeConflict, reasonConflict, "There is no switch request to %s.", req.Action)
		}
		h.stopSwitch(cl)
		h.switchEvent(b, cl, sw.from, p, req.Action)
		if req.Action == wire.SwitchAccept {
			cl.snap.Type = wire.TypeVideo
			h.broadcast(b, cl, p.u.jid, "")
		}
	}
	return nil
}

// ---- links ----

// linkCodeOf accepts a link code or a URL ending in one.
func linkCodeOf(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return s
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
// a joined status changed since the last one. Called with h.mu held.
func (h *Hub) notifyPreview(b *batch, cl *call) {
	if len(cl.subs) == 0 || cl.ended {
		return
	}
	key := cl.previewKeyOf()
	if key == cl.previewKey {
		return
	}
	cl.previewKey = key
	data := mustJSON(cl.preview())
	for s := range cl.subs {
		b.do(func() { h.sendEvent(s, wire.EventUsers, data) })
	}
}

// unsubscribe ends s's link preview, if any. Called with h.mu held.
func (h *Hub) unsubscribe(s *session) {
	if cl := s.sub; cl != nil {
		delete(cl.subs, s)
		s.sub = nil
	}
}

// handleLink serves link.subscribe, link.join and link.unsubscribe.
func (h *Hub) handleLink(c *conn, f wire.Frame) {
	if f.Type == wire.TypeLinkUnsubscribe {
		h.mu.Lock()
		defer h.mu.Unlock()
		s, e := h.sessionCheck(c)
		if e == nil {
			h.unsubscribe(s)
		}
		h.respond(&batch{}, c, f.ID, nil, e)
		return
	}
	var req wire.LinkRequest
	if e := wire.DecodeData(f, &req); e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	if !h.linkLim.allow(c.remote) {
		h.sendNow(c, f.ID, nil, errorf(wire.CodeRateLimited, reasonRateLimited,
			"Too many call link look-ups from your address; wait a moment."))
		return
	}
	code := linkCodeOf(req.Link)
	if !wire.ValidLinkCode(code) {
		h.sendNow(c, f.ID, nil, errInvalidLink())
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	var (
		result any
		e      *wire.Error
	)
	if f.Type == wire.TypeLinkSubscribe {
		result, e = h.subscribe(c, code)
	} else {
		result, e = h.linkJoin(b, c, code)
	}
	h.respond(b, c, f.ID, result, e)
}

// linkCall returns the live call with link code. Called with h.mu held.
func (h *Hub) linkCall(code string) (*call, *wire.Error) {
	if cl := h.links[code]; cl != nil {
		return cl, nil
	}
	if _, ok := h.endedL[code]; ok {
		return nil, errCallEnded()
	}
	return nil, errorf(wire.CodeInvalidLink, reasonInvalidLink, "There is no call with this link.")
}

// subscribe starts c's session previewing the call with link code. Called
// with h.mu held.
func (h *Hub) subscribe(c *conn, code string) (any, *wire.Error) {
	s, e := h.sessionCheck(c)
	if e != nil {
		return nil, e
	}
	cl, e := h.linkCall(code)
	if e != nil {
		return nil, e
	}
	h.unsubscribe(s)
	if cl.subs == nil {
		cl.subs = make(map[*session]struct{})
	}
	cl.subs[s] = struct{}{}
	s.sub = cl
	cl.previewKey = cl.previewKeyOf()
	return cl.preview(), nil
}

// linkJoin makes c's session a joined participant of the call with link
// code. Called with h.mu held.
func (h *Hub) linkJoin(b *batch, c *conn, code string) (any, *wire.Error) {
	s, e := h.sessionCheck(c)
	if e != nil {
		return nil, e
	}
	cl, e := h.linkCall(code)
	if e != nil {
		return nil, e
	}
	u := s.u
	p := cl.byName[u.name]
	if p != nil && !p.done && wire.Joined(cl.status(p)) {
		return nil, errorf(wire.CodeConflict, reasonConflict, "You are already in this call.")
	}
	if h.joinedElsewhere(u, cl) {
		return nil, errorf(wire.CodeConflict, reasonConflict, "You are already in another call; end it first.")
	}
	wasPending := p != nil && !p.done && wire.Pending(cl.status(p))
	if joined, pending := cl.counts(); !wasPending && joined+pending+1 > h.cfg.MaxParticipants {
		return nil, errorf(wire.CodeCallFull, reasonCallFull, "This call is full (%d participants).", h.cfg.MaxParticipants)
	}
	now := nowMillis()
	switch {
	case p == nil:
		p = cl.addPart(u, wire.StatusConnecting)
	case p.done:
		cl.reopen(p, wire.StatusConnecting)
	}
	h.join(cl, p, s, now)
	h.unsubscribe(s)
	if wasPending {
		h.dismissOthers(b, cl, p, s, wire.ReasonAnsweredElsewhere)
	}
	h.becomeGroup(b, cl)
	h.log.Info("link join", "room", cl.snap.RoomID, "user", u.name, "guest", u.guest)
	h.broadcast(b, cl, u.jid, "")
	return wire.CallResult{Call: cl.snapshot()}, nil
}

// ---- meet.create ----

// handleMeetCreate serves meet.create.
func (h *Hub) handleMeetCreate(c *conn, f wire.Frame) {
	var req wire.MeetRequest
	e := wire.DecodeData(f, &req)
	if e == nil && req.Type != wire.TypeAudio && req.Type != wire.TypeVideo {
		e = wire.BadRequest("callType must be %q or %q.", wire.TypeAudio, wire.TypeVideo)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var result any
	if e == nil {
		result, e = h.meetCreate(c, req)
	}
	h.respond(&batch{}, c, f.ID, result, e)
}

// meetCreate creates a meet call with nobody in it. Called with h.mu held.
func (h *Hub) meetCreate(c *conn, req wire.MeetRequest) (any, *wire.Error) {
	s, e := h.sessionCheck(c)
	if e != nil {
		return nil, e
	}
	link := h.newLink()
	cl := &call{byName: make(map[string]*part)}
	cl.snap = wire.Call{
		RoomID: randomID(16), Link: link, Type: req.Type, Mode: wire.ModeOneToMany, Initiator: s.u.jid,
		State: wire.CallStateRinging, CreatedAt: nowMillis(), To: []string{}, Meet: true,
		Participants: []wire.Participant{},
	}
	h.calls[cl.snap.RoomID] = cl
	h.links[link] = cl
	h.startIdle(cl)
	h.log.Info("meet created", "room", cl.snap.RoomID, "type", req.Type, "by", s.u.name)
	return wire.CallResult{Call: cl.snapshot()}, nil
}

// ---- guests ----

// handleGuest serves guest: a temporary account with a display name and no
// password, signed in on this connection.
func (h *Hub) handleGuest(c *conn, f wire.Frame) {
	if h.currentSession(c) != nil {
		h.sendNow(c, f.ID, nil, errorf(wire.CodeConflict, reasonConflict, "This connection is already signed in."))
		return
	}
	var req wire.GuestRequest
	if e := wire.DecodeData(f, &req); e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	name, ok := store.CleanDisplayName(req.DisplayName)
	if !ok || name == "" {
		h.sendNow(c, f.ID, nil, wire.BadRequest(
			"A guest needs a display name of 1 to %d characters, without control characters.", store.MaxDisplayNameLen))
		return
	}
	if !h.guestLim.allow(c.remote) {
		h.sendNow(c, f.ID, nil, errorf(wire.CodeRateLimited, reasonRateLimited,
			"Too many guests from your address; wait a minute."))
		return
	}
	var (
		su    store.User
		token string
		e     *wire.Error
	)
	onOwnStack(func() {
		ctx, cancel := h.opCtx()
		defer cancel()
		var err error
		if su, err = h.st.CreateGuest(ctx, name); err != nil {
			e = h.storeError("create guest", err)
			return
		}
		if token, err = h.st.NewSession(ctx, su.ID); err != nil {
			e = h.storeError("new session", err)
		}
	})
	if e != nil {
		h.sendNow(c, f.ID, nil, e)
		return
	}
	h.signIn(c, f.ID, su, token, nil)
}
