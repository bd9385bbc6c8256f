//go:build !(js && wasm)

package browser

// ListDevices returns ErrUnsupported outside a browser.
func ListDevices() ([]Device, error) { return nil, ErrUnsupported }

// RequestMediaAccess returns ErrUnsupported outside a browser.
func RequestMediaAccess() error { return ErrUnsupported }

// CanChooseSpeaker reports false outside a browser.
func CanChooseSpeaker() bool { return false }

// SetSpeaker does nothing outside a browser.
func SetSpeaker(selector, deviceID string) {}

// OnKeyDown does nothing outside a browser.
func OnKeyDown(f func(Key)) (release func()) { return func() {} }
