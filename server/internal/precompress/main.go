// Command precompress writes brotli (.br) and gzip (.gz) copies of the files
// it is given, so the server can send compressed WebAssembly, scripts and
// styles without spending CPU on every request. The Makefile runs it on
// web/*.wasm and web/'s text files after each build.
//
// Brotli runs at its best quality with the largest window the format allows
// (16 MiB, which every browser decodes): the wasm is larger than brotli's
// default 4 MiB window, and the wider window finds its repeats across the
// whole file (about 1.6% smaller for the PWA's wasm).
package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress FILE...")
		os.Exit(2)
	}
	errs := make(chan error, len(os.Args)-1)
	for _, name := range os.Args[1:] {
		go func() { errs <- compress(name) }()
	}
	failed := false
	for range os.Args[1:] {
		if err := <-errs; err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// maxWindow is the base-2 logarithm of brotli's largest standard window.
const maxWindow = 24

func compress(name string) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if err := write(name+".br", data, func(w io.Writer) io.WriteCloser {
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: maxWindow})
	}); err != nil {
		return err
	}
	return write(name+".gz", data, func(w io.Writer) io.WriteCloser {
		z, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
		return z
	})
}

// write compresses data into path through a temporary file, so a failed run
// never leaves a truncated copy behind.
func write(path string, data []byte, wrap func(io.Writer) io.WriteCloser) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".precompress-*")
	if err != nil {
		return fmt.Errorf("create temp for %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	z := wrap(f)
	if _, err := z.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := z.Close(); err != nil {
		f.Close()
		return fmt.Errorf("finish %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}
