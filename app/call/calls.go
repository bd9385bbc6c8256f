package call

import (
	"context"
	"errors"
	"strings"
	"time"

	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
)

// callState is the call this device takes part in. It is created when the user
// starts, answers or joins a call and dropped when their part ends. roomID,
// snap, early, adopted, muted and ended are guarded by Engine.mu (API methods
// read them); peers, media and speak belong to the work queue alone.
type callState struct {
	roomID string
	video  bool // the call type when it started; video tracks are reported only then
	local  *rtc.LocalMedia
	snap   *wire.Call // newest server snapshot, nil until the first one
	// group caps the video sent to each peer for the call's size
	// (groupVideo; work queue).
	group   rtc.VideoLimit
	early   []wire.Frame // call events that came before adopt ran
	adopted bool         // adopt ran: updates apply directly
	peers   map[string]*peerState
	media   string  // the media status last reported to the server
	muted   [2]bool // audio, video: what this user asked for
	ended   bool
	leaving bool // leaveCall ran; guarded by Engine.mu
	// resetPeers: this page came back into the call after a reload
	// (ConnectResume), so the peers of the first snapshot start with the
	// reset handshake (rejoin.go). Work queue.
	resetPeers bool
	speak      map[string]*speakState
	stop       chan struct{} // closed when the call ends: stops the speaking monitor
	screen     screenShare   // screen.go
	// pre holds the peers offered to participants still ringing, by JID,
	// until they join (preoffer.go). Work queue.
	pre map[string]*peerState
	// answeredRing: this page answered a ring and has not yet asked for the
	// offers it missed (askReoffers). Work queue.
	answeredRing bool
}

// peerState is the media connection to one other participant. The work queue
// owns its fields; the peer's own negotiation (offers, answers, candidates)
// runs in order on neg, beside every other peer's, so that one slow peer
// never holds up another's setup or the engine's events.
type peerState struct {
	jid     string
	peer    *rtc.Peer
	neg     *queue
	offerer bool
	state   string
	tracks  map[string]rtc.Track // remote tracks by kind
	// cands holds the other side's candidates that came one signal after
	// another, until neg adds them together (rtc.AddCandidates: the browser
	// gets them all before the engine waits, instead of a wait for each
	// while the call starts). More join it until then; a description
	// starts a new one after it (work queue).
	cands *candidateHold
	ice   iceRestart // ICE restart schedule (iceRestart.go)
	stall stallWatch // media arriving or not (stall.go)
	line  lineWatch  // line quality (quality.go)
	// awaitReset: a reset was sent and not yet answered; what the other
	// side sends meanwhile is for this session's previous page (rejoin.go).
	awaitReset bool
	// live: the peer is in callState.peers. A pre-offered peer (to someone
	// still ringing) or a prepared one (for a call ringing here) is not yet:
	// its remote tracks wait in early and its state is only recorded
	// (preoffer.go).
	live  bool
	early []rtc.Track
	// prep is set on a peer prepared while its call rings here (preoffer.go).
	prep *prepPeer
	// hold keeps this peer's own candidates back while it is offered to
	// someone not yet let in (preoffer.go).
	hold *candidateHold
	// knock: pre-offered to someone knocking; dropped when the knock ends
	// without them let in, whatever the snapshot says of an earlier part.
	knock bool
}

// inCallLocked reports whether this device is in a call or dialling one, so
// that it cannot start, answer or join another. Called with e.mu held.
func (e *Engine) inCallLocked() bool { return e.call != nil || e.dialling != nil }

// MakeVoiceCall rings userJIDs for an audio call; groupID (optional) makes it a
// group call.
func (e *Engine) MakeVoiceCall(ctx context.Context, userJIDs []string, groupID string) (CallRef, error) {
	return e.makeCall(ctx, userJIDs, groupID, false)
}

// MakeVideoCall rings userJIDs for a video call; groupID (optional) makes it a
// group call.
func (e *Engine) MakeVideoCall(ctx context.Context, userJIDs []string, groupID string) (CallRef, error) {
	return e.makeCall(ctx, userJIDs, groupID, true)
}

