package call

import (
	"context"
	"encoding/json"

	"parley/app/wire"
)

// SendCustomData sends any JSON value (at most the server's MaxCustomData
// bytes encoded, 64 KiB by default) to every other participant of the current
// call, in order. Outside a call it is 100609, like every method that needs one.
func (e *Engine) SendCustomData(ctx context.Context, data json.RawMessage) error {
	room, err := e.joinedRoom()
	if err != nil {
		return err
	}
	if len(data) == 0 || !json.Valid(data) {
		return wire.BadRequest("Custom data must be a JSON value.")
	}
	if max := e.Limits().MaxCustomData; len(data) > max {
		return wire.TooLarge("Custom data is limited to %d KiB; send less at a time.", max>>10)
	}
	return e.send(ctx, wire.TypeCallData, wire.DataRequest{RoomID: room, Data: data}, nil)
}
