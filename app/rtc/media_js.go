//go:build js && wasm

package rtc

import (
	"errors"
	"fmt"
	"syscall/js"
)

// BrowserMedia opens the microphone and camera with getUserMedia.
type BrowserMedia struct {
	// AudioDevice and VideoDevice select devices by deviceId ("" = default).
	AudioDevice, VideoDevice string
}

// DefaultMedia is the platform's Media: getUserMedia in the browser.
func DefaultMedia() Media { return BrowserMedia{} }

// errDenied wraps every getUserMedia failure.
var errDenied = errors.New("denied")

func (b BrowserMedia) constraints(audio, video bool) js.Value {
	c := js.Global().Get("Object").New()
	c.Set("audio", b.kindConstraint(audio, b.AudioDevice, nil))
	c.Set("video", b.kindConstraint(video, b.VideoDevice, map[string]any{
		"width": map[string]any{"ideal": 640}, "height": map[string]any{"ideal": 480},
	}))
	return c
}

func (BrowserMedia) kindConstraint(on bool, device string, extra map[string]any) any {
	if !on {
		return false
	}
	m := map[string]any{}
	for k, v := range extra {
		m[k] = v
	}
	if device != "" {
		m["deviceId"] = map[string]any{"exact": device}
	}
	return m
}

func (b BrowserMedia) getUserMedia(audio, video bool) (js.Value, error) {
	md := js.Global().Get("navigator").Get("mediaDevices")
	if md.IsUndefined() || md.Get("getUserMedia").IsUndefined() {
		return js.Value{}, fmt.Errorf("media devices are not available (the page needs https or localhost): %w", errDenied)
	}
	v, err := Await(md.Call("getUserMedia", b.constraints(audio, video)))
	if err != nil {
		return js.Value{}, fmt.Errorf("getUserMedia: %v: %w", err, errDenied)
	}
	return v, nil
}

// Granted implements Permissions with the Permissions API: both devices
// allowed for this site already. A browser that does not name them
// ("camera" and "microphone" are not standard everywhere) cannot tell.
func (BrowserMedia) Granted(video bool) bool {
	perms := js.Global().Get("navigator").Get("permissions")
	if perms.IsUndefined() || perms.IsNull() {
		return false
	}
	names := []string{"microphone"}
	if video {
		names = append(names, "camera")
	}
	for _, name := range names {
		q := js.Global().Get("Object").New()
		q.Set("name", name)
		status, err := awaitQuery(perms, q)
		if err != nil || status.Get("state").String() != "granted" {
			return false
		}
	}
	return true
}

// awaitQuery runs navigator.permissions.query(q), which throws (rather than
// rejects) for a name the browser does not know.
func awaitQuery(perms, q js.Value) (status js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("permissions.query: %v", r)
		}
	}()
	return Await(perms.Call("query", q))
}

// Open implements Media.
func (b BrowserMedia) Open(video bool) (*LocalMedia, error) {
	stream, err := b.getUserMedia(true, video)
	if err != nil {
		if !video {
			return nil, ErrMicDenied
		}
		// Find out which device was refused, so the user is told the right thing.
		if s, err := b.getUserMedia(true, false); err == nil {
			stopStream(s)
			return nil, ErrCameraDenied
		}
		if s, err := b.getUserMedia(false, true); err == nil {
			stopStream(s)
			return nil, ErrMicDenied
		}
		return nil, ErrBothDenied
	}
	m := &LocalMedia{}
	if a := stream.Call("getAudioTracks"); a.Length() > 0 {
		m.audio = &LocalTrack{v: a.Index(0)}
	}
	if v := stream.Call("getVideoTracks"); v.Length() > 0 {
		m.video = &LocalTrack{v: v.Index(0)}
	}
	return m, nil
}