func (e *Engine) makeCall(ctx context.Context, jids []string, groupID string, video bool) (CallRef, error) {
	action := "makeVoiceCall"
	typ := wire.TypeAudio
	if video {
		action, typ = "makeVideoCall", wire.TypeVideo
	}
	e.mu.Lock()
	user, busy, limits := e.user, e.inCallLocked(), e.limits
	e.mu.Unlock()
	if user == nil {
		return CallRef{}, wire.Unauthorized("Sign in before making a call.")
	}
	if len(jids) == 0 {
		return CallRef{}, wire.BadRequest("Give at least one user to call.")
	}
	// Count the people rung as the server will: each once, yourself never.
	others := map[string]bool{}
	for _, j := range jids {
		if strings.TrimSpace(j) == "" {
			return CallRef{}, wire.BadRequest("A user JID is empty.")
		}
		u, err := wire.ParseJID(j, domainOf(user.JID))
		if err != nil {
			others[j] = true // the server names what is wrong with it
		} else if u != user.Username {
			others[u] = true
		}
	}
	if len(others) == 0 {
		return CallRef{}, wire.BadRequest("You cannot call yourself; give someone else's JID.")
	}
	if len(others)+1 > limits.MaxParticipants {
		return CallRef{}, wire.CallFull(limits.MaxParticipants)
	}
	if busy {
		return CallRef{}, wire.Conflict("You are already in a call; end it first.")
	}
	// While the microphone and camera open (a permission prompt can take a
	// while) the call is being dialled: endCall then cancels it.
	cs := &callState{video: video, peers: map[string]*peerState{}}
	e.mu.Lock()
	if e.inCallLocked() {
		e.mu.Unlock()
		return CallRef{}, wire.Conflict("You are already in a call; end it first.")
	}
	e.dialling = cs
	e.mu.Unlock()
	local, err := e.openMedia(action, video)
	e.mu.Lock()
	e.dialling = nil
	cancelled := cs.leaving
	if err == nil && !cancelled {
		cs.local = local
		e.call = cs
	}
	e.mu.Unlock()
	if err != nil {
		return CallRef{}, err
	}
	if cancelled {
		local.Stop()
		return CallRef{}, wire.CallEnded("The call was ended before it was set up.")
	}
	var res wire.CallResult
	if err := e.send(ctx, wire.TypeCallCreate, wire.CallCreateRequest{To: jids, Type: typ, GroupID: groupID}, &res); err != nil {
		e.mu.Lock()
		if e.call == cs {
			e.call = nil
		}
		e.mu.Unlock()
		local.Stop()
		return CallRef{}, err
	}
	if e.createdHook != nil {
		e.createdHook()
	}
	snap := res.Call
	e.mu.Lock()
	cs.roomID = snap.RoomID // EndCall from now on reaches the server
	gone := e.call != cs || cs.ended || cs.leaving
	e.mu.Unlock()
	if gone {
		// endCall ran while the call was being created: it could not name the
		// room, so end it on the server now, or the callees would ring on.
		_ = e.sendNow(ctx, wire.TypeCallEnd, wire.RoomRequest{RoomID: snap.RoomID}, nil)
		local.Stop()
		return CallRef{}, wire.CallEnded("The call was ended before it was set up.")
	}
	e.work.push(func() {
		e.emitLocalTracks(cs, user.JID)
		e.adopt(cs, snap)
	})
	// Adopted, and its events handed to the listeners, before returning: a
	// call that is over already (engaged, blocked) has said why on
	// callStatusListener by the time the caller learns it was made.
	e.Flush()
	return CallRef{RoomID: snap.RoomID, RoomLink: snap.Link}, nil
}

// adopt starts cs on the work queue once the server has answered: first the
// reply's snapshot, then the updates that arrived before this ran (the server
// sends a reply before the events it causes, so they are newer).
func (e *Engine) adopt(cs *callState, snap wire.Call) {
	e.mu.Lock()
	if e.call != cs || cs.ended {
		e.mu.Unlock()
		return
	}
	cs.roomID = snap.RoomID
	cs.adopted = true
	early := cs.early
	cs.early = nil
	cs.stop = make(chan struct{})
	e.mu.Unlock()
	go e.speakingMonitor(cs, cs.stop)
	go e.stallMonitor(cs, cs.stop)
	go e.qualityMonitor(cs, cs.stop)
	e.apply(cs, snap, "")
	for _, f := range early {
		e.handleEvent(f)
	}
}

func domainOf(jid string) string {
	for i := len(jid) - 1; i >= 0; i-- {
		if jid[i] == '@' {
			return jid[i+1:]
		}
	}
	return ""
}

// openMedia opens the microphone (and camera), reporting a refusal on
// mediaErrorListener as well as in the returned error.
func (e *Engine) openMedia(action string, video bool) (*rtc.LocalMedia, error) {
	local, err := e.currentMedia().Open(video)
	if err == nil {
		return local, nil
	}
	return nil, e.mediaDenied(err, action)
}

// mediaDenied reports a refused device on mediaErrorListener and returns the
// matching 10060x error for the method that needed it.
func (e *Engine) mediaDenied(err error, action string) error {
	me := mediaError(err, action)
	e.emit(me)
	return wire.MediaDenied(me.StatusCode, me.Message)
}

