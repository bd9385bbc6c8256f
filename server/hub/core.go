package hub

import (
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"parley/app/wire"
	"parley/server/store"
)

// core is the call state machine: users and their signed-in tabs, calls and
// their participants, ringing, video-switch requests, link previews and
// admission. It takes requests (one method each) and answers with a result
// or a *wire.Error plus effects: events to deliver to tabs, call logs to
// write and timers to start or stop. It knows no sockets, no connections and
// no locks; the Hub serializes every call into it.
//
// A request that fails leaves the state and its effects untouched.
type core struct {
	cfg coreConfig
	log *slog.Logger
	now func() int64 // epoch milliseconds

	users  map[string]*user    // by username: users with tabs or live calls
	tabs   map[string]*tab     // by tab (session) ID
	calls  map[string]*call    // live calls by room ID
	links  map[string]*call    // live calls by link code
	ended  map[string]struct{} // recently ended room IDs
	endedL map[string]struct{} // recently ended link codes
	endedQ []endedCall         // ended, oldest first
	meets  meetCounts          // live meet links per creator and address

	knockGen uint64 // the last knock timer generation (admission.go)

	// dirty holds the calls a request may have changed since their state
	// was last saved (restore.go); the transport drains it after each one.
	dirty map[*call]struct{}
}

// coreConfig is the part of Config the state machine needs.
type coreConfig struct {
	Domain          string
	MaxParticipants int
	RingTimeout     time.Duration
	SwitchTimeout   time.Duration
	MeetIdleTimeout time.Duration
	// MaxMeetLinksPerUser and MaxMeetLinksPerIP: see Config.
	MaxMeetLinksPerUser int
	MaxMeetLinksPerIP   int
	KnockTimeout        time.Duration
	// PushWhenHidden: see Config.
	PushWhenHidden bool
}

func newCore(cfg coreConfig, log *slog.Logger) *core {
	return &core{
		cfg: cfg, log: log, now: nowMillis,
		users:  make(map[string]*user),
		tabs:   make(map[string]*tab),
		calls:  make(map[string]*call),
		links:  make(map[string]*call),
		ended:  make(map[string]struct{}),
		endedL: make(map[string]struct{}),
		dirty:  make(map[*call]struct{}),
	}
}

// endedCall is one entry of the memory of ended calls.
type endedCall struct{ room, link string }

// user is one account that has tabs or live calls.
type user struct {
	id      int64
	name    string
	display string
	jid     string
	guest   bool
	tabs    map[string]*tab
	parts   map[*call]*part // live calls this user has an unfinished part in
}

// tab is one signed-in session (a browser tab) as the core sees it. The
// transport keeps its connection and event numbering under the same ID.
type tab struct {
	id      string
	u       *user
	online  bool  // a connection is attached (else it is within its resume grace)
	sub     *call // the call this tab previews by link (link.subscribe), if any
	subName string
	knock   *knock // this tab's knock on a call (link.join waiting), if any
	removed bool
	hidden  bool // the page reported itself hidden (tab.visibility; push.go)
}

// call is one live call. snap is the authoritative state sent to clients;
// parts[i] is the core's side of snap.Participants[i].
type call struct {
	snap   wire.Call
	parts  []*part
	byName map[string]*part
	joined []string // JIDs of everyone who joined, in order (the log's userList)
	ended  bool
	// link is the call's link code; snap.Link shows it only once the call
	// is shareable (see admission.go).
	link   string
	knocks []*knock // people waiting to be let in by link, oldest first

	sw         *switchReq        // the pending voice-to-video request, if any
	swGen      uint64            // incremented on every switch request
	subs       map[*tab]struct{} // tabs previewing the call by link
	previewKey string            // the joined set and statuses last sent to subs
	idle       bool              // a meet call's idle timer runs
	idleGen    uint64            // incremented on every (re)start and stop
	connected  bool              // a member has reported its media connected
	why        string            // why endCall ends it, when not the end rule (End*)
	meetBy     meetKey           // a meet call's creator and address, for meetCounts
	swUntil    int64             // when the pending switch request times out (epoch ms)
	saved      []byte            // the state last saved (restore.go)
}

// switchReq is a pending voice-to-video switch request from one joined
// participant to the other.
type switchReq struct{ from, to *part }

// part is one user's part in a call.
type part struct {
	u        *user
	idx      int
	tab      *tab   // the tab media signals go to, once joined
	prev     string // status before a drop set it to reconnecting
	ringing  bool   // a ring timer runs
	answered bool   // a callee who answered
	started  int64  // when this callee answered (epoch ms)
	done     bool   // the part is over and its log written
	ringGen  uint64 // incremented on every ring and stop, so a stale ring timer does nothing
	ringEnd  int64  // when the running ring timer fires (epoch ms)
	replace  bool   // invited or joined again after an earlier part: its log replaces the earlier one
	silent   bool   // engaged because its user blocked the one ringing: no log, no events (blocks.go)
	pushed   bool   // rung by Web Push: a stop push follows when the ring stops (push.go)
	canPush  bool   // its user had a push subscription when the ring began (push.go)
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
		Guest: u.guest,
	})
	u.parts[c] = p
	return p
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

