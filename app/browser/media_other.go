//go:build !(js && wasm)

package browser

// AttachTrack does nothing outside a browser.
func AttachTrack(elementID string, track any, muted bool) {}

// Focus does nothing outside a browser.
func Focus(elementID string) {}

// SecureContext reports true outside a browser.
func SecureContext() bool { return true }

// Origin returns "" outside a browser.
func Origin() string { return "" }

// CopyText returns ErrUnsupported outside a browser.
func CopyText(text string) error { return ErrUnsupported }

// StartRingtone does nothing outside a browser.
func StartRingtone() (stop func()) { return func() {} }

// Post runs f right away outside a browser (keeping the order of posts).
func Post(f func()) { f() }