func mediaError(err error, action string) event.MediaError {
	switch {
	case errors.Is(err, rtc.ErrCameraDenied):
		return event.MediaError{StatusCode: wire.CodeCameraDenied, Device: "camera", Action: action,
			Message: "Parley may not use your camera. Allow camera access for this site in the browser's address bar, then try again."}
	case errors.Is(err, rtc.ErrBothDenied):
		return event.MediaError{StatusCode: wire.CodeMediaDenied, Device: "mic & camera", Action: action,
			Message: "Parley may not use your microphone and camera. Allow both for this site in the browser's address bar, then try again."}
	default:
		return event.MediaError{StatusCode: wire.CodeMicDenied, Device: "mic", Action: action,
			Message: "Parley may not use your microphone. Allow microphone access for this site in the browser's address bar, then try again."}
	}
}

func (e *Engine) emitLocalTracks(cs *callState, me string) {
	for _, t := range []rtc.Track{cs.local.Audio(), cs.local.Video()} {
		if t != nil {
			e.emitTrack(cs, me, true, t.Kind(), t)
		}
	}
}

// AnswerCall answers the call ringing on this device.
func (e *Engine) AnswerCall(ctx context.Context) error {
	e.mu.Lock()
	user := e.user
	var inc *wire.Call
	granted := false
	if len(e.incoming) > 0 {
		c := e.incoming[0]
		inc = &c
		granted = e.ringGrants[c.RoomID]
	}
	busy := e.inCallLocked()
	e.mu.Unlock()
	if user == nil {
		return wire.Unauthorized("Sign in first.")
	}
	if inc == nil {
		return wire.NotFound("There is no incoming call to answer.")
	}
	if busy {
		return wire.Conflict("You are already in a call; end it before answering.")
	}
	video := inc.Type == wire.TypeVideo
	media := e.currentMedia()
	if !granted {
		// A prompt may come up (and be refused), or it rang too briefly to
		// tell: nothing is sent before the devices are open.
		local, err := e.openMedia("answerCall", video)
		if err != nil {
			return err
		}
		return e.answer(ctx, user.JID, *inc, local, nil)
	}
	// The devices are allowed already. Ones that open at once (a fake or a
	// warm camera) are on the connections before the answer leaves, as if
	// opened first, so their encoders start with the connection; a camera
	// still warming up does not hold the answer back: the caller's video
	// and the connection come meanwhile, and it joins once open.
	opened := make(chan openedMedia, 1)
	go func() {
		local, err := media.Open(video)
		opened <- openedMedia{local, err}
	}()
	grace := time.NewTimer(devicesGrace)
	defer grace.Stop()
	select {
	case r := <-opened:
		if r.err != nil {
			return e.mediaDenied(r.err, "answerCall")
		}
		return e.answer(ctx, user.JID, *inc, r.local, nil)
	case <-grace.C:
		return e.answer(ctx, user.JID, *inc, &rtc.LocalMedia{}, opened)
	}
}

// openedMedia is the result of opening the devices beside the answer.
type openedMedia struct {
	local *rtc.LocalMedia
	err   error
}

// answer joins inc, ringing here, with local and sends the answers prepared
// while it rang. When opened is not nil, local is still empty and the
// devices arrive on opened: the call goes ahead meanwhile, they join its
// connections once open, and if they cannot be opened the call is left again
// and their error returned.
func (e *Engine) answer(ctx context.Context, me string, inc wire.Call, local *rtc.LocalMedia, opened <-chan openedMedia) error {
	cs := &callState{roomID: inc.RoomID, video: inc.Type == wire.TypeVideo, local: local, peers: map[string]*peerState{}, answeredRing: true,
		group: groupVideo(callSize(&inc))}
	stop := func() {
		local.Stop()
		if opened != nil {
			go func() {
				if r := <-opened; r.err == nil {
					r.local.Stop()
				}
			}()
		}
	}
	e.mu.Lock()
	if e.inCallLocked() {
		e.mu.Unlock()
		stop()
		return wire.Conflict("You are already in a call; end it before answering.")
	}
	e.call = cs
	e.mu.Unlock()
	// The answers prepared while it rang go with the answer (preoffer.go).
	signals := e.takePrep(ctx, cs, inc.RoomID)
	var res wire.CallResult
	if err := e.send(ctx, wire.TypeCallAnswer, wire.AnswerRequest{RoomID: inc.RoomID, Signals: signals}, &res); err != nil {
		e.unanswer(cs)
		stop()
		return err
	}
	e.work.push(func() { e.releasePrep(cs) })
	e.removeIncoming(inc.RoomID)
	snap := res.Call
	e.work.push(func() {
		e.emitLocalTracks(cs, me)
		e.adopt(cs, snap)
	})
	if opened == nil {
		return nil
	}
	r := <-opened
	if r.err != nil {
		// Allowed, yet it failed (a camera another program holds): no call
		// without our devices; the others see us leave.
		denied := e.mediaDenied(r.err, "answerCall")
		e.leaveCall(ctx)
		return denied
	}
	if !local.Fill(r.local) {
		return nil // the call ended meanwhile, and said so
	}
	e.sync(func() {
		if cs.ended {
			return
		}
		for _, ps := range cs.peers {
			e.setLocalTracks(ps, local)
		}
		e.emitLocalTracks(cs, me)
	})
	return nil
}

