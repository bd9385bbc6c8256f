package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"parley/app/call/event"
)

// TestMethodListsAgree holds the four places that name window.Parley's
// methods to one list: methodNames, the wasm's method table (sdk.methods in
// main_js.go), the loader's list in web/parley.js, and the README's SDK
// method table. Adding a method in one place and not the others fails here.
func TestMethodListsAgree(t *testing.T) {
	want := sortedSet(t, "methodNames", methodNames)
	for _, src := range []struct {
		name  string
		names []string
	}{
		{"the method table in app/sdk/main_js.go", tableNames(t, "main_js.go")},
		{"the loader web/parley.js", loaderNames(t, "../../web/parley.js")},
		{"the README's SDK method table", readmeNames(t, "../../README.md")},
	} {
		got := sortedSet(t, src.name, src.names)
		if missing, extra := diff(want, got), diff(got, want); len(missing) > 0 || len(extra) > 0 {
			t.Errorf("%s differs from methodNames (app/sdk/methods.go): missing %q, extra %q", src.name, missing, extra)
		}
	}
}

// sortedSet sorts names and fails on an empty list or a duplicate.
func sortedSet(t *testing.T, what string, names []string) []string {
	t.Helper()
	if len(names) == 0 {
		t.Fatalf("%s: no method names found", what)
	}
	s := slices.Clone(names)
	slices.Sort(s)
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			t.Errorf("%s lists %q twice", what, s[i])
		}
	}
	return slices.Compact(s)
}

// diff is what a has and b lacks; both sorted.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// tableNames parses the Go file and returns the string keys of the map
// literal that the method named "methods" returns.
func tableNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "methods" || fn.Recv == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			ret, ok := n.(*ast.ReturnStmt)
			if !ok || len(ret.Results) != 1 {
				return true
			}
			lit, ok := ret.Results[0].(*ast.CompositeLit)
			if !ok {
				return true
			}
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if b, ok := kv.Key.(*ast.BasicLit); ok && b.Kind == token.STRING {
					s, err := strconv.Unquote(b.Value)
					if err != nil {
						t.Fatal(err)
					}
					names = append(names, s)
				}
			}
			return false
		})
	}
	return names
}

var (
	loaderList = regexp.MustCompile(`(?s)var methods = \[(.*?)\];`)
	jsString   = regexp.MustCompile(`"([^"]*)"`)
)

// loaderNames reads the `var methods = [...]` list of the loader.
func loaderNames(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := loaderList.FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no `var methods = [...];` list", path)
	}
	var names []string
	for _, s := range jsString.FindAllSubmatch(m[1], -1) {
		names = append(names, string(s[1]))
	}
	return names
}

// readmeMethodRow is a row of the README's method table: its first cell
// starts with the method in backticks, `name` or `name(args)`.
var readmeMethodRow = regexp.MustCompile("^\\| `([A-Za-z]+)[(`]")

// readmeNames reads the method table under the README's "### SDK methods"
// heading (up to the next heading).
func readmeNames(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(b), "\n### SDK methods\n")
	if !found {
		t.Fatalf("%s: no \"### SDK methods\" section", path)
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	var names []string
	for _, line := range strings.Split(section, "\n") {
		if m := readmeMethodRow.FindStringSubmatch(line); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

// TestListenerListsAgree holds the README's list of listeners to the engine's
// event types (app/call/event), which name the listeners the SDK calls.
func TestListenerListsAgree(t *testing.T) {
	want := sortedSet(t, "event.Listeners()", event.Listeners())
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, para, found := strings.Cut(string(readme), "\nListeners: ")
	if !found {
		t.Fatal(`README.md has no "Listeners: " paragraph in its SDK section`)
	}
	para, _, _ = strings.Cut(para, "\n\n")
	var got []string
	for _, m := range regexp.MustCompile("`(\\w+Listener)`").FindAllStringSubmatch(para, -1) {
		if !slices.Contains(got, m[1]) {
			got = append(got, m[1])
		}
	}
	got = sortedSet(t, "the README's listeners", got)
	if missing, extra := diff(want, got), diff(got, want); len(missing) > 0 || len(extra) > 0 {
		t.Errorf("the README's listeners differ from the engine's events: missing %q, extra %q", missing, extra)
	}
}
