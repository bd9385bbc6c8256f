package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"parley/app/wire"
	"parley/server/store"
)

// This file keeps live calls durable: every change to a call is saved (the
// core's dirty set, drained by the transport after each request into the
// batch, written before the batch is delivered, in the transaction of its
// call logs), and a new process on the same store restores every call that
// was live, its joined members reconnecting, their tabs waiting to be
// resumed for the resume grace (Hub.Restore).

// liveVersion is the version of liveCall's encoding.
const liveVersion = 1

// liveCall is the saved form of a call: what a restarted process needs to
// go on with it. Knocks and link previews are not kept: their tabs start
// new sessions after a restart, which ends them.
type liveCall struct {
	V         int         `json:"v"`
	Snap      wire.Call   `json:"snap"`
	Link      string      `json:"link"`
	Joined    []string    `json:"joined"`
	Parts     []livePart  `json:"parts"`
	Connected bool        `json:"connected,omitempty"`
	Why       string      `json:"why,omitempty"`
	Idle      bool        `json:"idle,omitempty"`
	MeetUser  string      `json:"meetUser,omitempty"`
	MeetIP    string      `json:"meetIp,omitempty"`
	Switch    *liveSwitch `json:"switch,omitempty"`
}

// livePart is the saved form of a part; parts[i] is Snap.Participants[i].
type livePart struct {
	UserID   int64  `json:"uid"`
	Name     string `json:"name"`
	Display  string `json:"display"`
	Guest    bool   `json:"guest,omitempty"`
	Tab      string `json:"tab,omitempty"`  // the bound tab (session) ID
	Prev     string `json:"prev,omitempty"` // status before a drop
	RingEnd  int64  `json:"ringEnd,omitempty"`
	Answered bool   `json:"answered,omitempty"`
	Started  int64  `json:"started,omitempty"`
	Done     bool   `json:"done,omitempty"`
	Replace  bool   `json:"replace,omitempty"`
	Silent   bool   `json:"silent,omitempty"`
	Pushed   bool   `json:"pushed,omitempty"`  // rung by Web Push (push.go)
	CanPush  bool   `json:"canPush,omitempty"` // had a push subscription when rung (push.go)
}

// liveSwitch is a pending video-switch request: parts indexes and deadline.
type liveSwitch struct {
	From  int   `json:"from"`
	To    int   `json:"to"`
	Until int64 `json:"until"`
}

// touch marks cl as possibly changed by the request being served.
func (k *core) touch(cl *call) { k.dirty[cl] = struct{}{} }

// touchUser marks every call u has a part in.
func (k *core) touchUser(u *user) {
	for cl := range u.parts {
		k.touch(cl)
	}
}

// readOnly is deferred by a request that changes no call although it looks
// one up (a relayed signal or custom data): it drops the mark the lookup
// put on the call, unless the call was marked already.
func (k *core) readOnly(roomID string) func() {
	cl := k.calls[roomID]
	if cl == nil {
		return func() {}
	}
	if _, marked := k.dirty[cl]; marked {
		return func() {}
	}
	return func() { delete(k.dirty, cl) }
}

// encodeLive returns cl's saved form.
func encodeLive(cl *call) []byte {
	lc := liveCall{
		V: liveVersion, Snap: cl.snap, Link: cl.link, Joined: cl.joined, Connected: cl.connected, Why: cl.why,
		Idle: cl.idle, MeetUser: cl.meetBy.user, MeetIP: cl.meetBy.ip, Parts: make([]livePart, len(cl.parts)),
	}
	for i, p := range cl.parts {
		lp := livePart{
			UserID: p.u.id, Name: p.u.name, Display: p.u.display, Guest: p.u.guest, Prev: p.prev,
			Answered: p.answered, Started: p.started, Done: p.done, Replace: p.replace, Silent: p.silent,
			Pushed: p.pushed, CanPush: p.canPush,
		}
		if p.tab != nil {
			lp.Tab = p.tab.id
		}
		if p.ringing {
			lp.RingEnd = p.ringEnd
		}
		lc.Parts[i] = lp
	}
	if sw := cl.sw; sw != nil {
		lc.Switch = &liveSwitch{From: sw.from.idx, To: sw.to.idx, Until: cl.swUntil}
	}
	return mustJSON(lc)
}