// devicesGrace is how long an answer whose devices are allowed waits for
// them to open before it goes without them: Chromium's fake camera opens
// within it (13–34 ms measured), a real one often takes 0.1–1 s.
const devicesGrace = 50 * time.Millisecond

// unanswer undoes answer's start when the answer cannot go: the call is not
// ours and the peers taken from the ring are closed.
func (e *Engine) unanswer(cs *callState) {
	e.mu.Lock()
	if e.call == cs {
		e.call = nil
	}
	e.mu.Unlock()
	e.sync(func() {
		for _, ps := range cs.peers {
			ps.neg.close()
			_ = ps.peer.Close()
		}
	})
}

// DeclineCall declines the call ringing on this device (on every device of the user).
func (e *Engine) DeclineCall(ctx context.Context) error {
	e.mu.Lock()
	user := e.user
	var room string
	if len(e.incoming) > 0 {
		room = e.incoming[0].RoomID
	}
	e.mu.Unlock()
	if user == nil {
		return wire.Unauthorized("Sign in first.")
	}
	if room == "" {
		return wire.NotFound("There is no incoming call to decline.")
	}
	if err := e.send(ctx, wire.TypeCallDecline, wire.RoomRequest{RoomID: room}, nil); err != nil {
		return err
	}
	e.removeIncoming(room)
	return nil
}

// EndCall hangs up: it leaves the current call (cancelling it if nobody has
// answered yet). With no call but one ringing here, it declines that.
func (e *Engine) EndCall(ctx context.Context) error {
	if e.knocking() { // waiting to be let in: stop waiting
		return e.UnsubscribeCall(ctx)
	}
	e.mu.Lock()
	user, cs, ringing := e.user, e.call, len(e.incoming) > 0
	if user != nil && cs == nil && e.dialling != nil {
		e.dialling.leaving = true // makeCall sees it once the devices are open
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	if user == nil {
		return wire.Unauthorized("Sign in first.")
	}
	if cs == nil {
		if ringing {
			return e.DeclineCall(ctx)
		}
		return notInCall()
	}
	e.leaveCall(ctx)
	return nil
}

// leaveCall tells the server this user leaves the current call and tears it down here.
func (e *Engine) leaveCall(ctx context.Context) {
	e.mu.Lock()
	cs := e.call
	e.mu.Unlock()
	if cs == nil {
		return
	}
	e.mu.Lock()
	room := cs.roomID
	cs.leaving = true // a makeCall still waiting for its reply ends the call itself
	e.mu.Unlock()
	if room != "" {
		// The call ends here whatever the server says: a failure to reach it
		// still leaves us out of the call (the server drops us on its own).
		_ = e.sendNow(ctx, wire.TypeCallEnd, wire.RoomRequest{RoomID: room}, nil)
	}
	e.sync(func() { e.endCallState(cs, "") })
}

// CurrentCall is the newest snapshot of the call you are in.
func (e *Engine) CurrentCall() (wire.Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.call == nil || e.call.snap == nil {
		return wire.Call{}, false
	}
	return cloneCall(*e.call.snap), true
}

// Incoming is the call ringing on this device, if any.
func (e *Engine) Incoming() (wire.Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.incoming) == 0 {
		return wire.Call{}, false
	}
	return cloneCall(e.incoming[0]), true
}

func cloneCall(c wire.Call) wire.Call {
	c.Participants = append([]wire.Participant(nil), c.Participants...)
	c.To = append([]string(nil), c.To...)
	return c
}

func (e *Engine) removeIncoming(room string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, c := range e.incoming {
		if c.RoomID == room {
			e.incoming = append(e.incoming[:i:i], e.incoming[i+1:]...)
			delete(e.ringGrants, room)
			e.work.push(func() { e.dropPrep(room) }) // unless answered, what was prepared is void
			return true
		}
	}
	return false
}
