package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// fuzzTypes are the request types FuzzRequest sends: every type the hub
// dispatches (requests.go), and one it does not.
var fuzzTypes = []string{
	wire.TypeRegister, wire.TypeLogin, wire.TypeAuth, wire.TypeGuest, wire.TypePing,
	wire.TypeLogout, wire.TypeICERefresh, wire.TypeCallLogs, wire.TypeCallCreate, wire.TypeCallAnswer,
	wire.TypeCallDecline, wire.TypeCallEnd, wire.TypeCallSignal, wire.TypeCallMute, wire.TypeCallMedia,
	wire.TypeCallInvite, wire.TypeCallSwitch, wire.TypeCallData, wire.TypeLinkSubscribe, wire.TypeLinkJoin,
	wire.TypeLinkUnsubscribe, wire.TypeMeetCreate, wire.TypeBlockAdd, wire.TypeBlockRemove, wire.TypeBlockList,
	wire.TypeSessionList, wire.TypeSessionRevoke, wire.TypeSessionRevokeOthers, wire.TypeCallShare,
	wire.TypeCallAdmit, wire.TypeCallDeny, wire.TypeCallScreen, wire.TypePushKey, wire.TypePushRegister,
	wire.TypePushUnregister, wire.TypeTabVisibility, "no.such.type",
}

// TestFuzzTypesDispatched: every type in fuzzTypes but the last is one the
// hub serves, so FuzzRequest reaches each handler.
func TestFuzzTypesDispatched(t *testing.T) {
	for _, typ := range fuzzTypes[:len(fuzzTypes)-1] {
		switch typ {
		case wire.TypeRegister, wire.TypeLogin, wire.TypeAuth, wire.TypeGuest, wire.TypePing:
			continue // served before the handler table
		}
		if handlerFor(typ) == nil {
			t.Errorf("%s is in fuzzTypes but the hub has no handler for it", typ)
		}
	}
	if handlerFor(fuzzTypes[len(fuzzTypes)-1]) != nil {
		t.Errorf("the last fuzz type must be unknown to the hub")
	}
	for _, typ := range dispatchedTypes(t) {
		if !slices.Contains(fuzzTypes, typ) {
			t.Errorf("the hub serves %s but FuzzRequest never sends it: add it to fuzzTypes", typ)
		}
	}
}

// dispatchedTypes are the values of the wire.Type* constants that
// handlerFor's cases name, read from the sources, so that a request type
// added to the hub without its fuzz entry fails TestFuzzTypesDispatched.
func dispatchedTypes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	values := map[string]string{} // wire constant name -> value
	wireFiles, err := filepath.Glob("../../app/wire/*.go")
	if err != nil || len(wireFiles) == 0 {
		t.Fatalf("wire sources: %v", err)
	}
	for _, name := range wireFiles {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, id := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							values[id.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
			return true
		})
	}
	f, err := parser.ParseFile(fset, "requests.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	ast.Inspect(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "handlerFor" {
			return true
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if cc, ok := n.(*ast.CaseClause); ok {
				for _, e := range cc.List {
					if sel, ok := e.(*ast.SelectorExpr); ok {
						v, ok := values[sel.Sel.Name]
						if !ok {
							t.Fatalf("handlerFor names %s, not a wire string constant", sel.Sel.Name)
						}
						types = append(types, v)
					}
				}
			}
			return true
		})
		return false
	})
	if len(types) < 20 {
		t.Fatalf("found only %d request types in handlerFor", len(types))
	}
	return types
}

// fuzzConn is a bare WebSocket client for FuzzRequest: one request at a
// time, events skipped.
type fuzzConn struct {
	ws     *websocket.Conn
	nextID uint64
	closed error // the read error once the server closed the connection
}

func dialFuzz(url string) (*fuzzConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	ws.SetReadLimit(4 << 20)
	return &fuzzConn{ws: ws}, nil
}

