package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
	"parley/app/wire"
)

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

// noteState is a short sentence shown in the call for a few seconds.
type noteState struct {
	text string
	gen  int // bumps at every note, to drop stale timers
}

// hangUp ends the current call, or cancels the one being dialled (End and Cancel).
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

// toggleMic mutes or unmutes the microphone.
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

// toggleCam turns the camera off or on.
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

// onStatus handles callStatusListener: who is where in the current call.
func (s *session) onStatus(ctx app.Context, ev event.CallStatus) {
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
		if _, ok := s.eng.CurrentCall(); !ok || ev.Closed() || ev.LocalUser {
			s.endCall(ctx)
		}
	}
}

// onUserJoinedOrLeft handles callUserJoinedListener and callUserLeftListener.
func (s *session) onUserJoinedOrLeft(ev event.CallUserEvent, left bool) {
	s.learn(ev.UserJID, ev.DisplayName, ev.Guest)
	if left {
		delete(s.media.speaking, ev.UserJID)
	}
}

// refresh reads the engine's snapshots of the current and the incoming call
// and picks the screen.
func (s *session) refresh(ctx app.Context) {
	if s.eng == nil {
		return
	}
	s.refreshRing()
	s.refreshCall(ctx)
}

// refreshCall reads the engine's snapshot of the current call and picks the
// call screen (outgoing or in call), or ends the call.
func (s *session) refreshCall(ctx app.Context) {
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
		s.learn(p.JID, p.DisplayName, p.Guest)
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
			s.call.connectedAt = s.connectedSince()
			s.page.notice, s.page.info = "", ""
		}
		return
	}
	if c.Initiator == s.account.user.JID && !c.Meet && !s.call.viaLink {
		s.phase = phaseOutgoing
	} else if s.phase != phaseInCall {
		s.phase = phaseInCall
		s.call.connectedAt = s.connectedSince()
	}
}

// clearCall forgets everything about the current call.
func (s *session) clearCall() {
	s.call = callState{lastRemote: map[string]string{}}
	s.out.names = nil
	s.media = newMediaState()
	s.note = noteState{gen: s.note.gen + 1} // drops pending note timers
	s.sw, s.inviteForm, s.chat, s.knock = switchState{}, inviteState{}, chatState{}, knockState{}
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

// noteFor is how long a short in-call note ("Bob invited Carol") stays.
const noteFor = 6 * time.Second

// dialogOpen reports whether a modal dialog of the call screen is open.
func (s *session) dialogOpen() bool {
	return s.sw.state == switchAsked || s.sw.infoOpen || s.inviteForm.open || s.call.helpOpen || s.call.audioOpen
}

// openAudio opens the speaker dialog of the call.
func (s *session) openAudio(ctx app.Context) {
	st := &s.settings
	st.mic, _ = browser.StorageGet(browser.MicKey)
	st.camera, _ = browser.StorageGet(browser.CameraKey)
	st.speaker, _ = browser.StorageGet(browser.SpeakerKey)
	st.saved = ""
	s.call.audioOpen = true
	s.loadDevices(false)
	s.deferFocus(ctx, "mic-select")
}

// setNote shows a short sentence in the call for a few seconds.
func (s *session) setNote(text string) {
	s.note.text = text
	s.note.gen++
	gen := s.note.gen
	s.later(noteFor, func(app.Context) {
		if s.note.gen == gen {
			s.note.text = ""
		}
	})
}

// groupCall reports whether the current call is a group call (no video switch).
func (s *session) groupCall() bool {
	return s.call.snap.Mode == wire.ModeOneToMany || len(s.remotes()) > 1
}

// showCallLink shows and copies the current call's link (in-call screen).
// In a one-to-one call this shares the link: until then it works for nobody.
func (s *session) showCallLink(ctx app.Context) {
	run(s, 10*time.Second, func(c context.Context) (string, error) {
		return s.eng.CallLink(c)
	}, func(ctx app.Context, link string, err error) {
		if err != nil {
			s.page.notice = "This call has no link to share. " + humanError(actLink, err, true)
			return
		}
		s.call.link, s.call.linkCopied = link, false
		run(s, 10*time.Second, func(context.Context) (struct{}, error) {
			return struct{}{}, browser.CopyText(link)
		}, func(ctx app.Context, _ struct{}, err error) {
			if s.call.link == link {
				s.call.linkCopied = err == nil
			}
		})
	})
}

// callVideo reports whether the current (or dialled) call is a video call.
func (s *session) callVideo() bool {
	if s.call.has {
		return s.call.snap.Type == wire.TypeVideo
	}
	return s.out.video
}
