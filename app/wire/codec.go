package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrEmptyType is returned by Decode for a frame without a type.
var ErrEmptyType = errors.New("wire: frame has no type")

// Decode parses one frame. It rejects frames over MaxFrameBytes, frames that are
// not a single JSON object, and frames without a type. It never panics.
func Decode(b []byte) (Frame, error) {
	var f Frame
	if len(b) > MaxFrameBytes {
		return f, fmt.Errorf("wire: frame of %d bytes is over the %d byte limit", len(b), MaxFrameBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		return Frame{}, fmt.Errorf("wire: decode frame: %w", err)
	}
	if dec.More() {
		return Frame{}, errors.New("wire: trailing data after frame")
	}
	if f.Type == "" {
		return Frame{}, ErrEmptyType
	}
	if len(f.Type) > 64 {
		return Frame{}, errors.New("wire: frame type too long")
	}
	if f.Type == TypeError && f.Error == nil {
		return Frame{}, errors.New("wire: error frame without error")
	}
	return f, nil
}

// DecodeData unmarshals a frame's payload into v, strictly: unknown fields are
// allowed (for forward compatibility) but a missing or mistyped payload is a 400.
func DecodeData(f Frame, v any) *Error {
	if len(f.Data) == 0 || string(f.Data) == "null" {
		return BadRequest("The %q request needs a payload.", f.Type)
	}
	if err := json.Unmarshal(f.Data, v); err != nil {
		return BadRequest("The %q payload is malformed: %v.", f.Type, err)
	}
	return nil
}

// Encode marshals a frame.
func Encode(f Frame) ([]byte, error) {
	b, err := Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s frame: %w", f.Type, err)
	}
	return b, nil
}

// Marshal is json.Marshal without HTML escaping: frames never reach an HTML
// parser, and escaping <, > and & would grow custom data up to six times.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Request builds a request frame with a marshalled payload (nil for none).
func Request(typ string, id uint64, payload any) (Frame, error) {
	f := Frame{Type: typ, ID: id}
	if payload != nil {
		b, err := Marshal(payload)
		if err != nil {
			return f, fmt.Errorf("wire: encode %s payload: %w", typ, err)
		}
		f.Data = b
	}
	return f, nil
}

// Result builds the success reply to request id.
func Result(id uint64, payload any) (Frame, error) {
	return Request(TypeResult, id, payload)
}

// ErrorReply builds the error reply to request id.
func ErrorReply(id uint64, e *Error) Frame {
	return Frame{Type: TypeError, ID: id, Error: e}
}

// Event builds a server event with a marshalled payload; Seq is set on sending.
func Event(typ string, payload any) (Frame, error) {
	return Request(typ, 0, payload)
}

// UnknownType is the error reply to a request of a type the server does not know.
func UnknownType(typ string) *Error {
	if len(typ) > 64 {
		typ = typ[:64]
	}
	return Errorf(CodeBadRequest, ReasonUnknownType, "Unknown request type %q.", typ)
}

// ValidUsername reports whether name is 3 to 32 characters of a-z 0-9 . _ -
func ValidUsername(name string) bool {
	if len(name) < 3 || len(name) > 32 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// NewUsername reports whether name may be registered: ValidUsername, and
// the separators '.', '_' and '-' only singly between letters or digits
// ("a.b-c", not ".ab", "ab-", "a..b" or "a-_b"), so that names cannot be told
// apart only by punctuation that is hard to see. Accounts made under the
// older rule keep working: lookups use ValidUsername.
func NewUsername(name string) bool {
	if !ValidUsername(name) {
		return false
	}
	sep := func(b byte) bool { return b == '.' || b == '_' || b == '-' }
	if sep(name[0]) || sep(name[len(name)-1]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if sep(name[i]) && sep(name[i-1]) {
			return false
		}
	}
	return true
}

// CheckUsername returns a 400 error explaining why name cannot be
// registered (see NewUsername).
func CheckUsername(name string) *Error {
	if !NewUsername(name) {
		return BadRequest("A username is 3 to 32 lowercase letters and digits, with single '.', '_' or '-' between them.")
	}
	return nil
}

// JID returns username@domain.
func JID(username, domain string) string { return username + "@" + domain }

// ParseJID accepts "user@domain" or a bare "user" and returns the username. The
// domain, when given, must equal domain (this server's), case-insensitively.
func ParseJID(s, domain string) (string, *Error) {
	s = strings.TrimSpace(s)
	user, dom, found := strings.Cut(s, "@")
	user = strings.ToLower(user)
	if found && !strings.EqualFold(dom, domain) {
		return "", Errorf(CodeNotFound, ReasonNotFound, "%q is not a user of this server (%s).", truncate(s, 80), domain)
	}
	if !ValidUsername(user) {
		return "", BadRequest("%q is not a valid user JID.", truncate(s, 80))
	}
	return user, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
