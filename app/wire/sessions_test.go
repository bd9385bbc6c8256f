//go:build !(js && wasm)

package wire

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestClosingNotice: when the transport loses the close code (here the
// server drops the TCP connection after the notice, as the browser's
// WebSocket wrapper loses it), Conn reports the code of the EventClosing
// notice, and does not hand the notice to onEvent.
func TestClosingNotice(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ctx := r.Context()
		_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"call.update","seq":1,"data":{}}`))
		_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"closing","data":{"code":4015,"reason":"revoked"}}`))
		_ = ws.CloseNow()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closed := make(chan int, 1)
	var types []string
	events := make(chan struct{}, 4)
	c, err := Dial(ctx, WSURL(srv.URL), func(f Frame) { types = append(types, f.Type); events <- struct{}{} },
		func(code int, _ error) { closed <- code })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case code := <-closed:
		if code != CloseRevoked {
			t.Fatalf("onClose code %d, want %d from the notice", code, CloseRevoked)
		}
	case <-ctx.Done():
		t.Fatal("the connection did not close")
	}
	<-events
	if strings.Join(types, ",") != "call.update" {
		t.Fatalf("onEvent got %v, want only the event", types)
	}
}
