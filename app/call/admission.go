package call

import (
	"context"
	"strings"
	"time"

	"parley/app/call/event"
	"parley/app/wire"
)

// Admission: a one-to-one call's link works once a member shares it
// (CallLink does), joining by link knocks (JoinCall waits until a member
// lets you in), and members answer knocks (AdmitUser, DenyUser) that arrive
// on callJoinRequestListener.

// knockWait is JoinCall waiting to be let in.
type knockWait struct {
	roomID string
	done   chan wire.AdmissionEvent // one outcome, buffered
}

// awaitAdmission waits for the outcome of JoinCall's knock kw on the call
// being joined as cs.
func (e *Engine) awaitAdmission(ctx context.Context, cs *callState, kw *knockWait) error {
	var ev wire.AdmissionEvent
	select {
	case ev = <-kw.done:
	case <-ctx.Done():
		e.stopWaiting(cs, kw)
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.sendNow(cctx, wire.TypeLinkUnsubscribe, nil, nil)
		return wire.Errorf(wire.CodeNotAdmitted, wire.ReasonNotAdmitted, "Stopped waiting to be let in: %v.", ctx.Err())
	}
	switch ev.Outcome {
	case wire.KnockAdmitted:
		return nil
	case wire.KnockDenied:
		return wire.Errorf(wire.CodeNotAdmitted, wire.ReasonNotAdmitted, "You were not let in.")
	case wire.KnockTimeout:
		return wire.Errorf(wire.CodeKnockTimeout, wire.ReasonKnockTimeout, "Nobody let you in; try again later.")
	case wire.KnockEnded:
		return wire.CallEnded("The call ended before you were let in.")
	}
	return wire.Errorf(wire.CodeNotAdmitted, wire.ReasonNotAdmitted, "You stopped waiting to be let in.")
}

// stopWaiting forgets knock kw and the call state cs it would have joined.
func (e *Engine) stopWaiting(cs *callState, kw *knockWait) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.knock == kw {
		e.knock = nil
		e.work.push(func() { e.dropPrep(kw.roomID) }) // the members' offers are void
	}
	if e.call == cs && !cs.adopted {
		e.call = nil
	}
}

// cancelKnock ends JoinCall's wait, if it waits, as "canceled"; the caller
// has told the server (link.unsubscribe withdraws the knock).
func (e *Engine) cancelKnock() bool {
	e.mu.Lock()
	kw := e.knock
	e.knock = nil
	if kw != nil && e.call != nil && !e.call.adopted && e.call.roomID == kw.roomID {
		e.call = nil
	}
	e.mu.Unlock()
	if kw == nil {
		return false
	}
	e.work.push(func() { e.dropPrep(kw.roomID) }) // the members' offers are void
	select {
	case kw.done <- wire.AdmissionEvent{RoomID: kw.roomID, Outcome: wire.KnockCanceled}:
	default:
	}
	return true
}

// reportWaiting tells callJoinRequestListener that this device's JoinCall
// waits to be let in (work queue: after an outcome that overtook the reply,
// it says nothing).
func (e *Engine) reportWaiting(kw *knockWait, res wire.LinkJoinResult, name string) {
	e.mu.Lock()
	waiting := e.knock == kw
	var u wire.User
	if e.user != nil {
		u = *e.user
	}
	e.mu.Unlock()
	if !waiting {
		return
	}
	if name == "" || u.Guest { // a guest's name is the one it signed in with
		name = u.DisplayName
	}
	e.emit(event.CallJoinRequest{RequestID: res.RequestID, RoomID: res.RoomID, UserJID: u.JID, DisplayName: name,
		Guest: u.Guest, Status: event.JoinWaiting, LocalUser: true})
}

// knocking reports whether JoinCall waits to be let in.
func (e *Engine) knocking() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.knock != nil
}

