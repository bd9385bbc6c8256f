package ui

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/wire"
)

// tokenKey is the localStorage key of the saved session token.
const tokenKey = "parley.token"

// endedFor is how long the "Call ended" state stays before going home.
const endedFor = 2500 * time.Millisecond

// phase is the screen the page shows.
type phase int

const (
	phaseLoading   phase = iota // prerendered, or before the engine starts
	phaseResuming               // signing in with the saved token
	phaseSignedOut              // sign in / sign up
	phaseHome                   // dial and call log
	phaseOutgoing               // ringing somebody
	phaseInCall                 // media flowing (or connecting)
	phaseEnded                  // "Call ended", then home
	phaseJoin                   // a call link: your name, the preview, or why it can't be joined
)

// session is the state of the page, shared by every mount of the root Shell.
// Everything but the fields under mu is read and written on go-app's UI
// goroutine only: engine events arrive on an engine goroutine and are handed
// over with app.Context.Dispatch (see post).
type session struct {
	eng Engine

	mu      sync.Mutex
	ctx     app.Context // the mounted Shell's context
	mounted bool
	pending []Event // events that arrived while no Shell was mounted

	phase       phase
	user        wire.User
	notice      string        // the current error sentence, shown on the current screen
	info        string        // the current information sentence
	busy        bool          // a request of the current screen is in flight
	conn        string        // connection status, "" when connected
	offline     bool          // the saved session could not reach the server; retrying
	retry       time.Duration // how long to wait before retrying it
	notifPerm   string
	updateReady bool // a new version of the app is downloaded

	dialTo      string // the dial field, kept across screens to call again
	call        wire.Call
	hasCall     bool
	dialing     []string          // usernames being dialled before the call exists
	dialVideo   bool              // the call being dialled is a video call
	names       map[string]string // JID -> display name
	lastRemote  map[string]string // JID -> last status of each remote participant
	everJoined  bool              // somebody else joined the current call
	connectedAt time.Time
	endedText   string
	gen         int           // bumps at every call end, to cancel stale timers
	endedFor    time.Duration // how long "Call ended" shows

	incoming     wire.Call
	hasIncoming  bool
	incomingName string
	incomingType string
	answering    bool
	stopRing     func()

	tracks     map[string]any  // "local:video", "<jid>:audio", ...
	mutes      map[string]bool // "<jid>:audio" -> muted
	localAudio bool            // local microphone muted
	localVideo bool            // local camera muted

	// The join page (link.go).
	joinCode    string     // the code of the /join/ page, "" elsewhere
	joinStage   joinStage  // where the join page is
	joinGen     int        // bumps when the join page starts or is left, to drop stale replies
	joinUsers   []CallUser // who is in the previewed call
	joinSeen    bool       // the preview's first list of users arrived
	joinErr     string     // why the call can't be joined (joinFailed)
	joinErrCode int
	joinField   string // the name field's error
	guestName   string // the name field
	subscribed  bool   // a preview is open (camera and microphone too)
	viaLink     bool   // the current call was joined by link

	meetLink       string // the call link created on Home
	meetBusy       bool
	meetErr        string
	callLink       string // the current call's link, once asked for
	callLinkCopied bool
	speaking       map[string]bool // JID -> speaking now
	x              callExtras      // switch, invite, messages, reactions, help (extras.go)

	rev        int    // counts Shell renders (see InCall.Rev)
	groupName  string // the Home group name field
	onSettings bool   // the page is /settings
	settings   settingsState

	logs        []wire.CallLog
	logPage     int
	logPages    int
	logsErr     string
	logsLoading bool
}

func newSession(eng Engine) *session {
	s := &session{eng: eng, names: map[string]string{}, lastRemote: map[string]string{},
		tracks: map[string]any{}, mutes: map[string]bool{}, speaking: map[string]bool{}, logPage: 1, endedFor: endedFor,
		retry: resumeRetry}
	if eng != nil {
		eng.SetEventSink(s.post)
	}
	return s
}

// attach is called by a Shell's OnMount: events now go to its context.
func (s *session) attach(ctx app.Context) {
	s.mu.Lock()
	s.ctx, s.mounted = ctx, true
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	s.notifPerm = browser.NotificationPermission()
	if s.phase == phaseLoading && s.eng != nil {
		s.start(ctx)
	}
	for _, ev := range pending {
		s.apply(ctx, ev)
	}
}