// drainLive returns the saves the marked calls need (a changed state, or a
// delete for a call that ended) and clears the marks.
func (k *core) drainLive() []store.LiveCall {
	if len(k.dirty) == 0 {
		return nil
	}
	var out []store.LiveCall
	for cl := range k.dirty {
		switch {
		case cl.ended:
			if cl.saved != nil {
				cl.saved = nil
				out = append(out, store.LiveCall{RoomID: cl.snap.RoomID})
			}
		default:
			if b := encodeLive(cl); !bytes.Equal(b, cl.saved) {
				cl.saved = b
				out = append(out, store.LiveCall{RoomID: cl.snap.RoomID, State: b})
			}
		}
	}
	clear(k.dirty)
	return out
}

// checkSaved reports a live call whose state differs from what was last
// saved although nothing marked it: a change that a restart would lose.
// Tests run it after every request (Config.checkSaved).
func (k *core) checkSaved() error {
	for _, cl := range k.calls {
		if _, marked := k.dirty[cl]; marked {
			continue
		}
		if b := encodeLive(cl); !bytes.Equal(b, cl.saved) {
			return fmt.Errorf("call %s changed without being marked for saving:\nsaved %s\nnow   %s", cl.snap.RoomID, cl.saved, b)
		}
	}
	return nil
}

// restoreCall rebuilds a saved call at now: its users, and an offline tab
// for every bound one (returned as tabs, new to the core). Joined members
// become reconnecting until their tabs resume; ring, switch and idle timers
// start again for what is left of them.
func (k *core) restoreCall(fx *effects, data []byte, now int64) (cl *call, tabs []string, err error) {
	var lc liveCall
	if err := json.Unmarshal(data, &lc); err != nil {
		return nil, nil, fmt.Errorf("decode: %w", err)
	}
	switch {
	case lc.V != liveVersion:
		return nil, nil, fmt.Errorf("encoding version %d, want %d", lc.V, liveVersion)
	case lc.Snap.RoomID == "" || lc.Link == "":
		return nil, nil, fmt.Errorf("no room ID or link")
	case len(lc.Parts) != len(lc.Snap.Participants):
		return nil, nil, fmt.Errorf("%d parts for %d participants", len(lc.Parts), len(lc.Snap.Participants))
	case k.calls[lc.Snap.RoomID] != nil || k.links[lc.Link] != nil:
		return nil, nil, fmt.Errorf("room or link restored twice")
	}
	if lc.Snap.To == nil {
		lc.Snap.To = []string{}
	}
	if lc.Snap.Participants == nil {
		lc.Snap.Participants = []wire.Participant{}
	}
	cl = &call{
		snap: lc.Snap, link: lc.Link, joined: lc.Joined, byName: make(map[string]*part, len(lc.Parts)),
		connected: lc.Connected, why: lc.Why, meetBy: meetKey{user: lc.MeetUser, ip: lc.MeetIP},
		parts: make([]*part, len(lc.Parts)),
	}
	for i, lp := range lc.Parts {
		if lp.Name == "" || cl.byName[lp.Name] != nil {
			return nil, nil, fmt.Errorf("part %d: no or a repeated username", i)
		}
		u := k.userFor(store.User{ID: lp.UserID, Username: lp.Name, DisplayName: lp.Display, Guest: lp.Guest})
		p := &part{
			u: u, idx: i, prev: lp.Prev, answered: lp.Answered, started: lp.Started, done: lp.Done,
			replace: lp.Replace, silent: lp.Silent, pushed: lp.Pushed, canPush: lp.CanPush,
		}
		cl.parts[i] = p
		cl.byName[u.name] = p
		if lp.Tab != "" {
			t := k.tabs[lp.Tab]
			if t != nil && t.u != u {
				return nil, nil, fmt.Errorf("part %d: tab of another user", i)
			}
			if t == nil {
				t = &tab{id: lp.Tab, u: u}
				k.tabs[t.id] = t
				u.tabs[t.id] = t
				tabs = append(tabs, t.id)
			}
			p.tab = t
		}
		if p.done {
			continue
		}
		u.parts[cl] = p
		switch st := cl.status(p); {
		case wire.Joined(st) && p.tab != nil:
			if st != wire.StatusReconnecting || p.prev == "" {
				p.prev = st
			}
			cl.setStatus(p, wire.StatusReconnecting)
		case wire.Pending(st) && lp.RingEnd != 0:
			p.ringGen++
			p.ringing = true
			p.ringEnd = lp.RingEnd
			fx.start(timerKey{timerRing, cl.snap.RoomID, u.name}, p.ringGen, remaining(lp.RingEnd, now))
		}
	}
	if sw := lc.Switch; sw != nil && sw.From >= 0 && sw.From < len(cl.parts) && sw.To >= 0 && sw.To < len(cl.parts) {
		cl.sw = &switchReq{from: cl.parts[sw.From], to: cl.parts[sw.To]}
		cl.swGen++
		cl.swUntil = sw.Until
		fx.start(timerKey{timerSwitch, cl.snap.RoomID, ""}, cl.swGen, remaining(sw.Until, now))
	}
	k.calls[cl.snap.RoomID] = cl
	k.links[cl.link] = cl
	if cl.snap.Meet {
		k.meets.add(cl, cl.meetBy)
	}
	if lc.Idle {
		k.startIdle(fx, cl)
	}
	k.touch(cl)
	return cl, tabs, nil
}

