package hub

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"parley/app/wire"
)

// checkData checks custom data and returns it compact and unescaped, as the
// call.data event carries it.
func checkData(req wire.DataRequest) (json.RawMessage, *wire.Error) {
	raw := bytes.TrimSpace(req.Data)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, wire.BadRequest("call.data needs data (any JSON value but null).")
	}
	if !utf8.Valid(raw) {
		return nil, wire.BadRequest("call.data data must be valid UTF-8.")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, wire.BadRequest("call.data data is not valid JSON: %v.", err)
	}
	if buf.Len() > wire.MaxCustomDataBytes {
		return nil, wire.TooLarge("Custom data is %d bytes encoded, over the limit of %d.", buf.Len(), wire.MaxCustomDataBytes)
	}
	return buf.Bytes(), nil
}

// data relays custom data (checked by checkData) from tab id to every other
// joined participant of the call roomID.
func (k *core) data(fx *effects, id, roomID string, data json.RawMessage) *wire.Error {
	defer k.readOnly(roomID)()
	t, cl, p, e := k.memberOf(id, roomID)
	if e != nil {
		return e
	}
	// Not HTML-escaped: relayed custom data keeps its size (and bytes).
	payload, err := wire.Marshal(wire.DataEvent{RoomID: roomID, From: t.u.jid, Data: data})
	if err != nil {
		return wire.BadRequest("call.data data could not be encoded: %v.", err)
	}
	for _, q := range cl.parts {
		if q != p && !q.done && wire.Joined(cl.status(q)) {
			fx.emitRaw(q.tab, wire.EventData, payload)
		}
	}
	return nil
}
