package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    Frame
		wantErr bool
	}{
		{name: "ping", in: `{"type":"ping","id":1}`, want: Frame{Type: TypePing, ID: 1}},
		{name: "payload", in: `{"type":"call.end","id":42,"data":{"roomId":"r1"}}`,
			want: Frame{Type: TypeCallEnd, ID: 42, Data: json.RawMessage(`{"roomId":"r1"}`)}},
		{name: "event", in: ` {"type":"call.update","seq":7,"data":{}} `, want: Frame{Type: EventUpdate, Seq: 7, Data: json.RawMessage(`{}`)}},
		{name: "error reply", in: `{"type":"error","id":3,"error":{"code":404,"reason":"not_found","message":"no"}}`,
			want: Frame{Type: TypeError, ID: 3, Error: &Error{Code: 404, Reason: "not_found", Message: "no"}}},
		{name: "unknown fields are ignored", in: `{"type":"ping","id":2,"future":true}`, want: Frame{Type: TypePing, ID: 2}},
		{name: "unknown type decodes", in: `{"type":"call.teleport","id":2}`, want: Frame{Type: "call.teleport", ID: 2}},
		{name: "64 byte type", in: `{"type":"` + strings.Repeat("t", 64) + `"}`, want: Frame{Type: strings.Repeat("t", 64)}},
		{name: "empty", in: ``, wantErr: true},
		{name: "truncated", in: `{"type":"ping"`, wantErr: true},
		{name: "array", in: `[{"type":"ping"}]`, wantErr: true},
		{name: "string", in: `"ping"`, wantErr: true},
		{name: "null", in: `null`, wantErr: true},
		{name: "no type", in: `{"id":1}`, wantErr: true},
		{name: "empty type", in: `{"type":"","id":1}`, wantErr: true},
		{name: "type not a string", in: `{"type":7}`, wantErr: true},
		{name: "type too long", in: `{"type":"` + strings.Repeat("t", 65) + `"}`, wantErr: true},
		{name: "negative id", in: `{"type":"ping","id":-1}`, wantErr: true},
		{name: "fractional id", in: `{"type":"ping","id":1.5}`, wantErr: true},
		{name: "string id", in: `{"type":"ping","id":"1"}`, wantErr: true},
		{name: "trailing frame", in: `{"type":"ping"}{"type":"ping"}`, wantErr: true},
		{name: "trailing garbage", in: `{"type":"ping"} x`, wantErr: true},
		{name: "error without error", in: `{"type":"error","id":1}`, wantErr: true},
		{name: "over the limit", in: `{"type":"ping","data":"` + strings.Repeat("x", MaxFrameBytes) + `"}`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Decode(%.80q) = %+v, want an error", tc.in, got)
				}
				if got.Type != "" || got.ID != 0 || got.Data != nil {
					t.Errorf("a failed Decode returned a partial frame %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.in, err)
			}
			if got.Type != tc.want.Type || got.ID != tc.want.ID || got.Seq != tc.want.Seq || string(got.Data) != string(tc.want.Data) {
				t.Errorf("Decode(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if (got.Error == nil) != (tc.want.Error == nil) || (got.Error != nil && *got.Error != *tc.want.Error) {
				t.Errorf("Decode(%q).Error = %v, want %v", tc.in, got.Error, tc.want.Error)
			}
		})
	}
	if _, err := Decode([]byte(`{"type":""}`)); !errors.Is(err, ErrEmptyType) {
		t.Errorf("empty type: err = %v, want ErrEmptyType", err)
	}
}

func TestDecodeData(t *testing.T) {
	var room RoomRequest
	for _, tc := range []struct {
		data string
		ok   bool
	}{
		{`{"roomId":"abc"}`, true},
		{`{"roomId":"abc","extra":1}`, true},
		{``, false},
		{`null`, false},
		{`{"roomId":5}`, false},
		{`[]`, false},
	} {
		f := Frame{Type: TypeCallEnd, ID: 1, Data: json.RawMessage(tc.data)}
		if tc.data == "" {
			f.Data = nil
		}
		e := DecodeData(f, &room)
		if (e == nil) != tc.ok {
			t.Errorf("DecodeData(%q) = %v, ok want %v", tc.data, e, tc.ok)
		}
		if e != nil && (e.Code != CodeBadRequest || e.Reason != "bad_request" || e.Message == "") {
			t.Errorf("DecodeData(%q) error %+v is not a 400", tc.data, e)
		}
	}
}

func TestBuildersRoundTrip(t *testing.T) {
	req, err := Request(TypeCallCreate, 9, CallCreateRequest{To: []string{"bob@localhost"}, Type: TypeVideo})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := Result(9, CallResult{Call: Call{RoomID: "r", Participants: []Participant{{JID: "a@localhost", Status: StatusConnecting}}}})
	ev, _ := Event(EventDismissed, DismissEvent{RoomID: "r", Reason: ReasonCanceled})
	ev.Seq = 3
	for _, f := range []Frame{req, res, ev, ErrorReply(9, BadRequest("bad %s", "thing")), ErrorReply(0, UnknownType(strings.Repeat("x", 100)))} {
		b, err := Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", f, err)
		}
		if got.Type != f.Type || got.ID != f.ID || got.Seq != f.Seq || string(got.Data) != string(f.Data) {
			t.Errorf("round trip %s: got %+v", b, got)
		}
	}
	if _, err := Request("x", 1, func() {}); err == nil {
		t.Error("Request accepted an unmarshalable payload")
	}
	if e := UnknownType(strings.Repeat("x", 100)); e.Reason != "unknown_type" || len(e.Message) > 100 {
		t.Errorf("UnknownType = %+v", e)
	}
	if s := (&Error{Code: 404, Reason: "not_found", Message: "gone"}).Error(); s != "not_found (404): gone" {
		t.Errorf("Error() = %q", s)
	}
}

