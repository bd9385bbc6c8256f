package ui

import (
	"context"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call/event"
)

// Media of the current call and of the join preview: tracks, mute states,
// voice activity, and the media elements they are attached to.

// mediaState is the media of the current call or of the join preview.
type mediaState struct {
	tracks     map[string]any  // "local:video", "<jid>:audio", ...
	mutes      map[string]bool // "<jid>:audio" -> muted
	localAudio bool            // local microphone muted
	localVideo bool            // local camera muted
	speaking   map[string]bool // JID -> speaking now

	// quality is the line to each other participant, by JID (quality_state.go).
	quality map[string]event.CallQuality
}

// onTrack handles userTrackListener: a track to attach, or one gone.
func (s *session) onTrack(ctx app.Context, ev event.UserTrack) {
	key := ev.UserJID + ":" + ev.TrackType
	if ev.LocalUser {
		key = "local:" + ev.TrackType
	}
	if ev.Track == nil {
		delete(s.media.tracks, key)
	} else {
		s.media.tracks[key] = ev.Track
	}
	if (ev.TrackType == "video" || ev.TrackType == "screen") && s.phase == phaseInCall {
		s.refresh(ctx) // a switch to video changes the call's type
	}
}

// onMute handles muteStatusListener.
func (s *session) onMute(ev event.MuteStatus) {
	if ev.LocalUser || ev.UserJID == s.account.user.JID {
		if ev.TrackType == "audio" {
			s.media.localAudio = ev.IsMuted
		} else {
			s.media.localVideo = ev.IsMuted
		}
		return
	}
	s.media.mutes[ev.UserJID+":"+ev.TrackType] = ev.IsMuted
}

// onSpeaking handles callSpeakingListener.
func (s *session) onSpeaking(ev event.Speaking) {
	if !ev.LocalUser {
		s.media.speaking[ev.UserJID] = ev.IsSpeaking
	}
}

// onMediaError handles mediaErrorListener.
func (s *session) onMediaError(ev event.MediaError) {
	if s.phase == phaseJoin || ev.Device == "screen" {
		return // SubscribeCall's error says it on the join page; toggleScreen's in a note
	}
	s.page.notice = mediaErrorSentence(ev.StatusCode, ev.Device, browser.SecureContext())
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
	if sh := s.sharer(); sh != "" && !s.presenting() {
		browser.AttachTrack("screen-view", s.media.tracks[sh+":screen"], true)
	}
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

// newMediaState is the media state of a page without a call.
func newMediaState() mediaState {
	m := mediaState{tracks: map[string]any{}, mutes: map[string]bool{}, speaking: map[string]bool{}}
	m.quality = map[string]event.CallQuality{}
	return m
}

// applyDevices hands the microphone and camera chosen on the settings screen
// to the engine before a call (on the request's goroutine: it may open
// devices). Failures show up as media errors when the call opens them.
func (s *session) applyDevices(c context.Context) {
	mic, _ := browser.StorageGet(browser.MicKey)
	cam, _ := browser.StorageGet(browser.CameraKey)
	_ = s.eng.SetDevices(c, mic, cam)
}

// dropLocalTracks forgets the local camera and microphone tracks.
func (s *session) dropLocalTracks() {
	delete(s.media.tracks, "local:audio")
	delete(s.media.tracks, "local:video")
}
