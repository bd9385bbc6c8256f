package call

import (
	"context"
	"errors"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// SavedSession is what a page keeps of this tab's session (the PWA and the
// SDK put it in sessionStorage) to come back into it after a reload:
// ConnectResume. RoomID and the mute flags describe the call the tab was in.
type SavedSession struct {
	Token      string `json:"token"`
	Session    string `json:"session"`
	LastSeq    uint64 `json:"lastSeq"`
	RoomID     string `json:"roomId,omitempty"`
	AudioMuted bool   `json:"audioMuted,omitempty"`
	VideoMuted bool   `json:"videoMuted,omitempty"`
}

// SavedSession is this tab's session as it stands, for ConnectResume after a
// reload; false when signed out.
func (e *Engine) SavedSession() (SavedSession, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == nil || e.token == "" {
		return SavedSession{}, false
	}
	s := SavedSession{Token: e.token, Session: e.session, LastSeq: e.seq}
	if cs := e.call; cs != nil && !cs.ended && cs.roomID != "" && cs.local != nil {
		s.RoomID = cs.roomID
		s.AudioMuted, s.VideoMuted = cs.muted[0], cs.muted[1]
	}
	return s, true
}

// ConnectResume signs in with a saved token and takes the saved session
// back up (PROTOCOL.md "Resume"), as a page does after a reload. When the
// server still has the session joined in a call, the engine comes back into
// it: callResumedListener reports it, the microphone (and camera, for a video
// call) open with the saved mute state when s.RoomID names that call (else the
// server's), and a new peer connection to every other participant replaces
// the one the old page had (the reset handshake). A session the server no
// longer knows (grace over) signs in as ConnectToken does. It returns the
// signed-in user and the resumed call, if any: none also when the devices
// could not be opened (mediaErrorListener reports it; the call is left).
func (e *Engine) ConnectResume(ctx context.Context, s SavedSession) (wire.User, *wire.Call, error) {
	if s.Token == "" {
		return wire.User{}, nil, wire.Unauthorized("There is no saved session; sign in.")
	}
	if s.Session == "" {
		u, err := e.ConnectToken(ctx, s.Token)
		return u, nil, err
	}
	e.dropConnection()
	// Until the reply says whether the session is in a call, a placeholder
	// call holds back the call's events (replayed ones included), as for a
	// call being made: adopt runs them after the reply's snapshot.
	hold := &callState{peers: map[string]*peerState{}, resetPeers: true}
	e.mu.Lock()
	if e.inCallLocked() { // a makeCall still opening the devices
		e.mu.Unlock()
		return wire.User{}, nil, wire.Conflict("A call is being set up on this page; end it first.")
	}
	e.stopped = false
	e.connGen++
	gen := e.connGen
	e.seq = s.LastSeq
	e.call = hold
	e.mu.Unlock()
	conn, err := e.dial(ctx, gen)
	if err != nil {
		e.dropHold(hold)
		return wire.User{}, nil, err
	}
	var res wire.AuthResult
	err = e.request(ctx, conn, wire.TypeAuth, wire.AuthRequest{Token: s.Token, Resume: s.Session, LastSeq: s.LastSeq}, &res)
	if err != nil {
		_ = conn.Close()
		e.dropHold(hold)
		var se *Error
		if errors.As(err, &se) && se.Code == wire.CodeUnauthorized {
			e.emit(event.ConnectionStatus{Status: event.AuthFail})
		}
		return wire.User{}, nil, err
	}
	e.mu.Lock()
	if gen != e.connGen {
		e.mu.Unlock()
		_ = conn.Close()
		e.dropHold(hold)
		return wire.User{}, nil, wire.Conflict("Another sign-in replaced this one.")
	}
	u := e.signedInLocked(conn, res)
	if !res.Resumed || res.Call == nil || res.Call.State == wire.CallStateEnded {
		e.dropHold(hold)
		return u, nil, nil
	}
	snap := cloneCall(*res.Call)
	if err := e.rejoin(ctx, hold, snap, s); err != nil {
		// Signed in, but out of the call (mediaErrorListener said why).
		e.log.Info("resumed call left", "room", snap.RoomID, "err", err)
		return u, nil, nil
	}
	return u, &snap, nil
}

// dropHold removes the placeholder call of ConnectResume, with the events it
// held back (they were for a call this page is not in).
func (e *Engine) dropHold(hold *callState) {
	e.mu.Lock()
	hold.ended = true
	hold.early = nil
	if e.call == hold {
		e.call = nil
	}
	e.mu.Unlock()
}

// rejoin takes up call snap, which the server still has this session joined
// in, on the placeholder cs: devices, mute state, then adopt, whose first
// snapshot makes the peers with the reset handshake (reconcilePeers).
func (e *Engine) rejoin(ctx context.Context, cs *callState, snap wire.Call, s SavedSession) error {
	me := e.me()
	video := snap.Type == wire.TypeVideo
	var mine wire.Participant
	if p := snap.Participant(me); p != nil {
		mine = *p
	}
	muted := [2]bool{mine.AudioMuted, mine.VideoMuted}
	if s.RoomID == snap.RoomID {
		muted = [2]bool{s.AudioMuted, s.VideoMuted} // the user's last word, maybe newer than the server's
	}
	local, err := e.openMedia("resumeCall", video)
	if err != nil {
		// Without devices this page cannot take part: leave the call rather
		// than sit in it silent and unseen.
		_ = e.sendNow(ctx, wire.TypeCallEnd, wire.RoomRequest{RoomID: snap.RoomID}, nil)
		e.dropHold(cs)
		return err
	}
	local.SetEnabled(rtc.KindAudio, !muted[0])
	local.SetEnabled(rtc.KindVideo, !muted[1])
	e.mu.Lock()
	gone := e.call != cs || cs.ended || cs.leaving
	if !gone {
		cs.local = local
		cs.roomID = snap.RoomID
		cs.video = video
		cs.muted = muted
	}
	e.mu.Unlock()
	if gone { // endCall or a sign-out while the devices opened
		local.Stop()
		_ = e.sendNow(ctx, wire.TypeCallEnd, wire.RoomRequest{RoomID: snap.RoomID}, nil)
		return wire.CallEnded("The call was left before it was taken up again.")
	}
	for i, kind := range []string{rtc.KindAudio, rtc.KindVideo} {
		was := mine.AudioMuted
		if i == 1 {
			was = mine.VideoMuted
		}
		if muted[i] != was {
			m := muted[i]
			req := wire.MuteRequest{RoomID: snap.RoomID}
			if kind == rtc.KindAudio {
				req.Audio = &m
			} else {
				req.Video = &m
			}
			if err := e.send(ctx, wire.TypeCallMute, req, nil); err != nil {
				e.log.Debug("restore mute", "kind", kind, "err", err)
			}
		}
	}
	e.emit(event.CallResumed{RoomID: snap.RoomID, RoomLink: snap.Link, CallType: snap.Type, CallMode: snap.Mode,
		AudioMuted: muted[0], VideoMuted: muted[1], UsersStatus: statusesOf(&snap)})
	e.work.push(func() {
		e.emitLocalTracks(cs, me)
		e.adopt(cs, snap)
	})
	return nil
}

// sendReset starts the reset handshake with ps, a new peer to someone who
// still holds a peer connection to this session's previous page: until they
// answer ResetDone, what they send belongs to that old connection and is
// dropped (onSignal). The reset goes out before anything else queued on ps,
// the offer included, and the server keeps one sender's relays in order.
func (e *Engine) sendReset(cs *callState, ps *peerState) {
	ps.awaitReset = true
	e.relayFirst(cs, ps, wire.Payload{Reset: true})
}

// relayFirst sends p to ps on its negotiation queue and waits for the server
// to take it, so that everything queued after it follows it.
func (e *Engine) relayFirst(cs *callState, ps *peerState, p wire.Payload) {
	room, to := cs.roomID, ps.jid
	ps.neg.push(func() { e.relay(room, to, p) })
}

// onReset handles the reset handshake's payloads from ps's participant (work
// queue); true when the payload was one of them.
func (e *Engine) onReset(cs *callState, from string, p wire.Payload) bool {
	if !p.Reset && !p.ResetDone {
		return false
	}
	ps := cs.peers[from]
	if ps != nil && ps.awaitReset {
		// Their answer, or their own reset crossing ours (both pages
		// reloaded): either way both sides now have new connections.
		ps.awaitReset = false
		return true
	}
	if p.ResetDone {
		return true // an answer to a reset this page no longer waits for
	}
	part := cs.snap.Participant(from)
	if part == nil || !wire.Joined(part.Status) {
		return true
	}
	if ps != nil {
		e.replacePeer(cs, ps)
	}
	mine := cs.snap.Participant(e.me())
	if ps = e.newPeer(cs, from, mine != nil && offers(*mine, *part)); ps == nil {
		return true
	}
	e.relayFirst(cs, ps, wire.Payload{ResetDone: true})
	if ps.offerer {
		e.sendOffer(cs, ps, false)
	}
	e.reportMedia(cs)
	return true
}

// replacePeer closes ps without reporting its tracks gone: the new peer's
// tracks replace them on userTrackListener.
func (e *Engine) replacePeer(cs *callState, ps *peerState) {
	delete(cs.peers, ps.jid)
	ps.neg.close()
	_ = ps.peer.Close()
}
