// Command wasmsize reports where a Go WebAssembly binary's bytes go: the size
// of its code by package, read from the function bodies and the names the Go
// linker writes into the wasm's "name" section (a build without -ldflags=-s),
// and the size of its data. `go tool nm` does not read wasm; this is the
// report issue 10 asks for, twiggy-style.
//
//	wasmsize [-n 30] [-fn] app.wasm            the largest packages (or functions)
//	wasmsize [-n 30] [-fn] old.wasm new.wasm   what grew and shrank from old to new
//
// `make wasm-size` builds the PWA's wasm with its names and runs it
// (WASM_SIZE_BASE=old.wasm to compare with an older build).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	n := flag.Int("n", 30, "how many rows to print")
	fn := flag.Bool("fn", false, "report functions instead of packages")
	flag.Parse()
	if err := run(os.Stdout, flag.Args(), *n, *fn); err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(2)
	}
}

// run reads the one or two files named in args and writes the report to w.
func run(w io.Writer, args []string, n int, byFunc bool) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("usage: wasmsize [-n rows] [-fn] FILE.wasm [NEW.wasm]")
	}
	var mods []*module
	for _, name := range args {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		m, err := parse(b)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if m.named == 0 {
			return fmt.Errorf("%s has no function names: build it without -ldflags=-s", name)
		}
		mods = append(mods, m)
	}
	group := packageOf
	if byFunc {
		group = func(s string) string { return s }
	}
	if len(mods) == 1 {
		report(w, mods[0], group, n)
		return nil
	}
	diff(w, mods[0], mods[1], group, n)
	return nil
}