// effects are what a request to the core asks of the transport, in order.
type effects struct {
	events []delivery
	logs   []store.CallLog
	timers []timer
	notes  []note    // lifecycle events for the log and metrics (observe.go)
	pushes []pushOut // Web Push messages to send (push.go)
}

// delivery is one event for one tab.
type delivery struct {
	tab  string
	typ  string
	data json.RawMessage
}

// timerKind names what a timer is for.
type timerKind int

const (
	timerRing   timerKind = iota // a callee's ring timeout
	timerSwitch                  // a video-switch request's timeout
	timerIdle                    // a meet call's idle timeout
	timerKnock                   // a knock's timeout (user: the knocker's username)
)

// timerKey names one timer: at most one runs per key.
type timerKey struct {
	kind timerKind
	room string
	user string // the callee's username for timerRing
}

// timer asks the transport to start (after > 0) or stop the timer key. When
// it fires, the transport hands it back to core.fire; gen tells a timer that
// was superseded from the current one.
type timer struct {
	key   timerKey
	gen   uint64
	after time.Duration // 0: stop
}

// emit adds an event for t, encoding payload now (the state at this point).
func (fx *effects) emit(t *tab, typ string, payload any) {
	fx.emitRaw(t, typ, mustJSON(payload))
}

func (fx *effects) emitRaw(t *tab, typ string, data json.RawMessage) {
	if t == nil || t.removed {
		return
	}
	fx.events = append(fx.events, delivery{tab: t.id, typ: typ, data: data})
}

func (fx *effects) start(key timerKey, gen uint64, after time.Duration) {
	fx.timers = append(fx.timers, timer{key: key, gen: gen, after: after})
}

func (fx *effects) stop(key timerKey) { fx.timers = append(fx.timers, timer{key: key}) }

// ---- the end rule ----

// broadcast sends the call's current state to every joined participant's
// tab, and the joined users to the link subscribers when they changed.
func (k *core) broadcast(fx *effects, cl *call, by, reason string) {
	data := mustJSON(wire.CallEvent{Call: cl.snap, By: by, Reason: reason})
	for _, p := range cl.parts {
		if !p.done && wire.Joined(cl.status(p)) {
			fx.emitRaw(p.tab, wire.EventUpdate, data)
		}
	}
	k.showKnocks(fx, cl)
	k.notifyPreview(fx, cl)
}

// dismissOthers stops ringing on every tab of p's user but except.
func (k *core) dismissOthers(fx *effects, cl *call, p *part, except *tab, reason string) {
	data := mustJSON(wire.DismissEvent{RoomID: cl.snap.RoomID, Reason: reason})
	for _, t := range p.u.tabs {
		if t != except {
			fx.emitRaw(t, wire.EventDismissed, data)
		}
	}
}

// stopRing stops p's ring timer, if it runs; a timer already firing is stale.
func (k *core) stopRing(fx *effects, cl *call, p *part) {
	k.stopPush(fx, cl, p)
	p.ringGen++
	if p.ringing {
		p.ringing = false
		fx.stop(timerKey{timerRing, cl.snap.RoomID, p.u.name})
	}
}

// finishPart ends p's part (its status already final) and queues its log.
func (k *core) finishPart(fx *effects, cl *call, p *part, now int64) {
	if p.done {
		return
	}
	p.done = true
	k.stopRing(fx, cl, p)
	if !p.silent {
		fx.logs = append(fx.logs, k.logFor(cl, p, now))
	}
	delete(p.u.parts, cl)
	k.gcUser(p.u)
}

