//go:build js && wasm

package browser

import "syscall/js"

// ListDevices returns the cameras, microphones and speakers
// (navigator.mediaDevices.enumerateDevices). Labels are empty until the page
// has had camera or microphone permission (see RequestMediaAccess). It blocks
// on a promise: call it from a goroutine.
func ListDevices() ([]Device, error) {
	md := js.Global().Get("navigator").Get("mediaDevices")
	if !md.Truthy() || !md.Get("enumerateDevices").Truthy() {
		return nil, ErrUnsupported
	}
	v, err := await(md.Call("enumerateDevices"))
	if err != nil {
		return nil, err
	}
	var out []Device
	for i := 0; i < v.Length(); i++ {
		d := v.Index(i)
		out = append(out, Device{ID: d.Get("deviceId").String(), Kind: d.Get("kind").String(), Label: d.Get("label").String()})
	}
	return out, nil
}

// RequestMediaAccess asks for the microphone and the camera (getUserMedia)
// and releases them at once, so that ListDevices reports labels. It blocks on
// a promise: call it from a goroutine.
func RequestMediaAccess() error {
	md := js.Global().Get("navigator").Get("mediaDevices")
	if !md.Truthy() || !md.Get("getUserMedia").Truthy() {
		return ErrUnsupported
	}
	stream, err := await(md.Call("getUserMedia", map[string]any{"audio": true, "video": true}))
	if err != nil {
		// Perhaps there is no camera: try the microphone alone.
		stream, err = await(md.Call("getUserMedia", map[string]any{"audio": true}))
		if err != nil {
			return err
		}
	}
	tracks := stream.Call("getTracks")
	for i := 0; i < tracks.Length(); i++ {
		tracks.Index(i).Call("stop")
	}
	return nil
}

// CanChooseSpeaker reports whether media elements support setSinkId.
func CanChooseSpeaker() bool {
	return js.Global().Get("HTMLMediaElement").Get("prototype").Get("setSinkId").Truthy()
}

// SetSpeaker plays the audio of every element matching the CSS selector on
// the speaker deviceID ("" for the default) with HTMLMediaElement.setSinkId.
// Elements already on it are left alone, so it is cheap after every render.
// It does not wait for the browser.
func SetSpeaker(selector, deviceID string) {
	if !CanChooseSpeaker() {
		return
	}
	els := js.Global().Get("document").Call("querySelectorAll", selector)
	for i := 0; i < els.Length(); i++ {
		el := els.Index(i)
		if el.Get("sinkId").String() == deviceID {
			continue
		}
		_ = catch(func() {
			p := el.Call("setSinkId", deviceID)
			var f js.Func
			f = js.FuncOf(func(js.Value, []js.Value) any {
				f.Release()
				return nil
			})
			p.Call("catch", f)
		})
	}
}

// OnKeyDown calls f for every keydown on the document until release is
// called. f runs inside the browser's event callback: it must not block.
func OnKeyDown(f func(Key)) (release func()) {
	doc := js.Global().Get("document")
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 {
			return nil
		}
		e := args[0]
		k := Key{Key: e.Get("key").String()}
		k.Modified = e.Get("ctrlKey").Bool() || e.Get("altKey").Bool() || e.Get("metaKey").Bool()
		if t := e.Get("target"); t.Truthy() {
			tag := ""
			if tn := t.Get("tagName"); tn.Type() == js.TypeString {
				tag = tn.String()
			}
			k.Typing = tag == "INPUT" || tag == "TEXTAREA" || tag == "SELECT" || t.Get("isContentEditable").Truthy()
		}
		f(k)
		return nil
	})
	doc.Call("addEventListener", "keydown", cb)
	return func() {
		doc.Call("removeEventListener", "keydown", cb)
		cb.Release()
	}
}
