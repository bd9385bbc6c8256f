package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// uleb appends v in LEB128.
func uleb(b []byte, v int) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func section(id byte, body []byte) []byte {
	return append(uleb([]byte{id}, len(body)), body...)
}

func str(b []byte, s string) []byte { return append(uleb(b, len(s)), s...) }

// testModule is a wasm binary with one imported function, a memory import,
// two function bodies of 3 and 200 bytes (the second's size takes two
// LEB128 bytes), 10 bytes of data and the names Go's linker would write.
func testModule(names ...string) []byte {
	b := append([]byte(nil), wasmHeader...)
	imp := uleb(nil, 2)
	imp = str(str(imp, "go"), "debug")
	imp = append(imp, 0, 0) // function of type 0
	imp = str(str(imp, "env"), "mem")
	imp = append(imp, 2, 1, 1, 2) // memory, limits with a maximum
	b = append(b, section(secImport, imp)...)
	code := uleb(nil, 2)
	code = append(uleb(code, 3), 0, 0, 0x0b)
	code = append(uleb(code, 200), make([]byte, 200)...)
	b = append(b, section(secCode, code)...)
	b = append(b, section(secData, make([]byte, 10))...)
	fn := uleb(nil, len(names))
	for i, n := range names {
		fn = str(uleb(fn, 1+i), n)
	}
	nameSec := str(nil, "name")
	nameSec = append(nameSec, 0) // module name subsection, skipped
	nameSec = str(nameSec, "\x03app")
	nameSec = append(nameSec, 1)
	nameSec = append(uleb(nameSec, len(fn)), fn...)
	return append(b, section(secCustom, nameSec)...)
}

func TestParse(t *testing.T) {
	b := testModule("parley_app_call.__Engine_.apply", "github.com_pion_webrtc_v4.__PeerConnection_.Close")
	m, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.total != len(b) || m.data != 10 || m.named != 2 {
		t.Errorf("total %d data %d named %d, want %d 10 2", m.total, m.data, m.named, len(b))
	}
	if m.funcs["parley_app_call.__Engine_.apply"] != 3 || m.funcs["github.com_pion_webrtc_v4.__PeerConnection_.Close"] != 200 {
		t.Errorf("funcs %v", m.funcs)
	}
	// Every truncation is an error, never a panic.
	for i := len(wasmHeader); i < len(b); i++ {
		if m, err := parse(b[:i]); err == nil && m.code == 203 && m.named == 2 {
			t.Errorf("a module cut at %d of %d read whole", i, len(b))
		}
	}
	if _, err := parse([]byte("\x7fELF")); err == nil {
		t.Error("an ELF file parsed as wasm")
	}
}

func TestPackageOf(t *testing.T) {
	for name, want := range map[string]string{
		"parley_app_call.__Engine_.apply":                          "parley_app_call",
		"github.com_pion_webrtc_v4.__PeerConnection_.Close":        "github.com_pion_webrtc_v4",
		"runtime.mallocgc":                                         "runtime",
		"type_.eq.parley_app_wire.Participant":                     "parley_app_wire",
		"golang.org_x_net_dns_dnsmessage.init":                     "golang.org_x_net_dns_dnsmessage",
		"crypto_internal_fips140_nistec_fiat.p521Mul":              "crypto_internal_fips140_nistec_fiat",
		"parley_app_call.on_go.shape.struct___Call_string_json___": "parley_app_call",
	} {
		if got := packageOf(name); got != want {
			t.Errorf("packageOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestReportAndDiff(t *testing.T) {
	dir := t.TempDir()
	old, cur := dir+"/old.wasm", dir+"/new.wasm"
	write(t, old, testModule("parley_app_call.a", "log_slog.New"))
	write(t, cur, testModule("parley_app_call.a", "parley_app_call.b"))
	var out bytes.Buffer
	if err := run(&out, []string{cur}, 10, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "      203  98.1%  parley_app_call") {
		t.Errorf("report:\n%s", out.String())
	}
	out.Reset()
	if err := run(&out, []string{old, cur}, 10, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-200", "log_slog", "+200", "parley_app_call"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, out.String())
		}
	}
	write(t, cur, testModule())
	if err := run(&out, []string{cur}, 10, false); err == nil || !strings.Contains(err.Error(), "-ldflags=-s") {
		t.Errorf("a stripped module: %v", err)
	}
}

func write(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