func TestValidUsername(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"abc", true},
		{"alice", true},
		{"a.b_c-d9", true},
		{strings.Repeat("a", 32), true},
		{"ab", false},
		{strings.Repeat("a", 33), false},
		{"", false},
		{"Alice", false},
		{"al ice", false},
		{"alice@localhost", false},
		{"ålice", false},
		{"guest-1a2b", true}, // valid syntax; the server reserves the prefix
		{"a/b", false},
	} {
		if got := ValidUsername(tc.name); got != tc.ok {
			t.Errorf("ValidUsername(%q) = %v, want %v", tc.name, got, tc.ok)
		}
		if e := CheckUsername(tc.name); (e == nil) != tc.ok || (e != nil && e.Code != CodeBadRequest) {
			t.Errorf("CheckUsername(%q) = %v", tc.name, e)
		}
	}
}

// New accounts take separators only singly between letters and digits;
// such names still look up (ValidUsername) for accounts made before.
func TestNewUsername(t *testing.T) {
	for name, ok := range map[string]bool{
		"alice": true, "a.b_c-d9": true, "guest-1a2b": true, "a1b": true,
		"...": false, "---": false, "a..b": false, "a-_b": false, ".ab": false, "ab-": false, "_ab": false,
		"ab": false, "Alice": false,
	} {
		if got := NewUsername(name); got != ok {
			t.Errorf("NewUsername(%q) = %v, want %v", name, got, ok)
		}
		if e := CheckUsername(name); (e == nil) != ok {
			t.Errorf("CheckUsername(%q) = %v", name, e)
		}
	}
	if !ValidUsername("a..b") {
		t.Error(`an existing account "a..b" could no longer be looked up`)
	}
}

func TestParseJID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		code int // 0: no error
	}{
		{"alice", "alice", 0},
		{"alice@localhost", "alice", 0},
		{"Alice@LOCALHOST", "alice", 0},
		{"  bob@localhost ", "bob", 0},
		{"BOB", "bob", 0},
		{"bob@example.com", "", CodeNotFound},
		{"bob@", "", CodeNotFound},
		{"bob@localhost@localhost", "", CodeNotFound},
		{"@localhost", "", CodeBadRequest},
		{"b@localhost", "", CodeBadRequest},
		{"", "", CodeBadRequest},
		{"al ice", "", CodeBadRequest},
		{strings.Repeat("x", 200), "", CodeBadRequest},
	} {
		got, e := ParseJID(tc.in, "localhost")
		switch {
		case tc.code == 0 && (e != nil || got != tc.want):
			t.Errorf("ParseJID(%q) = %q, %v; want %q", tc.in, got, e, tc.want)
		case tc.code != 0 && (e == nil || e.Code != tc.code):
			t.Errorf("ParseJID(%q) = %q, %v; want code %d", tc.in, got, e, tc.code)
		case e != nil && len(e.Message) > 200:
			t.Errorf("ParseJID(%.20q) error message is %d bytes", tc.in, len(e.Message))
		}
	}
	if j := JID("alice", "localhost"); j != "alice@localhost" {
		t.Errorf("JID = %q", j)
	}
	// A JID round-trips through ParseJID.
	if got, e := ParseJID(JID("carol", "chat.example"), "chat.example"); e != nil || got != "carol" {
		t.Errorf("ParseJID(JID(...)) = %q, %v", got, e)
	}
}

func TestStatusPredicates(t *testing.T) {
	for _, s := range []string{StatusConnecting, StatusConnected, StatusReconnecting} {
		if !Joined(s) || Pending(s) {
			t.Errorf("%s: joined %v pending %v", s, Joined(s), Pending(s))
		}
	}
	for _, s := range []string{StatusCalling, StatusRinging} {
		if Joined(s) || !Pending(s) {
			t.Errorf("%s: joined %v pending %v", s, Joined(s), Pending(s))
		}
	}
	for _, s := range []string{StatusDisconnected, StatusDeclined, StatusEngaged, StatusNoAnswer, StatusEnded, ""} {
		if Joined(s) || Pending(s) {
			t.Errorf("%q: joined %v pending %v", s, Joined(s), Pending(s))
		}
	}
	c := Call{Participants: []Participant{{JID: "a@x"}, {JID: "b@x"}}}
	if p := c.Participant("b@x"); p == nil || p != &c.Participants[1] {
		t.Error("Participant does not point into the call")
	}
	if c.Participant("z@x") != nil {
		t.Error("Participant found a stranger")
	}
}

// TestEncodeKeepsHTMLCharacters: custom data full of <, > and & must not grow
// sixfold on the wire (json.Marshal's HTML escaping would push a 64 KiB value
// over the frame limit).
func TestEncodeKeepsHTMLCharacters(t *testing.T) {
	data := `"<b>&</b>"`
	f, err := Request(TypeCallData, 1, DataRequest{RoomID: "r", Data: []byte(data)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), data) || strings.Contains(string(b), `\u003c`) || strings.HasSuffix(string(b), "\n") {
		t.Fatalf("encoded frame %s", b)
	}
}

func TestLimitsOrDefault(t *testing.T) {
	got := Limits{MaxParticipants: 4, MaxGroupID: 10}.OrDefault()
	want := Limits{MaxParticipants: 4, MaxDisplayName: 64, MaxGroupID: 10, MaxCustomData: MaxCustomDataBytes}
	if got != want {
		t.Fatalf("OrDefault = %+v, want %+v", got, want)
	}
	if (Limits{}).OrDefault() != DefaultLimits() {
		t.Fatal("an empty Limits should become DefaultLimits")
	}
}