// detach is called by a Shell's OnDismount.
func (s *session) detach() {
	s.mu.Lock()
	s.mounted = false
	s.mu.Unlock()
}

// post receives an engine event on the engine's goroutine and hands it to the
// UI goroutine. It never blocks on the UI.
func (s *session) post(ev Event) {
	s.mu.Lock()
	if !s.mounted {
		s.pending = append(s.pending, ev)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.dispatch(func(ctx app.Context) { s.apply(ctx, ev) })
}

// dispatch runs f on the UI goroutine with the mounted Shell's context, which
// re-renders after f. It is called from background goroutines and hands over
// through a browser timer (see browser.Post).
func (s *session) dispatch(f func(app.Context)) {
	browser.Post(func() {
		if ctx, ok := s.shell(); ok {
			ctx.Dispatch(f)
		}
	})
}

// shell returns the mounted Shell's context. Continuations of requests and
// engine events go through it rather than through the context of the screen
// that started them, which may be gone by then.
func (s *session) shell() (app.Context, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx, s.mounted
}

// run calls f on a new goroutine with a deadline, then done on the UI
// goroutine; the Shell re-renders after done.
func run[T any](s *session, timeout time.Duration, f func(context.Context) (T, error), done func(app.Context, T, error)) {
	go func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		v, err := f(c)
		cancel()
		s.dispatch(func(ctx app.Context) {
			done(ctx, v, err)
			s.afterUpdate()
		})
	}()
}

// afterUpdate attaches media to the elements rendered by this update.
func (s *session) afterUpdate() {
	if ctx, ok := s.shell(); ok {
		ctx.Defer(func(app.Context) { s.syncMedia() })
	}
}

// resumeRetry is how often an offline page tries its saved session again.
const resumeRetry = 3 * time.Second

// useAnotherAccount leaves an offline resume for the sign-in screen.
func (s *session) useAnotherAccount() {
	s.offline = false
	s.phase = phaseSignedOut
	s.notice = ""
}

// start signs back in with the saved token, or shows the sign-in screen.
func (s *session) start(ctx app.Context) {
	token, ok := browser.StorageGet(tokenKey)
	if !ok || token == "" {
		s.phase = phaseSignedOut
		if s.joinCode != "" {
			s.enterJoin(ctx)
		}
		return
	}
	s.phase = phaseResuming
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		return s.eng.ConnectToken(c, token)
	}, func(ctx app.Context, u wire.User, err error) {
		if err != nil && code(err) == wire.CodeUnreachable && s.joinCode == "" && s.phase == phaseResuming {
			// Offline: keep the saved session and sign back in once the
			// server answers, instead of asking for the password again.
			s.offline = true
			go func() {
				time.Sleep(s.retry)
				s.dispatch(func(ctx app.Context) {
					if s.phase == phaseResuming {
						s.start(ctx)
					}
				})
			}()
			return
		}
		s.offline = false
		if err != nil {
			if code(err) == wire.CodeUnauthorized {
				browser.StorageRemove(tokenKey)
			}
			s.phase = phaseSignedOut
			s.notice = humanError(actResume, err, browser.SecureContext())
			if s.joinCode != "" {
				s.enterJoin(ctx)
			}
			return
		}
		s.signedIn(ctx, u)
	})
}

func code(err error) int {
	if se, ok := err.(*wire.Error); ok {
		return se.Code
	}
	return 0
}

// signIn and register are the sign-in screen's actions.
func (s *session) signIn(ctx app.Context, username, password string) {
	username = strings.TrimSpace(strings.ToLower(username))
	if username == "" || password == "" {
		s.notice = "Enter your username and password."
		return
	}
	s.busy, s.notice = true, ""
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		return s.eng.Connect(c, username, password)
	}, func(ctx app.Context, u wire.User, err error) {
		s.busy = false
		if err != nil {
			s.notice = humanError(actSignIn, err, browser.SecureContext())
			return
		}
		s.signedIn(ctx, u)
	})
}

