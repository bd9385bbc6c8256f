package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
)

// enableNotifications asks for notification permission (from a click).
func (s *session) enableNotifications(ctx app.Context) {
	run(s, 2*time.Minute, func(context.Context) (string, error) {
		return browser.RequestNotificationPermission()
	}, func(_ app.Context, perm string, _ error) {
		s.settings.notifPerm = perm
	})
}

// settingsState is the state of the settings screen (/settings).
type settingsState struct {
	devices    []browser.Device
	loaded     bool
	loading    bool
	err        string
	mic        string // chosen device IDs ("" = system default)
	camera     string
	speaker    string
	speakerSet bool   // a speaker was chosen during this page's life
	saved      string // "Saved" sentence after a change
	savedGen   int
	notifPerm  string // the notification permission
	notifMsg   string // result of the test notification
	notifErr   bool
}

// openSettings loads the saved choices and the device list.
func (s *session) openSettings(ctx app.Context) {
	st := &s.settings
	st.mic, _ = browser.StorageGet(browser.MicKey)
	st.camera, _ = browser.StorageGet(browser.CameraKey)
	st.speaker, _ = browser.StorageGet(browser.SpeakerKey)
	st.saved, st.notifMsg = "", ""
	s.settings.notifPerm = browser.NotificationPermission()
}

// loadDevices lists the devices; withAccess first asks for the camera and
// microphone so that the list has names.
func (s *session) loadDevices(withAccess bool) {
	st := &s.settings
	if st.loading {
		return
	}
	st.loading, st.err = true, ""
	run(s, time.Minute, func(context.Context) ([]browser.Device, error) {
		if withAccess {
			if err := browser.RequestMediaAccess(); err != nil {
				return nil, err
			}
		}
		return browser.ListDevices()
	}, func(ctx app.Context, ds []browser.Device, err error) {
		st.loading = false
		if err != nil {
			if withAccess {
				st.err = "Parley isn't allowed to use your camera or microphone, so it can't show their names. " + howToAllow
			} else {
				st.err = "Your browser doesn't let Parley list your devices."
			}
			return
		}
		st.devices, st.loaded = ds, true
	})
}

// chooseDevice saves the device chosen for kind.
func (s *session) chooseDevice(kind, id string) {
	st := &s.settings
	key, what := browser.MicKey, "microphone"
	switch kind {
	case browser.KindMic:
		st.mic = id
	case browser.KindCamera:
		key, what, st.camera = browser.CameraKey, "camera", id
	case browser.KindSpeaker:
		key, what, st.speaker, st.speakerSet = browser.SpeakerKey, "speaker", id, true
	}
	var err error
	if id == "" {
		browser.StorageRemove(key)
	} else {
		err = browser.StorageSet(key, id)
	}
	inCall := s.phase == phaseInCall
	switch {
	case err != nil:
		s.sayDevice("Your browser doesn't let Parley save settings, so this choice lasts until you reload.")
	case kind == browser.KindSpeaker:
		s.sayDevice("Saved. Calls play on this " + what + ".")
		browser.SetSpeaker(".tile audio", id)
	case inCall:
		s.sayDevice("Switching to this " + what + "…")
	default:
		s.sayDevice("Saved. Your next call uses this " + what + ".")
	}
	if inCall && kind != browser.KindSpeaker && s.eng != nil {
		mic, cam := st.mic, st.camera
		run(s, 20*time.Second, func(c context.Context) (struct{}, error) {
			return struct{}{}, s.eng.SetDevices(c, mic, cam)
		}, func(_ app.Context, _ struct{}, err error) {
			if err != nil {
				s.sayDevice("Parley couldn't switch to that " + what + ". " + humanError(actMute, err, browser.SecureContext()))
				return
			}
			s.sayDevice("Saved. This call now uses this " + what + ".")
		})
	}
}

// sayDevice shows msg under the device choices for deviceNoteFor, counted
// from when it shows: a switch that took seconds still gets its full time.
func (s *session) sayDevice(msg string) {
	st := &s.settings
	st.saved = msg
	st.savedGen++
	gen := st.savedGen
	s.later(deviceNoteFor, func(app.Context) {
		if st.savedGen == gen {
			st.saved = ""
		}
	})
}

// deviceNoteFor is how long the note under the device choices stays.
const deviceNoteFor = 5 * time.Second

// testNotification shows a notification now, to check that they work.
func (s *session) testNotification() {
	st := &s.settings
	st.notifMsg, st.notifErr = "", false
	run(s, 20*time.Second, func(context.Context) (struct{}, error) {
		return struct{}{}, browser.ShowNotification(browser.Notification{Title: "Parley test notification",
			Body: "Notifications work: you will see incoming calls here.", Icon: "/web/icon-192.png",
			Tag: "parley-test", ForceShow: true})
	}, func(_ app.Context, _ struct{}, err error) {
		if err != nil {
			st.notifErr = true
			st.notifMsg = "The notification couldn't be shown: allow notifications for this site in your browser's settings."
			return
		}
		st.notifMsg = "Sent. If you don't see it, check your system's notification settings."
	})
}