// onAdmission takes the outcome of this tab's knock (work queue): admitted,
// the call is adopted here before its updates are applied.
func (e *Engine) onAdmission(ev wire.AdmissionEvent) {
	e.mu.Lock()
	kw, cs := e.knock, e.call
	if kw == nil || kw.roomID != ev.RoomID {
		e.mu.Unlock()
		return
	}
	e.knock = nil
	admitted := ev.Outcome == wire.KnockAdmitted && ev.Call != nil && cs != nil && cs.roomID == ev.RoomID
	if admitted {
		if e.sub != nil && e.sub.roomID == ev.RoomID {
			e.sub = nil
		}
	} else if cs != nil && !cs.adopted && cs.roomID == ev.RoomID {
		e.call = nil
	}
	e.mu.Unlock()
	if admitted {
		e.joinPrepared(cs) // the members' offers, applied while this page knocked
		e.adopt(cs, *ev.Call)
	} else {
		e.dropPrep(ev.RoomID)
	}
	e.emit(event.CallJoinRequest{RequestID: ev.RequestID, RoomID: ev.RoomID, UserJID: e.me(), Status: ev.Outcome, LocalUser: true})
	kw.done <- ev
}

// onKnock reports someone asking to join the call this device is in.
func (e *Engine) onKnock(ev wire.KnockEvent) {
	e.mu.Lock()
	cs := e.call
	ok := cs != nil && cs.roomID == ev.RoomID
	member := ok && cs.adopted && !cs.ended
	if ok {
		if e.joinReqs == nil {
			e.joinReqs = make(map[string]wire.KnockEvent)
		}
		for id, kn := range e.joinReqs {
			if kn.RoomID != ev.RoomID { // left over from an earlier call
				delete(e.joinReqs, id)
			}
		}
		e.joinReqs[ev.RequestID] = ev
	}
	e.mu.Unlock()
	if ok {
		if member && cs.peers[ev.UserJID] == nil && cs.pre[ev.UserJID] == nil {
			e.preOfferKnock(cs, ev.UserJID) // so that, once let in, they connect in one relay
		}
		e.emit(event.CallJoinRequest{RequestID: ev.RequestID, RoomID: ev.RoomID, UserJID: ev.UserJID,
			DisplayName: ev.DisplayName, Guest: ev.Guest, Status: event.JoinWaiting})
	}
}

// onKnockResolved reports that a join request was answered or ended.
func (e *Engine) onKnockResolved(ev wire.KnockResolvedEvent) {
	e.mu.Lock()
	kn, ok := e.joinReqs[ev.RequestID]
	delete(e.joinReqs, ev.RequestID)
	cs := e.call
	e.mu.Unlock()
	if cs != nil && cs.roomID == ev.RoomID && ev.Outcome != wire.KnockAdmitted {
		if ps := cs.pre[ev.UserJID]; ps != nil && ps.knock {
			e.dropPre(cs, ps) // not let in: the offer made to them is void
		}
	}
	if ok {
		e.emit(event.CallJoinRequest{RequestID: ev.RequestID, RoomID: ev.RoomID, UserJID: ev.UserJID,
			DisplayName: kn.DisplayName, Guest: kn.Guest, Status: ev.Outcome, By: ev.By})
	}
}

// AdmitUser lets userJID, who asked to join the call you are in by its link,
// in. Guests cannot let people in (403); nobody of that JID waiting is 404.
func (e *Engine) AdmitUser(ctx context.Context, userJID string) error {
	return e.decide(ctx, wire.TypeCallAdmit, userJID)
}

// DenyUser refuses userJID, who asked to join the call you are in by its link.
func (e *Engine) DenyUser(ctx context.Context, userJID string) error {
	return e.decide(ctx, wire.TypeCallDeny, userJID)
}

func (e *Engine) decide(ctx context.Context, typ, userJID string) error {
	jid := strings.TrimSpace(userJID)
	if jid == "" {
		return wire.BadRequest("Name the user (their userJid) who asked to join.")
	}
	e.mu.Lock()
	cs := e.call
	room := ""
	if cs != nil && cs.adopted {
		room = cs.roomID
	}
	e.mu.Unlock()
	if room == "" {
		return notInCall()
	}
	return e.send(ctx, typ, wire.AdmitRequest{RoomID: room, UserJID: jid}, nil)
}