// logFor is p's call log entry, its part ending at now.
func (k *core) logFor(cl *call, p *part, now int64) store.CallLog {
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

// checkEnd applies the end rule: a call with fewer than two participants
// joined or still being rung ends. A meet call instead ends when nobody is
// joined or rung any more after someone joined; while nobody is joined its
// idle timer runs. It reports whether the call is over.
func (k *core) checkEnd(fx *effects, cl *call, now int64) bool {
	if cl.ended {
		return true
	}
	joined, pending := cl.counts()
	if cl.snap.Meet {
		if joined > 0 {
			return false
		}
		if pending > 0 || len(cl.joined) == 0 {
			k.startIdle(fx, cl)
			return false
		}
	} else if joined+pending >= 2 {
		return false
	}
	k.endCall(fx, cl, wire.StatusEnded, now)
	return true
}

// startIdle starts a meet call's idle timer unless it runs.
func (k *core) startIdle(fx *effects, cl *call) {
	if cl.idle || cl.ended {
		return
	}
	cl.idle = true
	cl.idleGen++
	fx.start(timerKey{timerIdle, cl.snap.RoomID, ""}, cl.idleGen, k.cfg.MeetIdleTimeout)
}

// stopIdle stops a meet call's idle timer, if it runs.
func (k *core) stopIdle(fx *effects, cl *call) {
	cl.idleGen++
	if cl.idle {
		cl.idle = false
		fx.stop(timerKey{timerIdle, cl.snap.RoomID, ""})
	}
}

// endCall ends a call: everyone still joined gets a final call.update with
// state "ended", everyone still rung gets call.missed{ended} and
// call.dismissed{canceled}, link subscribers get an empty link.users, and
// every unfinished part is logged.
func (k *core) endCall(fx *effects, cl *call, reason string, now int64) {
	if cl.ended {
		return
	}
	k.touch(cl) // its saved state goes with its logs
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
		k.finishPart(fx, cl, p, now)
	}
	final := mustJSON(wire.CallEvent{Call: cl.snap, Reason: reason})
	for _, p := range joined {
		fx.emitRaw(p.tab, wire.EventUpdate, final)
	}
	missed := mustJSON(wire.CallEvent{Call: cl.snap, Reason: wire.StatusEnded})
	dismissed := mustJSON(wire.DismissEvent{RoomID: cl.snap.RoomID, Reason: wire.ReasonCanceled})
	for _, p := range pending {
		for _, t := range p.u.tabs {
			fx.emitRaw(t, wire.EventMissed, missed)
			fx.emitRaw(t, wire.EventDismissed, dismissed)
		}
		fx.note(cl, noteRingEnded, OutcomeCancelled, 0, "")
	}
	k.stopSwitch(fx, cl)
	k.stopIdle(fx, cl)
	k.dropKnocks(fx, cl, wire.KnockEnded)
	if len(cl.subs) > 0 {
		gone := mustJSON(wire.LinkPreview{RoomID: cl.snap.RoomID, Type: cl.snap.Type, Users: []wire.Participant{}})
		for t := range cl.subs {
			t.sub, t.subName = nil, ""
			fx.emitRaw(t, wire.EventUsers, gone)
		}
		cl.subs = nil
	}
	var active time.Duration
	if cl.snap.StartedAt != 0 {
		active = time.Duration(now-cl.snap.StartedAt) * time.Millisecond
	}
	why := endReason(cl)
	fx.notes = append(fx.notes, note{kind: noteEnded, detail: why, d: active, answered: cl.snap.StartedAt != 0,
		room: cl.snap.RoomID, msg: "call ended", attrs: []any{"reason", why, "duration_ms", active.Milliseconds(),
			"joined", len(cl.joined), "since_created_ms", now - cl.snap.CreatedAt}})
	delete(k.calls, cl.snap.RoomID)
	k.meets.forget(cl)
	if k.links[cl.link] == cl {
		delete(k.links, cl.link)
	}
	k.ended[cl.snap.RoomID] = struct{}{}
	if cl.snap.Link != "" { // an unshared link stays unknown after the call too
		k.endedL[cl.link] = struct{}{}
	}
	k.endedQ = append(k.endedQ, endedCall{cl.snap.RoomID, cl.link})
	if len(k.endedQ) > endedMemory {
		delete(k.ended, k.endedQ[0].room)
		delete(k.endedL, k.endedQ[0].link)
		k.endedQ = slices.Delete(k.endedQ, 0, 1)
	}
}

// newLink returns a link code used by no live or recently ended call.
func (k *core) newLink() string {
	for {
		link := linkCode()
		if _, ended := k.endedL[link]; k.links[link] == nil && !ended {
			return link
		}
	}
}

// lookupRoom returns the live call roomID: 400 without an ID, 404 unknown,
// 100602 recently ended.
func (k *core) lookupRoom(roomID string) (*call, *wire.Error) {
	if roomID == "" {
		return nil, wire.BadRequest("The request needs a roomId.")
	}
	cl := k.calls[roomID]
	if cl == nil {
		if _, ok := k.ended[roomID]; ok {
			return nil, errCallEnded()
		}
		return nil, wire.NotFound("There is no call %q.", truncate(roomID, 64))
	}
	k.touch(cl)
	return cl, nil
}

// memberOf returns tab id, the call roomID and the tab's part in it, which
// must be joined and bound to this tab (else 100609).
func (k *core) memberOf(id, roomID string) (*tab, *call, *part, *wire.Error) {
	t, cl, p, e := k.find(id, roomID)
	if e != nil {
		return nil, nil, nil, e
	}
	if p == nil || p.done || p.tab != t || !wire.Joined(cl.status(p)) {
		return nil, nil, nil, errNotInCall()
	}
	return t, cl, p, nil
}

// find returns tab id, the call roomID and the tab's user's part in it (nil
// when the user has none).
func (k *core) find(id, roomID string) (*tab, *call, *part, *wire.Error) {
	t := k.tabOf(id)
	if t == nil {
		return nil, nil, nil, errUnauthorized()
	}
	cl, e := k.lookupRoom(roomID)
	if e != nil {
		return nil, nil, nil, e
	}
	return t, cl, cl.byName[t.u.name], nil
}

func errNotInCall() *wire.Error {
	return wire.NotInCall("You are not in this call (join it first, on this tab).")
}

func errCallEnded() *wire.Error { return wire.CallEnded("This call has already ended.") }

func errUnauthorized() *wire.Error {
	return wire.Unauthorized("Sign in first (register, login or auth).")
}
