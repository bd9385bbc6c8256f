package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
)

// goName splits a function's name as the Go linker writes it into a wasm's
// name section ("/" becomes "_", so "parley/app/call.(*Engine).apply" is
// "parley_app_call.__Engine_.apply") into its package and the rest. A module
// path starts with a domain ("github.com_pion_webrtc_v4.…"), whose dot is
// not the package's end. Type equality and hash functions ("type_.eq.…")
// count to the type's package.
var goName = regexp.MustCompile(`^(?:type_\.(?:eq|hash)\.)?((?:[a-z0-9-]+\.(?:com|org|net|io|dev|in)_)?[^.]+)`)

// packageOf is the package of a function named as in the name section.
func packageOf(name string) string {
	if m := goName.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return name
}

// row is one line of a report.
type row struct {
	name     string
	old, new int
}

// sizes sums the functions' bytes by group.
func sizes(m *module, group func(string) string) map[string]int {
	out := map[string]int{}
	for name, n := range m.funcs {
		out[group(name)] += n
	}
	return out
}

// report writes the n largest groups of m and the totals.
func report(w io.Writer, m *module, group func(string) string, n int) {
	var rows []row
	for k, v := range sizes(m, group) {
		rows = append(rows, row{name: k, new: v})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].new != rows[j].new {
			return rows[i].new > rows[j].new
		}
		return rows[i].name < rows[j].name
	})
	fmt.Fprintf(w, "%d bytes: code %d, data %d, other %d\n", m.total, m.code, m.data, m.total-m.code-m.data)
	for i, r := range rows {
		if i == n {
			fmt.Fprintf(w, "… %d more\n", len(rows)-n)
			break
		}
		fmt.Fprintf(w, "%9d %5.1f%%  %s\n", r.new, 100*float64(r.new)/float64(max(m.code, 1)), r.name)
	}
}

// diff writes the n groups whose code changed most from a to b, and the
// totals of both.
func diff(w io.Writer, a, b *module, group func(string) string, n int) {
	sa, sb := sizes(a, group), sizes(b, group)
	var rows []row
	for k, v := range sa {
		rows = append(rows, row{name: k, old: v, new: sb[k]})
	}
	for k, v := range sb {
		if _, ok := sa[k]; !ok {
			rows = append(rows, row{name: k, new: v})
		}
	}
	rows = slices.DeleteFunc(rows, func(r row) bool { return r.old == r.new })
	sort.Slice(rows, func(i, j int) bool {
		di, dj := abs(rows[i].new-rows[i].old), abs(rows[j].new-rows[j].old)
		if di != dj {
			return di > dj
		}
		return rows[i].name < rows[j].name
	})
	fmt.Fprintf(w, "total %+d bytes (%d → %d): code %+d, data %+d\n", b.total-a.total, a.total, b.total, b.code-a.code, b.data-a.data)
	for i, r := range rows {
		if i == n {
			fmt.Fprintf(w, "… %d more changed\n", len(rows)-n)
			break
		}
		fmt.Fprintf(w, "%+9d  %9d → %-9d %s\n", r.new-r.old, r.old, r.new, r.name)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
