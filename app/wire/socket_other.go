//go:build !(js && wasm)

package wire

import (
	"context"

	"github.com/coder/websocket"
)

// socket is a Conn's WebSocket: natively coder/websocket's client (the
// browser's own WebSocket in the wasm, socket_js.go).
type socket struct{ ws *websocket.Conn }

// dialSocket opens a WebSocket to url, waiting at most until ctx is done.
func dialSocket(ctx context.Context, url string) (*socket, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(MaxFrameBytes)
	return &socket{ws: ws}, nil
}

// read returns the next message and whether it is text; an error once the
// connection has ended (see closeCode).
func (s *socket) read() (text bool, b []byte, err error) {
	typ, b, err := s.ws.Read(context.Background())
	return typ == websocket.MessageText, b, err
}

// write sends b as one text message.
func (s *socket) write(ctx context.Context, b []byte) error {
	return s.ws.Write(ctx, websocket.MessageText, b)
}

// close closes the connection normally, with the closing handshake.
func (s *socket) close() error { return s.ws.Close(websocket.StatusNormalClosure, "bye") }

// abort drops the connection without the closing handshake.
func (s *socket) abort() error { return s.ws.CloseNow() }

// closeCode is the close code of read's error, -1 when the connection ended
// without one.
func closeCode(err error) int { return int(websocket.CloseStatus(err)) }