// roundTrip sends a request of typ with the raw payload data (none when
// empty) and returns its reply, or the reply with id 0 that an undecodable
// frame gets. A connection the server closes first returns the read error.
func (c *fuzzConn) roundTrip(typ string, data []byte) (wire.Frame, error) {
	c.nextID++
	id := c.nextID
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"type":%s,"id":%d`, strconv.Quote(typ), id)
	if len(data) > 0 {
		buf.WriteString(`,"data":`)
		buf.Write(data)
	}
	buf.WriteByte('}')
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, buf.Bytes()); err != nil {
		c.closed = err
		return wire.Frame{}, err
	}
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			c.closed = err
			return wire.Frame{}, err
		}
		f, err := wire.Decode(b)
		if err != nil {
			return wire.Frame{}, fmt.Errorf("the server sent an undecodable frame %q: %w", b, err)
		}
		if (f.Type == wire.TypeResult || f.Type == wire.TypeError) && (f.ID == id || f.ID == 0) {
			return f, nil
		}
	}
}

// fuzzErrorCodes are the codes a request may be refused with.
var fuzzErrorCodes = map[int]bool{
	wire.CodeBadRequest: true, wire.CodeUnauthorized: true, wire.CodeForbidden: true, wire.CodeNotFound: true,
	wire.CodeConflict: true, wire.CodeTooLarge: true, wire.CodeRateLimited: true, wire.CodeInvalidLink: true,
	wire.CodeCallEnded: true, wire.CodeCallFull: true, wire.CodeNotInCall: true,
}

// fuzzCloses are the close codes with which the hub may end a connection
// because of what it sent.
var fuzzCloses = map[websocket.StatusCode]bool{
	wire.CloseProtocol: true, wire.CloseAuthFailed: true, wire.CloseLoggedOut: true, wire.CloseRateLimited: true,
}

// FuzzRequest sends one request of the type its first byte picks, with the
// fuzzed payload, to a real hub over a real WebSocket, on a signed-in or a
// fresh connection: the hub never panics, answers exactly that request
// (or refuses an undecodable frame) with a result or a typed error that is
// not internal, and the connection still answers a ping unless the hub
// closed it for a documented reason. "$ROOM", "$LINK" and "$BOB" in the
// payload become the room ID and link of the last call the signed-in user
// made and the JID of another online user, so inputs reach past the look-ups.
// The seed corpus is in testdata/fuzz/FuzzRequest.
func FuzzRequest(f *testing.F) {
	e := newEnv(f, Config{
		RateLimit: 1e9, RateBurst: 1 << 30, RegisterBurst: 1 << 30, RingsPerMinute: 1 << 20,
		PairRingBurst: 1 << 20, MaxMeetLinksPerUser: 1 << 20, MaxMeetLinksPerIP: 1 << 20,
	})
	e.register("bob") // online, so calls to him ring
	var (
		signed, anon *fuzzConn
		accounts     int
		room, link   = "none", "abc-defg-hij"
	)
	f.Cleanup(func() { // before the hub shuts down (cleanups run last first)
		for _, c := range []*fuzzConn{signed, anon} {
			if c != nil {
				c.ws.CloseNow()
			}
		}
	})
	f.Add(true, uint8(8), []byte(`{"to":["$BOB"],"callType":"audio"}`))
	f.Fuzz(func(t *testing.T, signedIn bool, pick uint8, data []byte) {
		var err error
		if signed == nil || signed.closed != nil {
			if signed, err = dialFuzz(e.url); err != nil {
				t.Fatal(err)
			}
			accounts++
			reg := fmt.Sprintf(`{"username":"fuzz%d","password":"correct horse"}`, accounts)
			if r, err := signed.roundTrip(wire.TypeRegister, []byte(reg)); err != nil || r.Type != wire.TypeResult {
				t.Fatalf("register a fuzzing account: %+v %v", r, err)
			}
		}
		if anon == nil || anon.closed != nil {
			if anon, err = dialFuzz(e.url); err != nil {
				t.Fatal(err)
			}
		}
		c := anon
		if signedIn {
			c = signed
		}
		typ := fuzzTypes[int(pick)%len(fuzzTypes)]
		data = bytes.ReplaceAll(data, []byte("$ROOM"), []byte(room))
		data = bytes.ReplaceAll(data, []byte("$LINK"), []byte(link))
		data = bytes.ReplaceAll(data, []byte("$BOB"), []byte(jid("bob")))

		reply, err := c.roundTrip(typ, data)
		if err != nil {
			if c.closed != nil && fuzzCloses[websocket.CloseStatus(err)] {
				return
			}
			t.Fatalf("%s %q: no reply: %v", typ, data, err)
		}
		if reply.Type == wire.TypeError {
			re := reply.Error
			if re == nil || !fuzzErrorCodes[re.Code] || re.Reason == "" || re.Message == "" || !utf8.ValidString(re.Message) {
				t.Fatalf("%s %q: refused with %+v, want a typed error that is not internal", typ, data, re)
			}
		} else if c == signed {
			var res wire.CallResult
			if json.Unmarshal(reply.Data, &res) == nil && res.Call.RoomID != "" {
				room, link = res.Call.RoomID, res.Call.Link
			}
		}
		pong, err := c.roundTrip(wire.TypePing, nil)
		switch {
		case err != nil && c.closed != nil && fuzzCloses[websocket.CloseStatus(err)]:
		case err != nil:
			t.Fatalf("ping after %s %q: %v", typ, data, err)
		case pong.Type != wire.TypeResult:
			t.Fatalf("ping after %s %q: %+v", typ, data, pong)
		}
	})
}

// FuzzLinkCode checks the call link parser: any link and display name are
// either refused with a typed error (100601 for the link, 400 for the
// name) or give a code of the abc-defg-hij shape and a clean name, which
// checkLink accepts again unchanged. The seed corpus is in
// testdata/fuzz/FuzzLinkCode.
func FuzzLinkCode(f *testing.F) {
	f.Add("https://example.com/join/abc-defg-hij", "Ana")
	f.Fuzz(func(t *testing.T, link, name string) {
		code, clean, e := checkLink(wire.LinkRequest{Link: link, DisplayName: name})
		if e != nil {
			if (e.Code != wire.CodeInvalidLink && e.Code != wire.CodeBadRequest) || e.Message == "" || code != "" || clean != "" {
				t.Fatalf("checkLink(%q, %q) refused with %+v (%q, %q)", link, name, e, code, clean)
			}
			return
		}
		if !linkRE.MatchString(code) || !wire.ValidLinkCode(code) {
			t.Fatalf("checkLink(%q) gave the code %q", link, code)
		}
		code2, clean2, e := checkLink(wire.LinkRequest{Link: code, DisplayName: clean})
		if e != nil || code2 != code || clean2 != clean {
			t.Fatalf("checkLink of its own output (%q, %q) = %q, %q, %v", code, clean, code2, clean2, e)
		}
	})
}
