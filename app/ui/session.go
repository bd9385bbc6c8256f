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
// Everything but mount is read and written on go-app's UI goroutine only:
// engine events arrive on an engine goroutine and are handed over with
// app.Context.Dispatch (see post). The state is grouped by concern; each
// group's type sits in the file of the screen or feature that changes it.
type session struct {
	eng   Engine
	mount mountState // the mounted Shell, and events waiting for one

	phase phase             // the screen the page shows
	page  pageState         // what every screen shares: notices, busy, banners
	names map[string]string // JID -> display name, learnt from every call

	account    accountState  // who is signed in (signin_state.go)
	logs       callLogState  // the call history (home_state.go)
	dialForm   dialState     // the dial form (home_state.go)
	meet       meetState     // the call link created on Home (home_state.go)
	out        outgoingState // the call being dialled (outgoing_state.go)
	ring       ringState     // the incoming call (incoming_state.go)
	call       callState     // the current call (incall_state.go)
	media      mediaState    // tracks and mute states (media.go)
	sw         switchState   // voice -> video switch (switch_state.go)
	inviteForm inviteState   // the invite dialog (invite_state.go)
	chat       chatState     // messages and reactions (chat_state.go)
	note       noteState     // the short in-call note (incall_state.go)
	ended      endedState    // "Call ended" (ended_state.go)
	join       joinState     // the page of a call link (join_state.go)
	settings   settingsState // devices and notifications (settings_state.go)
}

// mountState hands engine events and request continuations to the mounted
// Shell. It is the only state shared with other goroutines, under mu.
type mountState struct {
	mu      sync.Mutex
	ctx     app.Context // the mounted Shell's context
	mounted bool
	pending []Event // events that arrived while no Shell was mounted
}

// pageState is what every screen shares.
type pageState struct {
	notice      string // the current error sentence, shown on the current screen
	info        string // the current information sentence
	busy        bool   // a request of the current screen is in flight
	conn        string // connection status, "" when connected
	updateReady bool   // a new version of the app is downloaded
	onSettings  bool   // the page is /settings
	rev         int    // counts Shell renders (see InCall.Rev)
}

// accountState is who is signed in.
type accountState struct {
	user    wire.User
	offline bool          // the saved session could not reach the server; retrying
	retry   time.Duration // how long to wait before retrying it
}

// callLogState is the page of the call history shown on Home.
type callLogState struct {
	list    []wire.CallLog
	page    int
	pages   int
	err     string
	loading bool
}

// dialState is Home's dial form, kept across screens to call again.
type dialState struct {
	to    string // the usernames field
	group string // the group name field
}

// meetState is the call link created on Home.
type meetState struct {
	link string
	busy bool
	err  string
}

// outgoingState is the call being dialled before the server has created it.
type outgoingState struct {
	names []string // usernames being dialled
	video bool     // the call being dialled is a video call
}

// ringState is the incoming call ringing on this tab.
type ringState struct {
	call      wire.Call
	has       bool
	name      string // the caller's name
	kind      string // the call type, wire.TypeAudio or wire.TypeVideo
	answering bool
	stop      func() // stops the ringtone; nil when silent
}

// callState is the current call; clearCall forgets it.
type callState struct {
	snap        wire.Call // the engine's snapshot
	has         bool
	lastRemote  map[string]string // JID -> last status of each remote participant
	everJoined  bool              // somebody else joined the call
	connectedAt time.Time
	viaLink     bool   // the call was joined by link
	link        string // the call's link, once asked for
	linkCopied  bool
	helpOpen    bool // the keyboard shortcuts dialog
	audioOpen   bool // the devices dialog
}

// mediaState is the media of the current call or of the join preview.
type mediaState struct {
	tracks     map[string]any  // "local:video", "<jid>:audio", ...
	mutes      map[string]bool // "<jid>:audio" -> muted
	localAudio bool            // local microphone muted
	localVideo bool            // local camera muted
	speaking   map[string]bool // JID -> speaking now
}

// noteState is a short sentence shown in the call for a few seconds.
type noteState struct {
	text string
	gen  int // bumps at every note, to drop stale timers
}

// endedState is the "Call ended" screen.
type endedState struct {
	text string
	gen  int           // bumps at every call end, to cancel stale timers
	wait time.Duration // how long "Call ended" shows
}

