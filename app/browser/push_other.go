//go:build !(js && wasm)

package browser

// PushSubscribe returns ErrUnsupported outside a browser.
func PushSubscribe(publicKey string) (string, error) { return "", ErrUnsupported }

// PushUnsubscribe returns ErrUnsupported outside a browser.
func PushUnsubscribe() error { return ErrUnsupported }

// TellWorker returns ErrUnsupported outside a browser.
func TellWorker(msg map[string]string) error { return ErrUnsupported }

// OnVisibilityChange does nothing outside a browser.
func OnVisibilityChange(f func(hidden bool)) (release func()) { return func() {} }

// PageStarted does nothing outside a browser.
func PageStarted() {}

// OnPushOpen does nothing outside a browser.
func OnPushOpen(f func(roomID, action string)) {}