func (s *session) register(ctx app.Context, username, password, displayName string) {
	username = strings.TrimSpace(username)
	if msg := checkRegistration(username, password); msg != "" {
		s.notice = msg
		return
	}
	displayName = strings.TrimSpace(displayName)
	s.busy, s.notice = true, ""
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		return s.eng.Register(c, username, password, displayName)
	}, func(ctx app.Context, u wire.User, err error) {
		s.busy = false
		if err != nil {
			s.notice = humanError(actRegister, err, browser.SecureContext())
			return
		}
		s.signedIn(ctx, u)
	})
}

func (s *session) signedIn(ctx app.Context, u wire.User) {
	s.user, s.notice, s.conn = u, "", ""
	s.names[u.JID] = u.DisplayName
	if t := s.eng.Token(); t != "" {
		_ = browser.StorageSet(tokenKey, t)
	}
	s.phase = phaseHome
	s.refresh(ctx)
	s.loadLogs(ctx, 1)
	if s.joinCode != "" {
		s.enterJoin(ctx)
	}
}

// signOut logs out and forgets the saved token.
func (s *session) signOut(ctx app.Context) {
	browser.StorageRemove(tokenKey)
	run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.Logout(c)
	}, func(app.Context, struct{}, error) {})
	s.reset()
	s.info = "You are signed out."
}

// reset forgets the signed-in user.
func (s *session) reset() {
	s.stopRinging()
	s.phase = phaseSignedOut
	s.user = wire.User{}
	s.hasCall, s.hasIncoming, s.busy = false, false, false
	s.logs, s.logPage, s.logPages, s.logsErr = nil, 1, 0, ""
	s.dialTo = ""
	s.notice, s.info, s.conn = "", "", ""
	s.joinStage, s.joinUsers, s.joinErr, s.joinErrCode, s.joinField = joinName, nil, "", 0, ""
	s.subscribed, s.meetLink, s.meetErr = false, "", ""
	s.clearCall()
}

// loadLogs fetches a page of the call log.
func (s *session) loadLogs(ctx app.Context, page int) {
	if page < 1 {
		page = 1
	}
	s.logsLoading = true
	run(s, 15*time.Second, func(c context.Context) (wire.CallLogPage, error) {
		return s.eng.GetCallLogs(c, page)
	}, func(ctx app.Context, p wire.CallLogPage, err error) {
		s.logsLoading = false
		if err != nil {
			s.logsErr = "Your call history couldn't be loaded. " + humanError(actLogs, err, true)
			return
		}
		s.logsErr = ""
		s.logs, s.logPage, s.logPages = p.CallLogs, page, p.TotalPages
		if s.logPages < 1 {
			s.logPages = 1
		}
	})
}

// dial starts a call to the comma-separated usernames in to.
func (s *session) dial(ctx app.Context, to string, video bool) {
	var names []string
	for _, n := range strings.Split(to, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if n == s.user.Username || n == s.user.JID {
			s.notice = "You can't call yourself. Enter someone else's username."
			return
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		s.notice = "Enter the username of the person to call."
		return
	}
	if len(names) > 7 {
		s.notice = "A call has at most 8 people: call up to 7 others."
		return
	}
	group := ""
	if len(names) > 1 {
		group = strings.TrimSpace(s.groupName)
		if len(group) > 64 {
			s.notice = "A group name has at most 64 characters."
			return
		}
	}
	s.notice, s.info = "", ""
	s.clearCall()
	s.phase, s.dialing, s.dialVideo = phaseOutgoing, names, video
	run(s, 45*time.Second, func(c context.Context) (struct{}, error) {
		s.applyDevices(c)
		return struct{}{}, s.eng.MakeCall(c, video, names, group)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.dialing = nil
		if err != nil {
			s.clearCall()
			if s.phase == phaseOutgoing {
				s.phase = phaseHome
			}
			s.notice = humanError(actCall, err, browser.SecureContext())
			return
		}
		if _, ok := s.eng.CurrentCall(); !ok {
			// The call was over before the reply came back (declined, engaged...).
			s.hasCall = true
			s.refresh(ctx)
			return
		}
		s.refresh(ctx)
	})
}

// answer, decline, hangUp, toggleMic and toggleCam are the call actions.
func (s *session) answer(ctx app.Context) {
	if s.answering {
		return
	}
	s.answering = true
	s.stopRinging()
	s.clearCall()
	run(s, 45*time.Second, func(c context.Context) (struct{}, error) {
		s.applyDevices(c)
		return struct{}{}, s.eng.AnswerCall(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.answering = false
		if err != nil {
			s.notice = humanError(actAnswer, err, browser.SecureContext())
		}
		s.refresh(ctx)
	})
}

func (s *session) decline(ctx app.Context) {
	s.stopRinging()
	s.hasIncoming = false
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.DeclineCall(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil && code(err) != wire.CodeNotFound {
			s.notice = humanError(actDecline, err, true)
		}
		s.refresh(ctx)
		if s.phase == phaseHome {
			s.loadLogs(ctx, 1)
		}
	})
}

func (s *session) hangUp(ctx app.Context) {
	if s.phase == phaseOutgoing && !s.hasCall && s.dialing != nil {
		// Still waiting for the server: end as soon as the call exists.
		s.info = "Cancelling…"
	}
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.EndCall(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil && code(err) != wire.CodeNotFound && code(err) != wire.CodeNotInCall {
			s.notice = humanError(actEnd, err, true)
		}
		s.refresh(ctx)
		if _, ok := s.eng.CurrentCall(); !ok && (s.phase == phaseOutgoing || s.phase == phaseInCall) {
			s.endCall(ctx)
		}
	})
}

