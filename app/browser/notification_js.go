//go:build js && wasm

package browser

import (
	"syscall/js"
)

// ShowNotification shows a system notification, for example an incoming call
// while the tab is in the background. It is what the JS SDK's
// showCallNotification calls.
//
// Unless opts.ForceShow is set it shows nothing and returns nil while the
// document is visible (the page itself shows the call). When a service worker
// controls the page it uses navigator.serviceWorker.ready and
// registration.showNotification (the only way that works on Android and in an
// installed PWA); otherwise new Notification(...).
//
// Errors: ErrNoTitle; ErrUnsupported when the browser has no notifications;
// ErrNotificationDenied when the user blocked them and ErrNotificationNotGranted
// when permission was never asked (both mean 403 in the SDK); a
// *NotificationError when the browser failed to show it.
//
// It blocks until the browser has shown the notification: call it from a
// goroutine, never from a js.FuncOf callback.
func ShowNotification(opts Notification) error {
	if opts.Title == "" {
		return ErrNoTitle
	}
	notif := js.Global().Get("Notification")
	if notif.IsUndefined() {
		return ErrUnsupported
	}
	switch notif.Get("permission").String() {
	case PermissionGranted:
	case PermissionDenied:
		return ErrNotificationDenied
	default:
		return ErrNotificationNotGranted
	}
	if !opts.ForceShow && !DocumentHidden() {
		return nil
	}
	options := map[string]any{}
	if opts.Body != "" {
		options["body"] = opts.Body
	}
	if opts.Icon != "" {
		options["icon"] = opts.Icon
	}
	if opts.Tag != "" {
		options["tag"] = opts.Tag
		options["renotify"] = true
	}
	// go-app's service worker reads data.goapp.path on notificationclick:
	// clicking focuses the app's window.
	options["data"] = map[string]any{"goapp": map[string]any{"path": "/", "actions": []any{}}}

	sw := js.Global().Get("navigator").Get("serviceWorker")
	if sw.Truthy() && sw.Get("controller").Truthy() {
		reg, err := await(sw.Get("ready"))
		if err != nil {
			return err
		}
		_, err = await(reg.Call("showNotification", opts.Title, options))
		return err
	}
	return catch(func() { notif.New(opts.Title, options) })
}

// NotificationPermission returns "granted", "denied", "default" or
// "unsupported".
func NotificationPermission() string {
	notif := js.Global().Get("Notification")
	if notif.IsUndefined() {
		return PermissionUnsupported
	}
	return notif.Get("permission").String()
}

// RequestNotificationPermission asks the user to allow notifications and
// returns the resulting permission. Browsers only show the prompt in response
// to a user gesture (a click). It blocks until the user answers: call it from a
// goroutine. The error is ErrUnsupported or a *NotificationError.
func RequestNotificationPermission() (string, error) {
	notif := js.Global().Get("Notification")
	if notif.IsUndefined() {
		return PermissionUnsupported, ErrUnsupported
	}
	v, err := await(notif.Call("requestPermission"))
	if err != nil {
		return NotificationPermission(), err
	}
	return v.String(), nil
}

// DocumentHidden reports whether the page is in a background tab or minimised.
func DocumentHidden() bool {
	return js.Global().Get("document").Get("hidden").Bool()
}

// await waits for a promise; the js callbacks only hand the result over to
// this goroutine and never block.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	onOK := js.FuncOf(func(_ js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		done <- result{v: v}
		return nil
	})
	defer onOK.Release()
	onErr := js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := &NotificationError{Name: "Error", Message: "unknown error"}
		if len(args) > 0 {
			e = jsError(args[0])
		}
		done <- result{err: e}
		return nil
	})
	defer onErr.Release()
	p.Call("then", onOK, onErr)
	r := <-done
	return r.v, r.err
}

// catch runs f and turns a thrown JavaScript exception into a *NotificationError.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = jsError(je.Value)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

func jsError(v js.Value) *NotificationError {
	e := &NotificationError{Name: "Error", Message: v.String()}
	if v.Type() == js.TypeObject {
		if n := v.Get("name"); n.Type() == js.TypeString {
			e.Name = n.String()
		}
		if m := v.Get("message"); m.Type() == js.TypeString {
			e.Message = m.String()
		}
	}
	return e
}
