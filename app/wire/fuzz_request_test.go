package wire

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// requestPayloads maps every request type that carries a payload to a
// constructor of the struct the server decodes it into. TestRequestPayloads
// holds it to the request types of the protocol.
var requestPayloads = map[string]func() any{
	TypeRegister:        func() any { return new(RegisterRequest) },
	TypeLogin:           func() any { return new(LoginRequest) },
	TypeAuth:            func() any { return new(AuthRequest) },
	TypeGuest:           func() any { return new(GuestRequest) },
	TypeCallCreate:      func() any { return new(CallCreateRequest) },
	TypeCallAnswer:      func() any { return new(RoomRequest) },
	TypeCallDecline:     func() any { return new(RoomRequest) },
	TypeCallEnd:         func() any { return new(RoomRequest) },
	TypeCallSignal:      func() any { return new(SignalRequest) },
	TypeCallMute:        func() any { return new(MuteRequest) },
	TypeCallMedia:       func() any { return new(MediaRequest) },
	TypeCallLogs:        func() any { return new(CallLogsRequest) },
	TypeCallInvite:      func() any { return new(InviteRequest) },
	TypeCallSwitch:      func() any { return new(SwitchRequestPayload) },
	TypeCallData:        func() any { return new(DataRequest) },
	TypeLinkSubscribe:   func() any { return new(LinkRequest) },
	TypeLinkJoin:        func() any { return new(LinkRequest) },
	TypeMeetCreate:      func() any { return new(MeetRequest) },
	TypeLinkUnsubscribe: nil, // no payload
	TypePing:            nil,
	TypeLogout:          nil,
	TypeICERefresh:      nil,
}

// payloadTypes are the keys of requestPayloads with a payload, in a fixed
// order, so that a fuzz input's first byte picks one.
func payloadTypes() []string {
	var types []string
	for _, typ := range []string{TypeRegister, TypeLogin, TypeAuth, TypeGuest, TypeCallCreate, TypeCallAnswer,
		TypeCallDecline, TypeCallEnd, TypeCallSignal, TypeCallMute, TypeCallMedia, TypeCallLogs, TypeCallInvite,
		TypeCallSwitch, TypeCallData, TypeLinkSubscribe, TypeLinkJoin, TypeMeetCreate} {
		if requestPayloads[typ] != nil {
			types = append(types, typ)
		}
	}
	return types
}

// TestRequestPayloads: the fuzz table names every payload type once.
func TestRequestPayloads(t *testing.T) {
	n := 0
	for _, f := range requestPayloads {
		if f != nil {
			n++
		}
	}
	if got := len(payloadTypes()); got != n {
		t.Fatalf("payloadTypes lists %d of the %d payload types", got, n)
	}
}

// FuzzRequestData decodes a payload into the struct of the request type its
// first byte picks, as the server does: DecodeData never panics, a refusal
// is a 400 bad_request with a short message, and an accepted payload
// re-encodes stably (encode, decode, encode gives the same bytes). The
// seed corpus is in testdata/fuzz/FuzzRequestData.
func FuzzRequestData(f *testing.F) {
	types := payloadTypes()
	f.Add(uint8(0), []byte(`{"username":"alice","password":"correct horse"}`))
	f.Fuzz(func(t *testing.T, pick uint8, data []byte) {
		typ := types[int(pick)%len(types)]
		v := requestPayloads[typ]()
		e := DecodeData(Frame{Type: typ, ID: 1, Data: data}, v)
		if e != nil {
			if e.Code != CodeBadRequest || e.Reason != ReasonBadRequest || e.Message == "" || len(e.Message) > 1000 || !utf8.ValidString(e.Message) {
				t.Fatalf("%s: DecodeData(%q) refused with %+v, want a short 400 bad_request", typ, data, e)
			}
			return
		}
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("%s: encoding the decoded %+v: %v", typ, v, err)
		}
		v2 := requestPayloads[typ]()
		if e := DecodeData(Frame{Type: typ, ID: 1, Data: bytes.TrimSpace(enc)}, v2); e != nil {
			t.Fatalf("%s: the re-encoded payload %q does not decode: %v", typ, enc, e)
		}
		enc2, err := Marshal(v2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("%s: encoding is not stable: %q then %q (%v)", typ, enc, enc2, err)
		}
	})
}

// FuzzUsername checks the username rules: NewUsername implies ValidUsername
// and CheckUsername agrees; a registrable name is 3 to 32 bytes of a-z, 0-9
// and single separators between them, and survives JID and ParseJID; and
// ParseJID of anything either refuses with a typed error or returns a valid
// username. The seed corpus is in testdata/fuzz/FuzzUsername.
func FuzzUsername(f *testing.F) {
	f.Add("alice")
	f.Fuzz(func(t *testing.T, name string) {
		isNew, valid := NewUsername(name), ValidUsername(name)
		if isNew && !valid {
			t.Fatalf("%q is a new username but not a valid one", name)
		}
		if e := CheckUsername(name); (e == nil) != isNew || (e != nil && (e.Code != CodeBadRequest || e.Message == "")) {
			t.Fatalf("CheckUsername(%q) = %v, NewUsername = %v", name, e, isNew)
		}
		if valid {
			if len(name) < 3 || len(name) > 32 || strings.ToLower(name) != name || strings.ContainsAny(name, "@ /") {
				t.Fatalf("ValidUsername accepted %q", name)
			}
			got, e := ParseJID(JID(name, "example.com"), "example.com")
			if e != nil || got != name {
				t.Fatalf("ParseJID(JID(%q)) = %q, %v", name, got, e)
			}
		}
		if isNew && (strings.Contains(name, "..") || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "_")) {
			t.Fatalf("NewUsername accepted %q", name)
		}
		got, e := ParseJID(name, "example.com")
		switch {
		case e == nil && !ValidUsername(got):
			t.Fatalf("ParseJID(%q) = %q, not a valid username", name, got)
		case e != nil && (e.Code != CodeBadRequest && e.Code != CodeNotFound || e.Message == "" || !utf8.ValidString(e.Message)):
			t.Fatalf("ParseJID(%q) refused with %+v", name, e)
		}
	})
}
