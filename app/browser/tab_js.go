//go:build js && wasm

package browser

import "syscall/js"

// TabGet returns the sessionStorage value for key: this tab's own storage,
// which survives a reload and is not shared with other tabs. A browser that
// blocks storage reads as empty.
func TabGet(key string) (value string, ok bool) {
	defer func() {
		if recover() != nil {
			value, ok = "", false
		}
	}()
	ss := js.Global().Get("sessionStorage")
	if !ss.Truthy() {
		return "", false
	}
	v := ss.Call("getItem", key)
	if v.Type() != js.TypeString {
		return "", false
	}
	return v.String(), true
}

// TabSet stores value under key in sessionStorage. It returns ErrUnsupported
// when storage is blocked or full.
func TabSet(key, value string) (err error) {
	defer func() {
		if recover() != nil {
			err = ErrUnsupported
		}
	}()
	ss := js.Global().Get("sessionStorage")
	if !ss.Truthy() {
		return ErrUnsupported
	}
	ss.Call("setItem", key, value)
	return nil
}

// TabRemove deletes key from sessionStorage.
func TabRemove(key string) {
	defer func() { _ = recover() }()
	if ss := js.Global().Get("sessionStorage"); ss.Truthy() {
		ss.Call("removeItem", key)
	}
}

// OnPageHide calls f when the page is being left: reloaded, navigated away
// or closed (the window's pagehide event). f runs inside the event and must
// not block. The returned release removes the listener.
func OnPageHide(f func()) (release func()) {
	fn := js.FuncOf(func(js.Value, []js.Value) any {
		f()
		return nil
	})
	js.Global().Call("addEventListener", "pagehide", fn)
	return func() {
		js.Global().Call("removeEventListener", "pagehide", fn)
		fn.Release()
	}
}
