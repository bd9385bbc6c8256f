//go:build js && wasm

package browser

import "syscall/js"

// StorageGet returns the localStorage value for key and whether it exists. A
// browser that blocks storage reads as empty.
func StorageGet(key string) (value string, ok bool) {
	defer func() {
		if recover() != nil {
			value, ok = "", false
		}
	}()
	ls := js.Global().Get("localStorage")
	if !ls.Truthy() {
		return "", false
	}
	v := ls.Call("getItem", key)
	if v.Type() != js.TypeString {
		return "", false
	}
	return v.String(), true
}

// StorageSet stores value under key in localStorage. It returns ErrUnsupported
// when storage is blocked or full.
func StorageSet(key, value string) (err error) {
	defer func() {
		if recover() != nil {
			err = ErrUnsupported
		}
	}()
	ls := js.Global().Get("localStorage")
	if !ls.Truthy() {
		return ErrUnsupported
	}
	ls.Call("setItem", key, value)
	return nil
}

// StorageRemove deletes key from localStorage.
func StorageRemove(key string) {
	defer func() { _ = recover() }()
	if ls := js.Global().Get("localStorage"); ls.Truthy() {
		ls.Call("removeItem", key)
	}
}
