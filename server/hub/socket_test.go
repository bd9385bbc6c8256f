package hub

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"parley/app/wire"
)

// TestUpgradeEarlyFrame: a client that sends its first frame in the same
// packet as the upgrade request is served. net/http has read those bytes
// with the request, and the hub's own reader (leanWriter) must start with
// them.
func TestUpgradeEarlyFrame(t *testing.T) {
	e := newEnv(t, Config{})
	nc, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(waitTimeout))

	req := "GET /ws HTTP/1.1\r\nHost: " + nc.RemoteAddr().String() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	var packet []byte
	packet = append(packet, req...)
	for id := uint64(1); id <= 2; id++ { // two frames: the second must not be lost either
		f, err := wire.Request(wire.TypePing, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := wire.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		packet = append(packet, maskedTextFrame(payload)...)
	}
	if _, err := nc.Write(packet); err != nil {
		t.Fatal(err)
	}

	br := bufio.NewReader(nc)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", res.Status)
	}
	for id := uint64(1); id <= 2; id++ {
		payload, err := readServerFrame(br)
		if err != nil {
			t.Fatalf("reply %d: %v", id, err)
		}
		f, err := wire.Decode(payload)
		if err != nil {
			t.Fatalf("reply %d: %v", id, err)
		}
		if f.ID != id {
			t.Fatalf("got %s for request %d, want the reply to request %d", payload, f.ID, id)
		}
	}
}

// maskedTextFrame is a client's WebSocket text frame (RFC 6455 5.2) of a
// payload under 64 KiB.
func maskedTextFrame(payload []byte) []byte {
	key := [4]byte{1, 2, 3, 4}
	out := []byte{0x81}
	if len(payload) < 126 {
		out = append(out, 0x80|byte(len(payload)))
	} else {
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(len(payload)))
	}
	out = append(out, key[:]...)
	for i, b := range payload {
		out = append(out, b^key[i%4])
	}
	return out
}

// readServerFrame reads one unmasked, unfragmented text frame.
func readServerFrame(r *bufio.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("frame header: %w", err)
	}
	if h[0] != 0x81 {
		return nil, fmt.Errorf("frame header %#x, want a final text frame", h[0])
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, fmt.Errorf("frame length: %w", err)
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, fmt.Errorf("frame length: %w", err)
		}
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, fmt.Errorf("frame payload: %w", err)
	}
	return p, nil
}

// TestFanoutToManyTabs: an event for more tabs than get a writer goroutine
// each is written by the fan-out writer (writeFanout) and reaches every tab,
// small frames (a ring to 20 tabs of one user) and frames too big for it
// (custom data to 11 members of a call), which it hands to writers of
// their own.
func TestFanoutToManyTabs(t *testing.T) {
	e := newEnv(t, Config{MaxParticipants: 12, RateLimit: 1e6, RateBurst: 1 << 20, RegisterBurst: 20})
	many := e.register("many")
	tabs := []*client{many}
	for i := range 19 {
		tabs = append(tabs, e.tab(many, fmt.Sprintf("many-%d", i)))
	}
	caller := e.register("caller")
	ring := create(t, caller, wire.TypeAudio, "many")
	for _, c := range tabs {
		if ce := c.callEvent(wire.EventIncoming); ce.Call.RoomID != ring.RoomID {
			t.Fatalf("%s: rung for %s, want %s", c.name, ce.Call.RoomID, ring.RoomID)
		}
	}
	caller.must(wire.TypeCallEnd, room(ring), nil)

	var names []string
	var members []*client
	for i := range 11 {
		n := fmt.Sprintf("member%02d", i)
		names = append(names, n)
		members = append(members, e.register(n))
	}
	call := groupCall(t, caller, wire.TypeAudio, "", names...)
	for _, m := range members {
		m.callEvent(wire.EventIncoming)
		answer(t, m, call)
	}
	blob, err := json.Marshal(strings.Repeat("x", 3*quickFrameBytes))
	if err != nil {
		t.Fatal(err)
	}
	caller.must(wire.TypeCallData, wire.DataRequest{RoomID: call.RoomID, Data: blob}, nil)
	for _, m := range members {
		f := m.event(wire.EventData, nil)
		var d wire.DataEvent
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if string(d.Data) != string(blob) {
			t.Fatalf("%s: got %d bytes of data, want %d", m.name, len(d.Data), len(blob))
		}
	}
}
