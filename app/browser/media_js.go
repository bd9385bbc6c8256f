//go:build js && wasm

package browser

import (
	"sync"
	"syscall/js"
	"time"
)

// jsValuer is what a browser track from package rtc implements.
type jsValuer interface{ JSValue() js.Value }

// AttachTrack shows track (a MediaStreamTrack holder with JSValue(), as the
// call engine hands it out) in the <video> or <audio> element with the given
// id, as srcObject = new MediaStream([track]), and starts playback. Attaching
// the track that is already attached does nothing, so it is cheap to call after
// every render. A nil track detaches. muted sets the element's muted property
// (self-view and video elements whose audio plays elsewhere).
func AttachTrack(elementID string, track any, muted bool) {
	el := js.Global().Get("document").Call("getElementById", elementID)
	if !el.Truthy() {
		return
	}
	if el.Get("muted").Bool() != muted {
		el.Set("muted", muted)
	}
	tv, ok := track.(jsValuer)
	if !ok || track == nil {
		if el.Get("srcObject").Truthy() {
			el.Set("srcObject", js.Null())
		}
		return
	}
	t := tv.JSValue()
	if cur := el.Get("srcObject"); cur.Truthy() {
		tracks := cur.Call("getTracks")
		if tracks.Length() == 1 && tracks.Index(0).Equal(t) {
			if el.Get("paused").Bool() {
				play(el)
			}
			return
		}
	}
	stream := js.Global().Get("MediaStream").New(js.ValueOf([]any{t}))
	el.Set("srcObject", stream)
	play(el)
}

// play starts playback and ignores an autoplay rejection (the element's
// autoplay attribute starts it once the page may play). The one callback
// handles both outcomes of the promise and releases itself.
func play(el js.Value) {
	p := el.Call("play")
	if p.Truthy() && p.Get("then").Truthy() {
		var f js.Func
		f = js.FuncOf(func(js.Value, []js.Value) any {
			f.Release()
			return nil
		})
		p.Call("then", f, f)
	}
}

// Focus moves keyboard focus to the element with the given id.
func Focus(elementID string) {
	el := js.Global().Get("document").Call("getElementById", elementID)
	if el.Truthy() {
		el.Call("focus")
	}
}

// SecureContext reports whether the page may use the camera, the microphone
// and the clipboard (https or localhost).
func SecureContext() bool {
	return js.Global().Get("isSecureContext").Bool()
}

// Origin returns the page's origin, e.g. "http://192.168.1.2:8080".
func Origin() string {
	return js.Global().Get("location").Get("origin").String()
}

// CopyText puts text on the clipboard, with navigator.clipboard when the page
// is a secure context and a hidden textarea with execCommand("copy")
// otherwise. It blocks until done: call it from a goroutine.
func CopyText(text string) error {
	nav := js.Global().Get("navigator")
	if cb := nav.Get("clipboard"); cb.Truthy() && SecureContext() {
		if _, err := await(cb.Call("writeText", text)); err == nil {
			return nil
		}
	}
	doc := js.Global().Get("document")
	var ok bool
	err := catch(func() {
		ta := doc.Call("createElement", "textarea")
		ta.Set("value", text)
		ta.Call("setAttribute", "readonly", "")
		ta.Get("style").Set("position", "fixed")
		ta.Get("style").Set("opacity", "0")
		doc.Get("body").Call("appendChild", ta)
		ta.Call("select")
		ok = doc.Call("execCommand", "copy").Bool()
		ta.Call("remove")
	})
	if err != nil {
		return err
	}
	if !ok {
		return ErrUnsupported
	}
	return nil
}

// StartRingtone plays a ringtone synthesised with Web Audio (two soft notes
// every two seconds, no audio files) until the returned stop is called. stop
// may be called more than once.
func StartRingtone() (stop func()) {
	ctor := js.Global().Get("AudioContext")
	if !ctor.Truthy() {
		ctor = js.Global().Get("webkitAudioContext")
	}
	if !ctor.Truthy() {
		return func() {}
	}
	var ac js.Value
	if catch(func() { ac = ctor.New() }) != nil {
		return func() {}
	}
	// resume() is refused without a user gesture and rejects when the
	// context closes first: both are expected, so swallow the rejection.
	ignore := js.FuncOf(func(js.Value, []js.Value) any { return nil })
	if ac.Get("state").String() == "suspended" {
		_ = catch(func() { ac.Call("resume").Call("catch", ignore) })
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			ring(ac)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			_ = catch(func() { ac.Call("close").Call("catch", ignore) })
			// The rejection handler may still run after close; release it later.
			time.AfterFunc(5*time.Second, ignore.Release)
		})
	}
}

// ring schedules one two-note chime on the audio clock.
func ring(ac js.Value) {
	_ = catch(func() {
		now := ac.Get("currentTime").Float()
		for i, freq := range []float64{880, 660} {
			start := now + float64(i)*0.35
			osc := ac.Call("createOscillator")
			gain := ac.Call("createGain")
			osc.Set("type", "sine")
			osc.Get("frequency").Set("value", freq)
			g := gain.Get("gain")
			g.Call("setValueAtTime", 0.0001, start)
			g.Call("exponentialRampToValueAtTime", 0.25, start+0.03)
			g.Call("exponentialRampToValueAtTime", 0.0001, start+0.32)
			osc.Call("connect", gain)
			gain.Call("connect", ac.Get("destination"))
			osc.Call("start", start)
			osc.Call("stop", start+0.34)
		}
	})
}

// Post runs f soon from a JavaScript timer callback (setTimeout 0) instead of
// the calling goroutine. Hand-offs from background goroutines to go-app's UI
// loop go through it: a wake-up that comes from a goroutine resumed by another
// goroutine (not by a browser event) may leave the Go scheduler idle without a
// pending JavaScript timer, so go-app's next frame would only run at the next
// browser event. f runs inside a js callback: it must not block.
func Post(f func()) {
	var cb js.Func
	cb = js.FuncOf(func(js.Value, []js.Value) any {
		cb.Release()
		f()
		return nil
	})
	js.Global().Call("setTimeout", cb, 0)
}
