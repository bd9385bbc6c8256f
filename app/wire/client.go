package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by requests on a connection that has closed.
var ErrClosed = errors.New("wire: connection closed")

// Conn is one client WebSocket to the signalling server. It correlates replies
// with requests by ID and hands server events, in order, to the handler given to
// Dial. It works natively (coder/websocket's client, socket_other.go) and in
// the browser (the browser's WebSocket, socket_js.go).
type Conn struct {
	ws      *socket
	nextID  atomic.Uint64
	lastSeq atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan Frame
	err     error // set once closed
	done    chan struct{}

	writeMu sync.Mutex
}

// WSURL turns a server origin ("http://host:port", "https://host", "ws://...")
// into the WebSocket URL of its /ws endpoint.
func WSURL(server string) string {
	s := strings.TrimRight(server, "/")
	switch {
	case strings.HasPrefix(s, "https://"):
		s = "wss://" + strings.TrimPrefix(s, "https://")
	case strings.HasPrefix(s, "http://"):
		s = "ws://" + strings.TrimPrefix(s, "http://")
	}
	if !strings.HasSuffix(s, "/ws") {
		s += "/ws"
	}
	return s
}

// Dial opens a connection to url (see WSURL). onEvent receives every server
// event on one goroutine, in order; it must not call Request synchronously
// (start a goroutine instead). onClose runs once when the connection ends,
// with the close code (or -1 when there was none).
func Dial(ctx context.Context, url string, onEvent func(Frame), onClose func(code int, err error)) (*Conn, error) {
	ws, err := dialSocket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("wire: dial %s: %w", url, err)
	}
	c := &Conn{ws: ws, pending: map[uint64]chan Frame{}, done: make(chan struct{})}
	events := make(chan Frame, 256)
	go func() {
		for f := range events {
			onEvent(f)
		}
	}()
	go c.readLoop(events, onClose)
	return c, nil
}

func (c *Conn) readLoop(events chan<- Frame, onClose func(int, error)) {
	var (
		err    error
		notice int // the code of an EventClosing notice
	)
	defer func() {
		close(events)
		c.mu.Lock()
		c.err = err
		for id, ch := range c.pending {
			close(ch)
			delete(c.pending, id)
		}
		c.mu.Unlock()
		close(c.done)
		code := closeCode(err)
		if code == -1 && notice != 0 {
			code = notice
		}
		if onClose != nil {
			onClose(code, err)
		}
	}()
	for {
		var text bool
		var b []byte
		text, b, err = c.ws.read()
		if err != nil {
			return
		}
		if !text {
			continue
		}
		f, derr := Decode(b)
		if derr != nil {
			continue // a server we cannot understand; skip the frame
		}
		if f.Type == TypeResult || f.Type == TypeError {
			c.mu.Lock()
			ch := c.pending[f.ID]
			delete(c.pending, f.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- f
			}
			continue
		}
		if f.Type == EventClosing {
			var n ClosingNotice
			if json.Unmarshal(f.Data, &n) == nil {
				notice = n.Code
			}
			continue
		}
		if f.Seq != 0 {
			c.lastSeq.Store(f.Seq)
		}
		events <- f
	}
}

// LastSeq is the sequence number of the last event received.
func (c *Conn) LastSeq() uint64 { return c.lastSeq.Load() }

// SetLastSeq seeds the sequence number (after resuming a session on a new Conn).
func (c *Conn) SetLastSeq(seq uint64) { c.lastSeq.Store(seq) }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Request sends a request and waits for its reply. A successful reply's payload
// is unmarshalled into out (when out is not nil). An error reply is returned as
// *Error; transport failures are returned wrapped.
func (c *Conn) Request(ctx context.Context, typ string, payload, out any) error {
	id := c.nextID.Add(1)
	f, err := Request(typ, id, payload)
	if err != nil {
		return err
	}
	if id == 1 {
		f.V = Version // the first frame says which protocol this client speaks
	}
	b, err := Encode(f)
	if err != nil {
		return err
	}
	ch := make(chan Frame, 1)
	c.mu.Lock()
	if c.err != nil || isClosed(c.done) {
		c.mu.Unlock()
		return ErrClosed
	}
	c.pending[id] = ch
	c.mu.Unlock()
	drop := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}
	c.writeMu.Lock()
	err = c.ws.write(ctx, b)
	c.writeMu.Unlock()
	if err != nil {
		drop()
		return fmt.Errorf("wire: send %s: %w", typ, err)
	}
	select {
	case reply, ok := <-ch:
		if !ok {
			return ErrClosed
		}
		if reply.Type == TypeError {
			return reply.Error
		}
		if out != nil && len(reply.Data) > 0 {
			if err := json.Unmarshal(reply.Data, out); err != nil {
				return fmt.Errorf("wire: decode %s reply: %w", typ, err)
			}
		}
		return nil
	case <-ctx.Done():
		drop()
		return fmt.Errorf("wire: %s: %w", typ, ctx.Err())
	}
}

// Close closes the connection normally.
func (c *Conn) Close() error {
	return c.ws.close()
}

// Abort drops the connection without a closing handshake (as a network failure would).
func (c *Conn) Abort() error {
	return c.ws.abort()
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
