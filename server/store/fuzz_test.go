package store

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzDisplayName checks CleanDisplayName, the one normalisation of display
// names (registration, guests, link names): an accepted name is valid
// UTF-8, NFC, without format characters (bidi controls, zero-width ones),
// control characters or surrounding space, at most MaxDisplayNameLen
// characters, and cleaning it again changes nothing; a refused name gives
// nothing back. The seed corpus is in testdata/fuzz/FuzzDisplayName.
func FuzzDisplayName(f *testing.F) {
	f.Add("Ana\u202e\u200bLuísa")
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := CleanDisplayName(in)
		if !ok {
			if out != "" {
				t.Fatalf("CleanDisplayName(%q) refused but returned %q", in, out)
			}
			return
		}
		if !utf8.ValidString(out) || !norm.NFC.IsNormalString(out) || utf8.RuneCountInString(out) > MaxDisplayNameLen ||
			strings.TrimSpace(out) != out {
			t.Fatalf("CleanDisplayName(%q) = %q: not valid, NFC, trimmed and short", in, out)
		}
		for _, r := range out {
			if unicode.Is(unicode.Cf, r) || unicode.IsControl(r) {
				t.Fatalf("CleanDisplayName(%q) = %q keeps %U", in, out, r)
			}
		}
		again, ok := CleanDisplayName(out)
		if !ok || again != out {
			t.Fatalf("CleanDisplayName is not idempotent: %q -> %q -> %q (%v)", in, out, again, ok)
		}
	})
}
