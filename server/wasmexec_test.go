package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWasmExecMatchesToolchain guards the pitfall of serving a wasm_exec.js
// from another Go version than the one that built the wasm: the top-level copy
// (served at /wasm_exec.js) must equal the toolchain's.
func TestWasmExecMatchesToolchain(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatalf("toolchain wasm_exec.js: %v", err)
	}
	got, err := os.ReadFile(filepath.Join("..", "wasm_exec.js"))
	if err != nil {
		t.Fatalf("repository wasm_exec.js: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("wasm_exec.js differs from $(go env GOROOT)/lib/wasm/wasm_exec.js: run `make wasm_exec.js`")
	}
	// The copy the server embeds, when built, must be the same file.
	if emb, err := os.ReadFile(filepath.Join("..", "web", "wasm_exec.js")); err == nil && !bytes.Equal(emb, want) {
		t.Fatal("web/wasm_exec.js is stale: run `make build`")
	}
}
