package hub

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// TestCustomData: order, isolation, limits.
func TestCustomData(t *testing.T) {
	e := newEnv(t, Config{RateLimit: 10000, RateBurst: 10000})
	alice, bob, carol, erin := e.register("alice"), e.register("bob"), e.register("carol"), e.register("erin")
	call := groupCall(t, alice, wire.TypeAudio, "", "bob", "carol")
	answer(t, bob, call)
	answer(t, carol, call)
	sub := e.dial("watcher")
	sub.must(wire.TypeGuest, wire.GuestRequest{DisplayName: "Watcher"}, nil)
	sub.must(wire.TypeLinkSubscribe, wire.LinkRequest{Link: call.Link}, nil)

	const n = 100
	ids := make([]uint64, n)
	for i := range n {
		ids[i] = alice.send(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(fmt.Sprintf(`{"n": %d, "s": "<&>"}`, i))})
	}
	for _, id := range ids {
		if f := alice.reply(id); f.Type != wire.TypeResult {
			t.Fatalf("data %d: %+v", id, f.Error)
		}
	}
	for _, c := range []*client{bob, carol} {
		c.wait("100 data events", func() bool {
			k := 0
			for _, e := range c.events {
				if e.Type == wire.EventData {
					k++
				}
			}
			return k == n
		})
		c.mu.Lock()
		i := 0
		for _, e := range c.events {
			if e.Type != wire.EventData {
				continue
			}
			var d wire.DataEvent
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			var v struct {
				N int    `json:"n"`
				S string `json:"s"`
			}
			if err := json.Unmarshal(d.Data, &v); err != nil || v.N != i || v.S != "<&>" || d.From != jid("alice") || d.RoomID != call.RoomID {
				t.Errorf("%s: data #%d = %s from %s (%v)", c.name, i, d.Data, d.From, err)
			}
			e.used = true
			i++
		}
		c.mu.Unlock()
	}
	for _, c := range []*client{alice, erin, sub} {
		c.quiet(wire.EventData)
	}

	// Limits and errors.
	// Exactly at the limit, with characters Go's encoder would escape (written
	// by hand, as a browser would send it).
	at := `"` + strings.Repeat("<", wire.MaxCustomDataBytes-2) + `"`
	raw := `{"type":"call.data","id":5000,"data":{"roomId":"` + call.RoomID + `","data":` + at + `}}`
	if err := alice.sendRaw(websocket.MessageText, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if r := alice.reply(5000); r.Type != wire.TypeResult {
		t.Fatalf("data at the limit: %+v", r.Error)
	}
	d, f := payload[wire.DataEvent](t, bob, wire.EventData, nil)
	if string(d.Data) != at {
		t.Errorf("relayed %d bytes, not the same", len(d.Data))
	}
	if len(f.Data) > wire.MaxCustomDataBytes+200 {
		t.Errorf("event data of %d bytes", len(f.Data))
	}
	over := json.RawMessage(`"` + strings.Repeat("x", wire.MaxCustomDataBytes) + `"`)
	alice.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: over}, wire.CodeBadRequest, wire.ReasonTooLarge)
	alice.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID}, wire.CodeBadRequest, "bad_request")
	alice.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`null`)}, wire.CodeBadRequest, "bad_request")
	erin.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`1`)}, wire.CodeNotInCall, wire.ReasonNotInCall)
	sub.fails(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: json.RawMessage(`1`)}, wire.CodeNotInCall, wire.ReasonNotInCall)
	bob.quiet(wire.EventData)
}
