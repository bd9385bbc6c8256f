//go:build !(js && wasm)

package browser

// ShowNotification shows a system notification; see the browser build. Outside
// a browser it returns ErrUnsupported (ErrNoTitle without a title).
func ShowNotification(opts Notification) error {
	if opts.Title == "" {
		return ErrNoTitle
	}
	return ErrUnsupported
}

// NotificationPermission returns "unsupported" outside a browser.
func NotificationPermission() string { return PermissionUnsupported }

// RequestNotificationPermission returns "unsupported" and ErrUnsupported
// outside a browser.
func RequestNotificationPermission() (string, error) { return PermissionUnsupported, ErrUnsupported }

// DocumentHidden reports false outside a browser.
func DocumentHidden() bool { return false }