// OpenVideo implements Media.
func (b BrowserMedia) OpenVideo(m *LocalMedia) (Track, error) {
	m.mu.Lock()
	if m.video != nil {
		defer m.mu.Unlock()
		return m.video, nil
	}
	m.mu.Unlock()
	stream, err := b.getUserMedia(false, true)
	if err != nil {
		return nil, ErrCameraDenied
	}
	v := stream.Call("getVideoTracks")
	if v.Length() == 0 {
		return nil, ErrCameraDenied
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.video = &LocalTrack{v: v.Index(0)}
	return m.video, nil
}

// Replace implements Media.
func (b BrowserMedia) Replace(m *LocalMedia, kind, deviceID string) (Track, error) {
	if kind == KindVideo {
		b.VideoDevice = deviceID
	} else {
		b.AudioDevice = deviceID
	}
	stream, err := b.getUserMedia(kind == KindAudio, kind == KindVideo)
	if err != nil {
		if kind == KindVideo {
			return nil, ErrCameraDenied
		}
		return nil, ErrMicDenied
	}
	list := stream.Call("getAudioTracks")
	if kind == KindVideo {
		list = stream.Call("getVideoTracks")
	}
	if list.Length() == 0 {
		stopStream(stream)
		return nil, ErrMicDenied
	}
	t := &LocalTrack{v: list.Index(0)}
	m.swap(kind, t)
	return t, nil
}

// WithDevices implements Media.
func (b BrowserMedia) WithDevices(audioID, videoID string) Media {
	b.AudioDevice, b.VideoDevice = audioID, videoID
	return b
}

func stopStream(s js.Value) {
	tracks := s.Call("getTracks")
	for i := 0; i < tracks.Length(); i++ {
		tracks.Index(i).Call("stop")
	}
}

// LocalTrack is a local MediaStreamTrack. onEnded, when set, is the
// listener of its "ended" event (a shared screen's), released by end.
type LocalTrack struct {
	v       js.Value
	onEnded *js.Func
}

// Kind is KindAudio or KindVideo.
func (t *LocalTrack) Kind() string { return t.v.Get("kind").String() }

// ID identifies the track.
func (t *LocalTrack) ID() string { return t.v.Get("id").String() }

// JSValue is the MediaStreamTrack.
func (t *LocalTrack) JSValue() js.Value { return t.v }

// setEnabled mutes or unmutes: a disabled track sends silence or black
// frames, so the peers need no renegotiation.
func (t *LocalTrack) setEnabled(on bool) { t.v.Set("enabled", on) }

func (t *LocalTrack) isEnabled() bool { return t.v.Get("enabled").Bool() }

// end stops the track, which releases the device (the camera light goes off).
func (t *LocalTrack) end() {
	if t.onEnded != nil {
		t.v.Call("removeEventListener", "ended", *t.onEnded)
		t.onEnded.Release()
		t.onEnded = nil
	}
	t.v.Call("stop")
}

// OpenScreen implements ScreenCapturer with getDisplayMedia: the browser
// asks the user what to share. The track is sent with content hint
// "detail" (text and lines stay sharp, at the cost of frame rate). ended
// runs when the user stops sharing from the browser's own controls.
func (b BrowserMedia) OpenScreen(m *LocalMedia, ended func()) (Track, error) {
	md := js.Global().Get("navigator").Get("mediaDevices")
	if md.IsUndefined() || md.Get("getDisplayMedia").IsUndefined() {
		return nil, fmt.Errorf("getDisplayMedia is not available: %w", ErrScreenDenied)
	}
	opts := js.Global().Get("Object").New()
	opts.Set("video", true)
	opts.Set("audio", false)
	stream, err := Await(md.Call("getDisplayMedia", opts))
	if err != nil {
		return nil, fmt.Errorf("getDisplayMedia: %v: %w", err, ErrScreenDenied)
	}
	list := stream.Call("getVideoTracks")
	if list.Length() == 0 {
		stopStream(stream)
		return nil, fmt.Errorf("getDisplayMedia gave no video: %w", ErrScreenDenied)
	}
	v := list.Index(0)
	v.Set("contentHint", "detail")
	f := js.FuncOf(func(this js.Value, args []js.Value) any {
		if ended != nil {
			go ended()
		}
		return nil
	})
	v.Call("addEventListener", "ended", f)
	t := &LocalTrack{v: v, onEnded: &f}
	m.setScreen(t)
	return t, nil
}

// Await waits for a JavaScript promise. It must not be called on the
// JavaScript event loop's goroutine (a js.FuncOf callback): start a goroutine.
func Await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(this js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	fail = js.FuncOf(func(this js.Value, args []js.Value) any {
		ch <- result{err: rejection(args)}
		return nil
	})
	p.Call("then", ok, fail)
	r := <-ch
	ok.Release()
	fail.Release()
	return r.v, r.err
}

// rejection is the error a promise was rejected with (its handler's args):
// "name: message" for a DOMException or Error, else the reason as a string.
func rejection(args []js.Value) error {
	if len(args) == 0 {
		return errors.New("promise rejected")
	}
	e := args[0]
	if n := e.Get("name"); n.Type() == js.TypeString {
		return errors.New(n.String() + ": " + e.Get("message").String())
	}
	return errors.New(js.Global().Get("String").Invoke(e).String())
}
