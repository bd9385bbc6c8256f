package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// goApp is the module whose browser build is trimmed.
const goApp = "github.com/maxence-charriere/go-app/v10"

// resolver is the file added to the copy's package app.
//
//go:embed goapp/resolver.go
var resolver []byte

// serverOnly are the files of go-app's pkg/app that the copy builds for the
// server only: http.go (the Handler, which imports net/http) and resource.go
// (the resource providers, likewise).
var serverOnly = []string{"http.go", "resource.go"}

const (
	// stubBefore is the browser stub in wasm.go that names the Handler
	// type; the copy's names no type of http.go.
	stubBefore = "func GenerateStaticWebsite(dir string, h *Handler, pages ...string) error {"
	stubAfter  = "func GenerateStaticWebsite(dir string, h any, pages ...string) error {"
	serverTag  = "//go:build !wasm\n\n"
	// added is the name of the resolver's file in the copy; its _wasm.go
	// suffix keeps it out of anything but a browser build.
	added = "parley_resolver_wasm.go"
)

// write writes into dir a trimmed copy of the go-app module the main module
// uses (dir/go-app) and a workspace file that builds the main module with it
// (dir/go.work), and returns the workspace file's path. It fails, rather
// than trim blindly, when go-app's files are not as expected (another go-app
// version, say).
func write(dir string) (string, error) {
	src, err := moduleDir(goApp)
	if err != nil {
		return "", err
	}
	main, err := goList("-m", "-f", "{{.Dir}}")
	if err != nil {
		return "", err
	}
	goVersion, err := goList("-m", "-f", "{{.GoVersion}}")
	if err != nil {
		return "", err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", err
	}
	copyDir := filepath.Join(dir, "go-app")
	if err := os.RemoveAll(copyDir); err != nil {
		return "", err
	}
	for _, name := range []string{"go.mod", "go.sum", "LICENSE", "pkg"} {
		if err := copyTree(filepath.Join(src, name), filepath.Join(copyDir, name)); err != nil {
			return "", fmt.Errorf("copy go-app: %w", err)
		}
	}
	if err := trim(filepath.Join(copyDir, "pkg", "app")); err != nil {
		return "", err
	}
	work := fmt.Sprintf("go %s\n\nuse %s\n\nreplace %s => ./go-app\n", goVersion, main, goApp)
	out := filepath.Join(dir, "go.work")
	return out, os.WriteFile(out, []byte(work), 0o644)
}

// trim changes go-app's package app in directory pkg for the browser build.
func trim(pkg string) error {
	for _, name := range serverOnly {
		f := filepath.Join(pkg, name)
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if strings.HasPrefix(string(b), "//go:build") {
			return fmt.Errorf("%s has a build constraint already; check the trimming against this go-app", f)
		}
		if err := os.WriteFile(f, append([]byte(serverTag), b...), 0o644); err != nil {
			return err
		}
	}
	f := filepath.Join(pkg, "wasm.go")
	b, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	if n := strings.Count(string(b), stubBefore); n != 1 {
		return fmt.Errorf("%s has %d GenerateStaticWebsite stubs naming the Handler, want 1; check the trimming against this go-app", f, n)
	}
	if err := os.WriteFile(f, []byte(strings.Replace(string(b), stubBefore, stubAfter, 1)), 0o644); err != nil {
		return err
	}
	f = filepath.Join(pkg, added)
	if _, err := os.Stat(f); err == nil {
		return fmt.Errorf("%s exists already", f)
	}
	return os.WriteFile(f, resolver, 0o644)
}

// copyTree copies the file or directory tree src to dst, writable.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
}

// moduleDir is the directory of module m at the version the main module
// requires, downloaded first if it is not in the module cache yet (a fresh
// machine builds the wasm before anything else has fetched go-app).
func moduleDir(m string) (string, error) {
	out, err := goCmd("mod", "download", "-json", m)
	if err != nil {
		return "", err
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(out), &mod); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", m, err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory: %s", m, mod.Error)
	}
	return mod.Dir, nil
}

// goList runs `go list args...` for the main module and returns its output.
func goList(args ...string) (string, error) {
	s, err := goCmd(append([]string{"list"}, args...)...)
	if err == nil && s == "" {
		err = fmt.Errorf("go list %v: no answer", args)
	}
	return s, err
}

// goCmd runs the go command outside any workspace and returns its output.
func goCmd(args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go %v: %w: %s", args, err, ee.Stderr)
		}
		return "", fmt.Errorf("go %v: %w", args, err)
	}
	return strings.TrimSpace(string(out)), nil
}
