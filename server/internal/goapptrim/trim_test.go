package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrimmedGoAppLeavesOutNetHTTP builds the PWA's wasm with the trimmed
// go-app: it compiles, and neither net/http nor crypto/tls is in it. With
// go-app as it is both are.
func TestTrimmedGoAppLeavesOutNetHTTP(t *testing.T) {
	work, err := write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	deps := func(gowork string) map[string]bool {
		t.Helper()
		cmd := exec.Command("go", "list", "-deps", "parley/app")
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOWORK="+gowork)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list (GOWORK=%s): %v", gowork, err)
		}
		m := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			m[p] = true
		}
		return m
	}
	if whole := deps("off"); !whole["net/http"] {
		t.Fatal("with go-app as it is the PWA does not import net/http: there is nothing left to trim")
	}
	trimmed := deps(work)
	for _, p := range []string{"net/http", "crypto/tls"} {
		if trimmed[p] {
			t.Errorf("with the trimmed go-app the PWA still imports %s", p)
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(t.TempDir(), "app.wasm"), "parley/app")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOWORK="+work)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the PWA does not build with the trimmed go-app: %v\n%s", err, out)
	}
}

// TestTrimRefusesAnUnexpectedGoApp: a go-app whose files are not as the
// trimming expects (another version, say) is refused rather than trimmed
// blindly.
func TestTrimRefusesAnUnexpectedGoApp(t *testing.T) {
	stub := "package app\n\n" + stubBefore + "\n\treturn nil\n}\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
	}{
		{"as expected", map[string]string{"http.go": "package app\n", "resource.go": "package app\n", "wasm.go": stub}},
		{"added file exists", map[string]string{"http.go": "package app\n", "resource.go": "package app\n", "wasm.go": stub, added: "package app\n"}},
		{"http.go constrained already", map[string]string{"http.go": "//go:build !js\n\npackage app\n", "resource.go": "package app\n", "wasm.go": stub}},
		{"no resource.go", map[string]string{"http.go": "package app\n", "wasm.go": stub}},
		{"another stub", map[string]string{"http.go": "package app\n", "resource.go": "package app\n",
			"wasm.go": "package app\n\nfunc GenerateStaticWebsite(dir string, h *Handler) error { return nil }\n"}},
	} {
		pkg := t.TempDir()
		for name, content := range tc.files {
			if err := os.WriteFile(filepath.Join(pkg, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		err := trim(pkg)
		if want := tc.name == "as expected"; (err == nil) != want {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}