// joinState is the page of a call link (/join/<code>).
type joinState struct {
	code       string     // the code of the /join/ page, "" elsewhere
	stage      joinStage  // where the join page is
	gen        int        // bumps when the join page starts or is left, to drop stale replies
	users      []CallUser // who is in the previewed call
	seen       bool       // the preview's first list of users arrived
	err        string     // why the call can't be joined (joinFailed)
	errCode    int
	field      string // the name field's error
	guestName  string // the name field
	subscribed bool   // a preview is open (camera and microphone too)
}

// switchState is the switch of a 1:1 voice call to video.
type switchState struct {
	state    string // switchNone, switchRequesting or switchAsked
	from     string // JID of who asked (switchAsked)
	busy     bool
	infoOpen bool // the "no switch in group calls" explanation is open
}

// inviteState is the invite dialog of the call.
type inviteState struct {
	open bool
	to   string
	err  string
	busy bool
}

// chatState is the side panel of messages, and the reactions.
type chatState struct {
	open      bool
	msgs      []chatMsg
	unread    int
	draft     string
	err       string
	reactions []reaction
	reactSeq  int
}

func newSession(eng Engine) *session {
	s := &session{eng: eng, names: map[string]string{},
		account: accountState{retry: resumeRetry},
		logs:    callLogState{page: 1},
		call:    callState{lastRemote: map[string]string{}},
		media:   newMediaState(),
		ended:   endedState{wait: endedFor}}
	if eng != nil {
		eng.SetEventSink(s.post)
	}
	return s
}

// attach is called by a Shell's OnMount: events now go to its context.
func (s *session) attach(ctx app.Context) {
	s.mount.mu.Lock()
	s.mount.ctx, s.mount.mounted = ctx, true
	pending := s.mount.pending
	s.mount.pending = nil
	s.mount.mu.Unlock()
	s.settings.notifPerm = browser.NotificationPermission()
	if s.phase == phaseLoading && s.eng != nil {
		s.start(ctx)
	}
	for _, ev := range pending {
		s.apply(ctx, ev)
	}
}

// detach is called by a Shell's OnDismount.
func (s *session) detach() {
	s.mount.mu.Lock()
	s.mount.mounted = false
	s.mount.mu.Unlock()
}

// post receives an engine event on the engine's goroutine and hands it to the
// UI goroutine. It never blocks on the UI.
func (s *session) post(ev Event) {
	s.mount.mu.Lock()
	if !s.mount.mounted {
		s.mount.pending = append(s.mount.pending, ev)
		s.mount.mu.Unlock()
		return
	}
	s.mount.mu.Unlock()
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
	s.mount.mu.Lock()
	defer s.mount.mu.Unlock()
	return s.mount.ctx, s.mount.mounted
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
	s.account.offline = false
	s.phase = phaseSignedOut
	s.page.notice = ""
}

// start signs back in with the saved token, or shows the sign-in screen.
func (s *session) start(ctx app.Context) {
	token, ok := browser.StorageGet(tokenKey)
	if !ok || token == "" {
		s.phase = phaseSignedOut
		if s.join.code != "" {
			s.enterJoin(ctx)
		}
		return
	}
	s.phase = phaseResuming
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		return s.eng.ConnectToken(c, token)
	}, func(ctx app.Context, u wire.User, err error) {
		if err != nil && code(err) == wire.CodeUnreachable && s.join.code == "" && s.phase == phaseResuming {
			// Offline: keep the saved session and sign back in once the
			// server answers, instead of asking for the password again.
			s.account.offline = true
			go func() {
				time.Sleep(s.account.retry)
				s.dispatch(func(ctx app.Context) {
					if s.phase == phaseResuming {
						s.start(ctx)
					}
				})
			}()
			return
		}
		s.account.offline = false
		if err != nil {
			if code(err) == wire.CodeUnauthorized {
				browser.StorageRemove(tokenKey)
			}
			s.phase = phaseSignedOut
			s.page.notice = humanError(actResume, err, browser.SecureContext())
			if s.join.code != "" {
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
		s.page.notice = "Enter your username and password."
		return
	}
	s.page.busy, s.page.notice = true, ""
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		return s.eng.Connect(c, username, password)
	}, func(ctx app.Context, u wire.User, err error) {
		s.page.busy = false
		if err != nil {
			s.page.notice = humanError(actSignIn, err, browser.SecureContext())
			return
		}
		s.signedIn(ctx, u)
	})
}