func (s *session) toggleMic(ctx app.Context) {
	want := !s.localAudio
	run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.MuteAudio(c, want)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil {
			s.notice = humanError(actMute, err, browser.SecureContext())
			return
		}
		s.localAudio = want
	})
}

func (s *session) toggleCam(ctx app.Context) {
	want := !s.localVideo
	run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.MuteVideo(c, want)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil {
			s.notice = humanError(actMute, err, browser.SecureContext())
			return
		}
		s.localVideo = want
	})
}

// enableNotifications asks for notification permission (from a click).
func (s *session) enableNotifications(ctx app.Context) {
	run(s, 2*time.Minute, func(context.Context) (string, error) {
		return browser.RequestNotificationPermission()
	}, func(_ app.Context, perm string, _ error) {
		s.notifPerm = perm
	})
}

// apply handles one engine event on the UI goroutine.
func (s *session) apply(ctx app.Context, ev Event) {
	defer s.afterUpdate()
	if s.phase == phaseSignedOut || s.phase == phaseLoading {
		if ev.Kind != EventConnection {
			return
		}
	}
	switch ev.Kind {
	case EventIncoming:
		if ev.DisplayName != "" {
			s.names[ev.UserJID] = ev.DisplayName
		}
		s.refresh(ctx)
		if s.hasIncoming {
			s.incomingName = s.displayName(ev.UserJID)
			s.incomingType = ev.CallType
			s.notify(ctx, ev)
		}
	case EventStatus:
		switch ev.Reason {
		case wire.ReasonAnsweredElsewhere:
			s.info = "You answered that call on another device."
		case wire.ReasonDeclinedElsewhere:
			s.info = "You declined that call on another device."
		}
		if !ev.LocalUser && ev.UserJID != "" && ev.UserJID != s.user.JID {
			s.lastRemote[ev.UserJID] = ev.Status
			if wire.Joined(ev.Status) {
				s.everJoined = true
			}
		}
		s.refresh(ctx)
		if ev.Status == wire.StatusEnded && (s.phase == phaseOutgoing || s.phase == phaseInCall) {
			if _, ok := s.eng.CurrentCall(); !ok || ev.Closed || ev.LocalUser {
				s.endCall(ctx)
			}
		}
	case EventTrack:
		key := ev.UserJID + ":" + ev.TrackType
		if ev.LocalUser {
			key = "local:" + ev.TrackType
		}
		if ev.Track == nil {
			delete(s.tracks, key)
		} else {
			s.tracks[key] = ev.Track
		}
		if ev.TrackType == "video" && s.phase == phaseInCall {
			s.refresh(ctx) // a switch to video changes the call's type
		}
	case EventMute:
		if ev.LocalUser || ev.UserJID == s.user.JID {
			if ev.TrackType == "audio" {
				s.localAudio = ev.Muted
			} else {
				s.localVideo = ev.Muted
			}
			return
		}
		s.mutes[ev.UserJID+":"+ev.TrackType] = ev.Muted
	case EventMissed:
		s.refresh(ctx)
		name := ev.DisplayName
		if name == "" {
			name = s.displayName(ev.UserJID)
		}
		s.info = "Missed " + kindWord(ev.CallType) + " call from " + name + "."
		if s.phase == phaseHome {
			s.loadLogs(ctx, 1)
		}
	case EventMediaError:
		if s.phase == phaseJoin {
			return // SubscribeCall's error says it on the join page
		}
		s.notice = mediaErrorSentence(ev.Code, ev.Device, browser.SecureContext())
	case EventUsers:
		s.onUsers(ev)
	case EventUserJoined, EventUserLeft:
		if ev.DisplayName != "" && ev.UserJID != "" {
			s.names[ev.UserJID] = ev.DisplayName
		}
		if ev.Kind == EventUserLeft {
			delete(s.speaking, ev.UserJID)
		}
	case EventSwitch:
		if s.phase == phaseInCall {
			s.onSwitch(ctx, ev)
		}
	case EventInvite:
		if s.phase == phaseInCall || s.phase == phaseOutgoing {
			s.onInvite(ctx, ev)
		}
	case EventData:
		s.onData(ev)
	case EventSpeaking:
		if !ev.LocalUser {
			s.speaking[ev.UserJID] = ev.Speaking
		}
	case EventConnection:
		switch ev.Status {
		case "CONNECTED":
			s.conn = ""
		case "AUTHFAIL":
			browser.StorageRemove(tokenKey)
			if s.phase != phaseSignedOut {
				s.reset()
				s.notice = "Your session has ended. Sign in again."
			}
		default:
			if s.phase != phaseSignedOut && s.phase != phaseLoading {
				s.conn = ev.Status
			}
		}
	}
}

