// Package web holds Parley's static files (icons, CSS) and the build outputs
// the Makefile puts here (app.wasm, sdk.wasm and their .br/.gz copies,
// wasm_exec.js, parley.js), embedded so that the server binary carries them.
package web

import "embed"

// Files is the content of web/. The pattern matches the committed icons, so
// it compiles even before the build outputs exist.
//
//go:embed *
var Files embed.FS
