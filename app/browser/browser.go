// Package browser adapts the Web APIs the Parley PWA and the JS SDK need:
// notifications (through the service worker when there is one), localStorage,
// attaching MediaStreamTracks to <video>/<audio> elements, a synthesised
// ringtone, focus and the clipboard.
//
// The browser implementation lives in *_js.go files (GOOS=js GOARCH=wasm); the
// *_other.go twins let native builds, `go vet` and tests see the package: there
// the functions do nothing and report ErrUnsupported where a result matters.
//
// Functions that wait on a JavaScript promise (ShowNotification,
// RequestNotificationPermission, CopyText) block the calling goroutine: never
// call them from inside a js.FuncOf callback; call them from a goroutine.
package browser

import "errors"

// Notification describes a notification for ShowNotification.
type Notification struct {
	// Title is the notification's title; required.
	Title string `json:"title"`
	// Body is the text under the title.
	Body string `json:"body,omitempty"`
	// Icon is an image URL, e.g. "/web/icon-192.png".
	Icon string `json:"icon,omitempty"`
	// Tag groups notifications: a new one with the same tag replaces the old.
	Tag string `json:"tag,omitempty"`
	// ForceShow shows the notification even when the page is visible. By
	// default a notification is only shown while the document is hidden.
	ForceShow bool `json:"forceShow,omitempty"`
}

// Notification permission states, as Notification.permission reports them.
const (
	PermissionGranted = "granted"
	PermissionDenied  = "denied"
	PermissionDefault = "default"
	// PermissionUnsupported is reported when the browser has no Notification API.
	PermissionUnsupported = "unsupported"
)

// Errors of ShowNotification and RequestNotificationPermission. Test them with
// errors.Is. ErrNotificationDenied and ErrNotificationNotGranted mean "not
// allowed" (the SDK reports 403); ErrUnsupported means the platform has no
// notifications (or this is not a browser build); a failure of the browser
// itself is returned as *NotificationError wrapping the JavaScript message.
var (
	// ErrNotificationDenied: the user blocked notifications for this site.
	ErrNotificationDenied = errors.New("browser: notification permission denied")
	// ErrNotificationNotGranted: permission was never asked; call
	// RequestNotificationPermission from a user gesture first.
	ErrNotificationNotGranted = errors.New("browser: notification permission not granted yet")
	// ErrUnsupported: the API is not available here.
	ErrUnsupported = errors.New("browser: not supported on this platform")
	// ErrNoTitle: ShowNotification needs a title.
	ErrNoTitle = errors.New("browser: a notification needs a title")
)

// NotificationError is a failure reported by the browser while showing a
// notification (the JavaScript exception's name and message).
type NotificationError struct {
	Name    string
	Message string
}

// Error implements error.
func (e *NotificationError) Error() string {
	return "browser: showing notification failed: " + e.Name + ": " + e.Message
}
