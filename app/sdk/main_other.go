//go:build !(js && wasm)

// Command sdk is the Parley JavaScript SDK; it only does something when built
// with GOOS=js GOARCH=wasm (see main_js.go).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "sdk: build with GOOS=js GOARCH=wasm")
	os.Exit(2)
}
