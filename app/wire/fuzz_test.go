package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecode checks that Decode never panics, and that a frame it accepts
// encodes to bytes that decode to the same frame (payloads compared as JSON
// values: Encode compacts and escapes them). The seed corpus is in
// testdata/fuzz/FuzzDecode; `go test` runs it, `go test -fuzz FuzzDecode`
// explores from it.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"ping","id":1}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := Decode(in)
		if err != nil {
			if fr.Type != "" || fr.ID != 0 || fr.Seq != 0 || fr.Data != nil || fr.Error != nil {
				t.Fatalf("Decode failed (%v) but returned a partial frame %+v", err, fr)
			}
			return
		}
		if fr.Type == "" || len(fr.Type) > 64 || (fr.Type == TypeError && fr.Error == nil) {
			t.Fatalf("Decode accepted an invalid frame %+v", fr)
		}
		enc, err := Encode(fr)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", in, err)
		}
		fr2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) = %v; encoded %q", in, err, enc)
		}
		if fr.Type != fr2.Type || fr.ID != fr2.ID || fr.Seq != fr2.Seq || !reflect.DeepEqual(fr.Error, fr2.Error) {
			t.Fatalf("round trip changed the frame:\n%+v\n%+v", fr, fr2)
		}
		if !sameJSON(fr.Data, fr2.Data) {
			t.Fatalf("round trip changed the payload: %q -> %q", fr.Data, fr2.Data)
		}
		enc2, err := Encode(fr2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable: %q then %q (%v)", enc, enc2, err)
		}
	})
}

// sameJSON reports whether two raw payloads are the same JSON value (numbers
// compared by their text).
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	va, erra := decodeAny(a)
	vb, errb := decodeAny(b)
	if erra != nil || errb != nil {
		return erra != nil && errb != nil
	}
	return reflect.DeepEqual(va, vb)
}

func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
