//go:build !(js && wasm)

package browser

// TabGet reports nothing stored outside a browser.
func TabGet(key string) (string, bool) { return "", false }

// TabSet returns ErrUnsupported outside a browser.
func TabSet(key, value string) error { return ErrUnsupported }

// TabRemove does nothing outside a browser.
func TabRemove(key string) {}

// OnPageHide does nothing outside a browser.
func OnPageHide(f func()) (release func()) { return func() {} }
