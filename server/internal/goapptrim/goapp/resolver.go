// Package app is Parley's one addition to go-app's package app in the PWA's
// browser build (see the goappoverlay command): the resolver of static
// resource locations that go-app's page start calls, which go-app keeps in
// resource.go, a file the overlay leaves out of that build with the rest of
// go-app's server side. It is its own package here so that it compiles and is
// tested natively.
package app

import "strings"

// clientResourceResolver returns the page's resolver of resource locations:
// a location in the app's web directory ("web", "/web", "web/…", "/web/…")
// is served from base (the static resources URL the server gives the page,
// "" for its own origin) without its "web/" part; any other location, a
// remote URL or another local path, is used as it is.
func clientResourceResolver(base string) func(string) string {
	return func(location string) string {
		if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
			return location
		}
		path := strings.TrimPrefix(location, "/")
		if path != "web" && !strings.HasPrefix(path, "web/") {
			return location
		}
		path = strings.Trim(path, "/")
		if inside, ok := strings.CutPrefix(path, "web/"); ok {
			path = inside
		}
		return base + "/" + path
	}
}