// remaining is how long until the epoch-ms deadline end, at least 1 ms (a
// timer of 0 would be a stop).
func remaining(end, now int64) time.Duration {
	return max(time.Duration(end-now)*time.Millisecond, time.Millisecond)
}

// Restore brings back the calls that were live when the previous process on
// this store stopped (shut down, crashed or was killed): each call with its
// members, their statuses (joined ones reconnecting), link, media kind,
// start time, pending rings and invites and its pending switch request.
// Every tab that was joined in one waits to be resumed (auth with resume)
// for the resume grace, as a dropped tab does; one that does not come back
// leaves its call. Call Restore once, before serving. It returns how many
// calls came back; a saved call that cannot be read is logged and dropped.
func (h *Hub) Restore(ctx context.Context) (int, error) {
	if h.st == nil {
		return 0, nil
	}
	saved, err := h.st.LiveCalls(ctx)
	if err != nil {
		return 0, fmt.Errorf("hub: restore calls: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	fx := &effects{}
	now := h.core.now()
	n := 0
	for _, lc := range saved {
		cl, tabs, err := h.core.restoreCall(fx, lc.State, now)
		if err != nil {
			h.log.Error("restore call: dropped", "room", lc.RoomID, "err", err)
			b.live = append(b.live, store.LiveCall{RoomID: lc.RoomID})
			continue
		}
		cl.saved = lc.State
		n++
		for _, id := range tabs {
			t := h.core.tabs[id]
			h.born++
			s := &session{
				id: id, uid: t.u.id, born: h.born, restored: true,
				user: wire.User{JID: t.u.jid, Username: t.u.name, DisplayName: t.u.display, Guest: t.u.guest},
			}
			h.sessions[id] = s
			if h.byUser[s.uid] == nil {
				h.byUser[s.uid] = make(map[*session]struct{})
			}
			h.byUser[s.uid][s] = struct{}{}
			h.startGrace(s)
		}
		h.log.Info("call restored", "room", cl.snap.RoomID, "participants", len(cl.parts), "tabs", len(tabs))
	}
	h.deliver(b, fx)
	h.commit(b)
	return n, nil
}

// keepEarly keeps an event for restored session s until it resumes, within
// the replay caps of a session (the oldest go first). Called with s.mu held.
func (s *session) keepEarly(typ string, data json.RawMessage) {
	s.early = append(s.early, earlyEvent{typ, data})
	s.earlyBytes += len(data)
	drop := 0
	for len(s.early)-drop > 1 && (len(s.early)-drop > EventBuffer || s.earlyBytes > EventBufferBytes) {
		s.earlyBytes -= len(s.early[drop].data)
		drop++
	}
	if drop > 0 {
		n := copy(s.early, s.early[drop:])
		clear(s.early[n:])
		s.early = s.early[:n]
	}
}

// takeEarly ends s's restored state at its first resume: numbering goes on
// from the client's lastSeq, and the events kept meanwhile are returned to
// be sent (numbered) after the resume reply. Called with h.mu held.
func (s *session) takeEarly(lastSeq uint64) []earlyEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.restored {
		return nil
	}
	s.restored = false
	s.seq = lastSeq
	early := s.early
	s.early, s.earlyBytes = nil, 0
	return early
}
