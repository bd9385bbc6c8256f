//go:build js && wasm

// Command app is the Parley PWA, built with GOOS=js GOARCH=wasm into
// web/app.wasm. It creates the page's one call engine, connected to the
// origin that served the page, and hands it to the UI.
package main

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/browser"
	"parley/app/call"
	"parley/app/ui"
)

func main() {
	eng := call.New(call.Config{ServerURL: browser.Origin()})
	ui.Routes(ui.NewCallEngine(eng))
	app.RunWhenOnBrowser()
}