// refresh reads the engine's snapshots of the current and the incoming call
// and picks the screen.
func (s *session) refresh(ctx app.Context) {
	if s.eng == nil {
		return
	}
	inc, ok := s.eng.Incoming()
	if ok && inc.State != wire.CallStateEnded {
		if !s.hasIncoming || s.incoming.RoomID != inc.RoomID {
			s.incomingName, s.incomingType = "", inc.Type
		}
		s.incoming, s.hasIncoming = inc, true
		for _, p := range inc.Participants {
			if p.DisplayName != "" {
				s.names[p.JID] = p.DisplayName
			}
		}
		if s.incomingName == "" {
			s.incomingName = s.displayName(inc.Initiator)
		}
		if s.incomingType == "" {
			s.incomingType = inc.Type
		}
		if s.stopRing == nil {
			s.stopRing = browser.StartRingtone()
		}
	} else {
		s.hasIncoming = false
		s.stopRinging()
	}

	c, ok := s.eng.CurrentCall()
	if ok && c.State == wire.CallStateEnded {
		ok = false
	}
	if !ok {
		if s.hasCall && (s.phase == phaseOutgoing || s.phase == phaseInCall) {
			s.endCall(ctx)
		}
		s.hasCall = false
		return
	}
	s.call, s.hasCall = c, true
	joined := false
	for _, p := range c.Participants {
		if p.DisplayName != "" {
			s.names[p.JID] = p.DisplayName
		}
		if p.JID == s.user.JID {
			continue
		}
		s.lastRemote[p.JID] = p.Status
		if wire.Joined(p.Status) {
			joined = true
		}
	}
	if joined || c.State == wire.CallStateActive {
		s.everJoined = true
		if s.phase != phaseInCall {
			s.phase = phaseInCall
			s.connectedAt = time.Now()
			s.notice, s.info = "", ""
		}
		return
	}
	if c.Initiator == s.user.JID && !c.Meet && !s.viaLink {
		s.phase = phaseOutgoing
	} else if s.phase != phaseInCall {
		s.phase = phaseInCall
		s.connectedAt = time.Now()
	}
}

// endCall shows "Call ended" for a moment, then goes home.
func (s *session) endCall(ctx app.Context) {
	s.endedText = s.endedSentence()
	s.clearCall()
	s.phase = phaseEnded
	s.gen++
	if s.user.Guest {
		return // a guest has no home: the ended screen offers to rejoin
	}
	gen := s.gen
	s.loadLogs(ctx, 1)
	wait := s.endedFor
	go func() {
		time.Sleep(wait)
		s.dispatch(func(ctx app.Context) {
			if s.gen == gen && s.phase == phaseEnded {
				s.phase = phaseHome
				if s.joinCode != "" {
					s.joinCode = ""
					ctx.Navigate("/")
				}
			}
		})
	}()
}

