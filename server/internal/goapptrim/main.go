// Command goapptrim prepares the build of the PWA's wasm with go-app's
// server side left out. go-app compiles its server side into the browser
// build too: its Handler (http.go) and resource providers (resource.go)
// import net/http, which brings crypto/tls, net and their package inits
// into the wasm, about 330 KB of the PWA's brotli bytes and 100–200 ms of
// its first start.
//
// It writes a copy of the go-app module the main module uses, in which those
// two files are server-only (a build constraint), the one browser stub that
// names the Handler type names no type of theirs, and the one function of
// resource.go that go-app's page start calls is Parley's own
// (goapp/resolver.go); and a workspace file that builds the main module with
// that copy. The Makefile builds web/app.wasm with GOWORK set to it; every
// other build, the server's included, uses go-app as it is. The copy is made
// from the module the build resolves, and the command fails when its files
// are not as it expects. The proper fix is a build constraint in go-app.
//
// Usage:
//
//	goapptrim DIR    writes DIR/go.work and DIR/go-app
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goapptrim DIR")
		os.Exit(2)
	}
	if _, err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "goapptrim:", err)
		os.Exit(1)
	}
}
