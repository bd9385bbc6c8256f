//go:build !(js && wasm)

// Command app is the Parley PWA; it only runs in a browser. Build it with
// GOOS=js GOARCH=wasm go build -o web/app.wasm ./app
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "app: the Parley PWA runs in a browser; build it with GOOS=js GOARCH=wasm go build -o web/app.wasm ./app")
	os.Exit(2)
}
