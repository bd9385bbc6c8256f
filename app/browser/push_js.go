//go:build js && wasm

package browser

import (
	"encoding/base64"
	"syscall/js"
)

// PushSubscribe subscribes this browser to Web Push through the page's
// service worker, with publicKey (base64url) as the applicationServerKey,
// and returns the subscription as JSON (PushSubscription.toJSON()). An
// existing subscription made with another key is dropped first. It blocks:
// call it from a goroutine. Errors: ErrUnsupported without service workers
// or push; a *NotificationError when the browser refuses (no permission,
// no push service reachable).
func PushSubscribe(publicKey string) (string, error) {
	reg, err := workerRegistration()
	if err != nil {
		return "", err
	}
	pm := reg.Get("pushManager")
	if !pm.Truthy() {
		return "", ErrUnsupported
	}
	if old, err := await(pm.Call("getSubscription")); err == nil && old.Truthy() {
		key := old.Get("options").Get("applicationServerKey")
		if !key.Truthy() || base64URL(key) != publicKey {
			_, _ = await(old.Call("unsubscribe"))
		}
	}
	sub, err := await(pm.Call("subscribe", map[string]any{"userVisibleOnly": true, "applicationServerKey": publicKey}))
	if err != nil {
		return "", err
	}
	return js.Global().Get("JSON").Call("stringify", sub).String(), nil
}

// PushUnsubscribe drops this browser's push subscription, if any.
func PushUnsubscribe() error {
	reg, err := workerRegistration()
	if err != nil {
		return err
	}
	pm := reg.Get("pushManager")
	if !pm.Truthy() {
		return ErrUnsupported
	}
	sub, err := await(pm.Call("getSubscription"))
	if err != nil || !sub.Truthy() {
		return err
	}
	_, err = await(sub.Call("unsubscribe"))
	return err
}

// TellWorker posts msg to the page's active service worker (for example
// {type: "parley.push.session", server, token}).
func TellWorker(msg map[string]string) error {
	reg, err := workerRegistration()
	if err != nil {
		return err
	}
	active := reg.Get("active")
	if !active.Truthy() {
		return ErrUnsupported
	}
	m := map[string]any{}
	for k, v := range msg {
		m[k] = v
	}
	return catch(func() { active.Call("postMessage", m) })
}

// workerRegistration waits for the page's service worker registration.
func workerRegistration() (js.Value, error) {
	sw := js.Global().Get("navigator").Get("serviceWorker")
	if !sw.Truthy() {
		return js.Value{}, ErrUnsupported
	}
	return await(sw.Get("ready"))
}

// base64URL encodes an ArrayBuffer as base64url without padding.
func base64URL(buf js.Value) string {
	u8 := js.Global().Get("Uint8Array").New(buf)
	b := make([]byte, u8.Length())
	js.CopyBytesToGo(b, u8)
	return base64.RawURLEncoding.EncodeToString(b)
}

// OnVisibilityChange calls f with document.hidden whenever the page is
// hidden or shown. f runs inside the event and must not block. The returned
// release removes the listener.
func OnVisibilityChange(f func(hidden bool)) (release func()) {
	doc := js.Global().Get("document")
	fn := js.FuncOf(func(js.Value, []js.Value) any {
		f(doc.Get("hidden").Bool())
		return nil
	})
	doc.Call("addEventListener", "visibilitychange", fn)
	return func() {
		doc.Call("removeEventListener", "visibilitychange", fn)
		fn.Release()
	}
}

// OnPushOpen calls f with the room and the action ("answer", or "open" for
// a notification clicked elsewhere) when the service worker asks this
// window to act on a call notification because it could not navigate it (a
// window it does not control, e.g. after a hard reload). f runs inside the
// event and must not block.
func OnPushOpen(f func(roomID, action string)) {
	sw := js.Global().Get("navigator").Get("serviceWorker")
	if sw.IsUndefined() {
		return
	}
	sw.Call("addEventListener", "message", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 {
			return nil
		}
		d := args[0].Get("data")
		if d.Type() != js.TypeObject || d.Get("type").String() != "parley.push.open" {
			return nil
		}
		room, action := d.Get("roomId"), d.Get("action")
		if room.Type() == js.TypeString && action.Type() == js.TypeString {
			f(room.String(), action.String())
		}
		return nil
	}))
}

// PageStarted tells this origin's service worker that the page is up: a
// worker installing for the first time fetches the big wasm into its cache
// only then (or after a timeout), not beside the page's own download and
// start (see the worker in server/web.go). It tells the registration's
// installing or waiting worker now, and answers a worker that asks later
// ("parley.pageStarted?"). Call it once, when the first screen is shown.
func PageStarted() {
	sw := js.Global().Get("navigator").Get("serviceWorker")
	if !sw.Truthy() {
		return
	}
	msg := map[string]any{"type": "parley.pageStarted"}
	// Both functions live as long as the page: never released.
	tell := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || !args[0].Truthy() {
			return nil
		}
		for _, k := range []string{"installing", "waiting"} {
			if w := args[0].Get(k); w.Truthy() {
				_ = catch(func() { w.Call("postMessage", msg) })
			}
		}
		return nil
	})
	_ = catch(func() { sw.Call("getRegistration").Call("then", tell) })
	sw.Call("addEventListener", "message", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 {
			return nil
		}
		d, src := args[0].Get("data"), args[0].Get("source")
		if d.Type() == js.TypeObject && d.Get("type").String() == "parley.pageStarted?" && src.Truthy() {
			_ = catch(func() { src.Call("postMessage", msg) })
		}
		return nil
	}))
}