// endedSentence says how the call ended, from the last remote statuses.
func (s *session) endedSentence() string {
	if s.everJoined {
		if !s.connectedAt.IsZero() {
			return "Call ended · " + clock(time.Since(s.connectedAt))
		}
		return "Call ended"
	}
	var who []string
	var status string
	for jid, st := range s.lastRemote {
		who = append(who, s.displayName(jid))
		status = st
	}
	if len(who) == 1 {
		switch status {
		case wire.StatusDeclined:
			return who[0] + " declined the call"
		case wire.StatusEngaged:
			return who[0] + " is in another call"
		case wire.StatusNoAnswer:
			return who[0] + " didn't answer"
		}
	}
	return "Call ended"
}

// clearCall forgets everything about the current call.
func (s *session) clearCall() {
	s.hasCall = false
	s.call = wire.Call{}
	s.dialing = nil
	s.lastRemote = map[string]string{}
	s.everJoined = false
	s.connectedAt = time.Time{}
	s.tracks = map[string]any{}
	s.mutes = map[string]bool{}
	s.localAudio, s.localVideo = false, false
	s.speaking = map[string]bool{}
	s.viaLink = false
	s.callLink, s.callLinkCopied = "", false
	s.x.noteGen++ // drop pending note timers
	s.x = callExtras{noteGen: s.x.noteGen}
}

func (s *session) stopRinging() {
	if s.stopRing != nil {
		s.stopRing()
		s.stopRing = nil
	}
}

// notify shows a system notification for an incoming call while the tab is
// hidden.
func (s *session) notify(ctx app.Context, ev Event) {
	title := "Incoming " + kindWord(ev.CallType) + " call"
	body := s.incomingName + " is calling you on Parley."
	tag := "parley-call-" + ev.RoomID
	go func() {
		_ = browser.ShowNotification(browser.Notification{Title: title, Body: body, Icon: "/web/icon-192.png", Tag: tag})
	}()
}

// displayName returns the best name known for jid.
func (s *session) displayName(jid string) string {
	if n := s.names[jid]; n != "" {
		return n
	}
	if u, _, ok := strings.Cut(jid, "@"); ok {
		return u
	}
	if jid == "" {
		return "Someone"
	}
	return jid
}

// muted reports a remote participant's mute state for kind ("audio", "video").
func (s *session) muted(p wire.Participant, kind string) bool {
	if m, ok := s.mutes[p.JID+":"+kind]; ok {
		return m
	}
	if kind == "audio" {
		return p.AudioMuted
	}
	return p.VideoMuted
}

// remotes returns the other participants of the current call.
func (s *session) remotes() []wire.Participant {
	var out []wire.Participant
	for _, p := range s.call.Participants {
		if p.JID != s.user.JID {
			out = append(out, p)
		}
	}
	return out
}

// syncMedia attaches the current tracks to the rendered media elements.
func (s *session) syncMedia() {
	if s.phase == phaseJoin {
		browser.AttachTrack("preview-video", s.tracks["local:video"], true)
		return
	}
	if s.phase != phaseInCall {
		return
	}
	for _, p := range s.remotes() {
		id := elemID(p.JID)
		browser.AttachTrack("video-"+id, s.tracks[p.JID+":video"], true)
		browser.AttachTrack("audio-"+id, s.tracks[p.JID+":audio"], false)
	}
	browser.AttachTrack("self-view", s.tracks["local:video"], true)
	if spk, _ := browser.StorageGet(browser.SpeakerKey); spk != "" || s.settings.speakerSet {
		browser.SetSpeaker(".tile audio", spk)
	}
}

// elemID turns a JID into a string safe in an element id.
func elemID(jid string) string {
	var b strings.Builder
	for _, r := range jid {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func kindWord(callType string) string {
	if callType == wire.TypeVideo {
		return "video"
	}
	return "voice"
}

// clock formats a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	sec := int(d / time.Second)
	h, m, ss := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return strconv.Itoa(h) + ":" + pad2(m) + ":" + pad2(ss)
	}
	return strconv.Itoa(m) + ":" + pad2(ss)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
