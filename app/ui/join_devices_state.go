package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
)

// The join preview's microphone and camera pickers; their view is
// Join.renderDevices in join.go.

// joinDevices is the state of the join preview's microphone and camera
// pickers. A choice is saved under the settings screen's localStorage keys and
// switches the preview at once: the engine takes the devices (SetDevices) and
// the preview is opened again with them (SubscribeCall replaces the previous
// subscription), because the engine only swaps the tracks of a call, not of
// a preview. Join now then joins with the chosen devices.
type joinDevices struct {
	list      []browser.Device
	loading   bool
	loaded    bool
	mic, cam  string // chosen deviceIds ("" = system default)
	video     bool   // the preview showed a camera: a video call
	switching bool   // the preview is being reopened with new devices
	pending   bool   // another choice came while switching
	msg       string // what the last choice did
	failed    bool   // msg is an error
}

func (c *Join) followStage(ctx app.Context) {
	d := &c.dev
	if c.Stage != joinPreview && c.Stage != joinJoining {
		if !d.switching {
			*d = joinDevices{}
		}
		return
	}
	if c.HasVideo {
		d.video = true
	}
	if d.loaded || d.loading || c.S == nil || c.S.eng == nil {
		return
	}
	d.loading = true
	d.mic, _ = browser.StorageGet(browser.MicKey)
	d.cam, _ = browser.StorageGet(browser.CameraKey)
	ctx.Async(func() {
		ds, err := browser.ListDevices()
		browser.Post(func() {
			ctx.Dispatch(func(app.Context) {
				d.loading, d.loaded = false, true
				if err == nil {
					d.list = ds
				}
			})
		})
	})
}

// chooseDevice saves the microphone or camera chosen on the preview and
// switches the preview to it.
func (c *Join) chooseDevice(ctx app.Context, kind, id string) {
	d := &c.dev
	key, what, prev := browser.MicKey, "microphone", d.mic
	if kind == browser.KindCamera {
		key, what, prev = browser.CameraKey, "camera", d.cam
	}
	if id == prev {
		return
	}
	if kind == browser.KindCamera {
		d.cam = id
	} else {
		d.mic = id
	}
	var err error
	if id == "" {
		browser.StorageRemove(key)
	} else {
		err = browser.StorageSet(key, id)
	}
	d.failed = false
	d.msg = "Switching to this " + what + "…"
	if err != nil {
		d.msg = "Switching to this " + what + "… Your browser doesn't let Parley save it, so it lasts until you reload."
	}
	c.switchDevices(ctx, what, prev, kind)
}

// switchDevices reopens the preview with the chosen devices. A choice made
// meanwhile waits for the switch under way, then switches again.
func (c *Join) switchDevices(ctx app.Context, what, prev, kind string) {
	d := &c.dev
	s := c.S
	if s == nil || s.eng == nil || (s.join.stage != joinPreview && !d.switching) {
		return
	}
	if d.switching {
		d.pending = true
		return
	}
	d.switching, d.pending = true, false
	gen, code, name := s.join.gen, s.join.code, s.account.user.DisplayName
	mic, cam := d.mic, d.cam
	// The reopened preview's first list of users answers it afresh: an
	// empty one is a call nobody has joined yet, not a call that ended.
	s.join.seen = false
	ctx.Async(func() {
		c2, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		err := s.eng.SetDevices(c2, mic, cam)
		if err == nil {
			err = s.eng.SubscribeCall(c2, code, name)
		}
		cancel()
		browser.Post(func() {
			ctx.Dispatch(func(ctx app.Context) { c.switched(ctx, gen, what, prev, kind, err) })
		})
	})
}

// switched ends a device switch of the preview.
func (c *Join) switched(ctx app.Context, gen int, what, prev, kind string, err error) {
	d := &c.dev
	s := c.S
	d.switching = false
	if gen != s.join.gen || s.phase != phaseJoin {
		if err == nil {
			s.unsubscribe() // the page was left meanwhile
		}
		return
	}
	if err != nil {
		// Go back to the device that worked, so that Try again can work.
		key := browser.MicKey
		if kind == browser.KindCamera {
			key, d.cam = browser.CameraKey, prev
		} else {
			d.mic = prev
		}
		if prev == "" {
			browser.StorageRemove(key)
		} else {
			_ = browser.StorageSet(key, prev)
		}
		d.msg, d.failed = "Parley couldn't switch to that "+what+".", true
		s.failJoin(err)
		s.afterUpdate()
		return
	}
	s.join.subscribed = true
	d.msg = "Your preview uses this " + what + ". You join the call with it."
	if d.pending {
		c.switchDevices(ctx, what, prev, kind)
	}
	s.afterUpdate()
}