func (s *session) register(ctx app.Context, username, password, displayName string) {
	username = strings.TrimSpace(username)
	if msg := checkRegistration(username, password); msg != "" {
		s.page.notice = msg
		return
	}
	displayName = strings.TrimSpace(displayName)
	s.page.busy, s.page.notice = true, ""
	run(s, 20*time.Second, func(c context.Context) (wire.User, error) {
		return s.eng.Register(c, username, password, displayName)
	}, func(ctx app.Context, u wire.User, err error) {
		s.page.busy = false
		if err != nil {
			s.page.notice = humanError(actRegister, err, browser.SecureContext())
			return
		}
		s.signedIn(ctx, u)
	})
}

func (s *session) signedIn(ctx app.Context, u wire.User) {
	s.account.user, s.page.notice, s.page.conn = u, "", ""
	s.names[u.JID] = u.DisplayName
	if t := s.eng.Token(); t != "" {
		_ = browser.StorageSet(tokenKey, t)
	}
	s.phase = phaseHome
	s.refresh(ctx)
	s.loadLogs(ctx, 1)
	if s.join.code != "" {
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
	s.page.info = "You are signed out."
}

// reset forgets the signed-in user.
func (s *session) reset() {
	s.stopRinging()
	s.phase = phaseSignedOut
	s.account.user = wire.User{}
	s.call.has, s.ring.has, s.page.busy = false, false, false
	s.logs.list, s.logs.page, s.logs.pages, s.logs.err = nil, 1, 0, ""
	s.dialForm.to = ""
	s.page.notice, s.page.info, s.page.conn = "", "", ""
	s.join.stage, s.join.users, s.join.err, s.join.errCode, s.join.field = joinName, nil, "", 0, ""
	s.join.subscribed, s.meet.link, s.meet.err = false, "", ""
	s.clearCall()
}

// loadLogs fetches a page of the call log.
func (s *session) loadLogs(ctx app.Context, page int) {
	if page < 1 {
		page = 1
	}
	s.logs.loading = true
	run(s, 15*time.Second, func(c context.Context) (wire.CallLogPage, error) {
		return s.eng.GetCallLogs(c, page)
	}, func(ctx app.Context, p wire.CallLogPage, err error) {
		s.logs.loading = false
		if err != nil {
			s.logs.err = "Your call history couldn't be loaded. " + humanError(actLogs, err, true)
			return
		}
		s.logs.err = ""
		s.logs.list, s.logs.page, s.logs.pages = p.CallLogs, page, p.TotalPages
		if s.logs.pages < 1 {
			s.logs.pages = 1
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
		if n == s.account.user.Username || n == s.account.user.JID {
			s.page.notice = "You can't call yourself. Enter someone else's username."
			return
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		s.page.notice = "Enter the username of the person to call."
		return
	}
	if len(names) > 7 {
		s.page.notice = "A call has at most 8 people: call up to 7 others."
		return
	}
	group := ""
	if len(names) > 1 {
		group = strings.TrimSpace(s.dialForm.group)
		if len(group) > 64 {
			s.page.notice = "A group name has at most 64 characters."
			return
		}
	}
	s.page.notice, s.page.info = "", ""
	s.clearCall()
	s.phase, s.out.names, s.out.video = phaseOutgoing, names, video
	run(s, 45*time.Second, func(c context.Context) (struct{}, error) {
		s.applyDevices(c)
		return struct{}{}, s.eng.MakeCall(c, video, names, group)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.out.names = nil
		if err != nil {
			s.clearCall()
			if s.phase == phaseOutgoing {
				s.phase = phaseHome
			}
			s.page.notice = humanError(actCall, err, browser.SecureContext())
			return
		}
		if _, ok := s.eng.CurrentCall(); !ok {
			// The call was over before the reply came back (declined, engaged...).
			s.call.has = true
			s.refresh(ctx)
			return
		}
		s.refresh(ctx)
	})
}

// answer, decline, hangUp, toggleMic and toggleCam are the call actions.
func (s *session) answer(ctx app.Context) {
	if s.ring.answering {
		return
	}
	s.ring.answering = true
	s.stopRinging()
	s.clearCall()
	run(s, 45*time.Second, func(c context.Context) (struct{}, error) {
		s.applyDevices(c)
		return struct{}{}, s.eng.AnswerCall(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		s.ring.answering = false
		if err != nil {
			s.page.notice = humanError(actAnswer, err, browser.SecureContext())
		}
		s.refresh(ctx)
	})
}

func (s *session) decline(ctx app.Context) {
	s.stopRinging()
	s.ring.has = false
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.DeclineCall(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil && code(err) != wire.CodeNotFound {
			s.page.notice = humanError(actDecline, err, true)
		}
		s.refresh(ctx)
		if s.phase == phaseHome {
			s.loadLogs(ctx, 1)
		}
	})
}

func (s *session) hangUp(ctx app.Context) {
	if s.phase == phaseOutgoing && !s.call.has && s.out.names != nil {
		// Still waiting for the server: end as soon as the call exists.
		s.page.info = "Cancelling…"
	}
	run(s, 15*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.EndCall(c)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil && code(err) != wire.CodeNotFound && code(err) != wire.CodeNotInCall {
			s.page.notice = humanError(actEnd, err, true)
		}
		s.refresh(ctx)
		if _, ok := s.eng.CurrentCall(); !ok && (s.phase == phaseOutgoing || s.phase == phaseInCall) {
			s.endCall(ctx)
		}
	})
}

func (s *session) toggleMic(ctx app.Context) {
	want := !s.media.localAudio
	run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.MuteAudio(c, want)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil {
			s.page.notice = humanError(actMute, err, browser.SecureContext())
			return
		}
		s.media.localAudio = want
	})
}

func (s *session) toggleCam(ctx app.Context) {
	want := !s.media.localVideo
	run(s, 10*time.Second, func(c context.Context) (struct{}, error) {
		return struct{}{}, s.eng.MuteVideo(c, want)
	}, func(ctx app.Context, _ struct{}, err error) {
		if err != nil {
			s.page.notice = humanError(actMute, err, browser.SecureContext())
			return
		}
		s.media.localVideo = want
	})
}

// enableNotifications asks for notification permission (from a click).
func (s *session) enableNotifications(ctx app.Context) {
	run(s, 2*time.Minute, func(context.Context) (string, error) {
		return browser.RequestNotificationPermission()
	}, func(_ app.Context, perm string, _ error) {
		s.settings.notifPerm = perm
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
		if s.ring.has {
			s.ring.name = s.displayName(ev.UserJID)
			s.ring.kind = ev.CallType
			s.notify(ctx, ev)
		}
	case EventStatus:
		switch ev.Reason {
		case wire.ReasonAnsweredElsewhere:
			s.page.info = "You answered that call on another device."
		case wire.ReasonDeclinedElsewhere:
			s.page.info = "You declined that call on another device."
		}
		if !ev.LocalUser && ev.UserJID != "" && ev.UserJID != s.account.user.JID {
			s.call.lastRemote[ev.UserJID] = ev.Status
			if wire.Joined(ev.Status) {
				s.call.everJoined = true
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
			delete(s.media.tracks, key)
		} else {
			s.media.tracks[key] = ev.Track
		}
		if ev.TrackType == "video" && s.phase == phaseInCall {
			s.refresh(ctx) // a switch to video changes the call's type
		}
	case EventMute:
		if ev.LocalUser || ev.UserJID == s.account.user.JID {
			if ev.TrackType == "audio" {
				s.media.localAudio = ev.Muted
			} else {
				s.media.localVideo = ev.Muted
			}
			return
		}
		s.media.mutes[ev.UserJID+":"+ev.TrackType] = ev.Muted
	case EventMissed:
		s.refresh(ctx)
		name := ev.DisplayName
		if name == "" {
			name = s.displayName(ev.UserJID)
		}
		s.page.info = "Missed " + kindWord(ev.CallType) + " call from " + name + "."
		if s.phase == phaseHome {
			s.loadLogs(ctx, 1)
		}
	case EventMediaError:
		if s.phase == phaseJoin {
			return // SubscribeCall's error says it on the join page
		}
		s.page.notice = mediaErrorSentence(ev.Code, ev.Device, browser.SecureContext())
	case EventUsers:
		s.onUsers(ev)
	case EventUserJoined, EventUserLeft:
		if ev.DisplayName != "" && ev.UserJID != "" {
			s.names[ev.UserJID] = ev.DisplayName
		}
		if ev.Kind == EventUserLeft {
			delete(s.media.speaking, ev.UserJID)
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
			s.media.speaking[ev.UserJID] = ev.Speaking
		}
	case EventConnection:
		switch ev.Status {
		case "CONNECTED":
			s.page.conn = ""
		case "AUTHFAIL":
			browser.StorageRemove(tokenKey)
			if s.phase != phaseSignedOut {
				s.reset()
				s.page.notice = "Your session has ended. Sign in again."
			}
		default:
			if s.phase != phaseSignedOut && s.phase != phaseLoading {
				s.page.conn = ev.Status
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
		if !s.ring.has || s.ring.call.RoomID != inc.RoomID {
			s.ring.name, s.ring.kind = "", inc.Type
		}
		s.ring.call, s.ring.has = inc, true
		for _, p := range inc.Participants {
			if p.DisplayName != "" {
				s.names[p.JID] = p.DisplayName
			}
		}
		if s.ring.name == "" {
			s.ring.name = s.displayName(inc.Initiator)
		}
		if s.ring.kind == "" {
			s.ring.kind = inc.Type
		}
		if s.ring.stop == nil {
			s.ring.stop = browser.StartRingtone()
		}
	} else {
		s.ring.has = false
		s.stopRinging()
	}

	c, ok := s.eng.CurrentCall()
	if ok && c.State == wire.CallStateEnded {
		ok = false
	}
	if !ok {
		if s.call.has && (s.phase == phaseOutgoing || s.phase == phaseInCall) {
			s.endCall(ctx)
		}
		s.call.has = false
		return
	}
	s.call.snap, s.call.has = c, true
	joined := false
	for _, p := range c.Participants {
		if p.DisplayName != "" {
			s.names[p.JID] = p.DisplayName
		}
		if p.JID == s.account.user.JID {
			continue
		}
		s.call.lastRemote[p.JID] = p.Status
		if wire.Joined(p.Status) {
			joined = true
		}
	}
	if joined || c.State == wire.CallStateActive {
		s.call.everJoined = true
		if s.phase != phaseInCall {
			s.phase = phaseInCall
			s.call.connectedAt = time.Now()
			s.page.notice, s.page.info = "", ""
		}
		return
	}
	if c.Initiator == s.account.user.JID && !c.Meet && !s.call.viaLink {
		s.phase = phaseOutgoing
	} else if s.phase != phaseInCall {
		s.phase = phaseInCall
		s.call.connectedAt = time.Now()
	}
}

// endCall shows "Call ended" for a moment, then goes home.
func (s *session) endCall(ctx app.Context) {
	s.ended.text = s.endedSentence()
	s.clearCall()
	s.phase = phaseEnded
	s.ended.gen++
	if s.account.user.Guest {
		return // a guest has no home: the ended screen offers to rejoin
	}
	gen := s.ended.gen
	s.loadLogs(ctx, 1)
	wait := s.ended.wait
	go func() {
		time.Sleep(wait)
		s.dispatch(func(ctx app.Context) {
			if s.ended.gen == gen && s.phase == phaseEnded {
				s.phase = phaseHome
				if s.join.code != "" {
					s.join.code = ""
					ctx.Navigate("/")
				}
			}
		})
	}()
}

// endedSentence says how the call ended, from the last remote statuses.
func (s *session) endedSentence() string {
	if s.call.everJoined {
		if !s.call.connectedAt.IsZero() {
			return "Call ended · " + clock(time.Since(s.call.connectedAt))
		}
		return "Call ended"
	}
	var who []string
	var status string
	for jid, st := range s.call.lastRemote {
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
	s.call = callState{lastRemote: map[string]string{}}
	s.out.names = nil
	s.media = newMediaState()
	s.note = noteState{gen: s.note.gen + 1} // drops pending note timers
	s.sw, s.inviteForm, s.chat = switchState{}, inviteState{}, chatState{}
}

func (s *session) stopRinging() {
	if s.ring.stop != nil {
		s.ring.stop()
		s.ring.stop = nil
	}
}

// notify shows a system notification for an incoming call while the tab is
// hidden.
func (s *session) notify(ctx app.Context, ev Event) {
	title := "Incoming " + kindWord(ev.CallType) + " call"
	body := s.ring.name + " is calling you on Parley."
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
	if m, ok := s.media.mutes[p.JID+":"+kind]; ok {
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
	for _, p := range s.call.snap.Participants {
		if p.JID != s.account.user.JID {
			out = append(out, p)
		}
	}
	return out
}

// syncMedia attaches the current tracks to the rendered media elements.
func (s *session) syncMedia() {
	if s.phase == phaseJoin {
		browser.AttachTrack("preview-video", s.media.tracks["local:video"], true)
		return
	}
	if s.phase != phaseInCall {
		return
	}
	for _, p := range s.remotes() {
		id := elemID(p.JID)
		browser.AttachTrack("video-"+id, s.media.tracks[p.JID+":video"], true)
		browser.AttachTrack("audio-"+id, s.media.tracks[p.JID+":audio"], false)
	}
	browser.AttachTrack("self-view", s.media.tracks["local:video"], true)
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

// newMediaState is the media state of a page without a call.
func newMediaState() mediaState {
	return mediaState{tracks: map[string]any{}, mutes: map[string]bool{}, speaking: map[string]bool{}}
}
