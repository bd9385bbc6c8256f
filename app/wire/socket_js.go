//go:build js && wasm

package wire

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall/js"
	"time"
)

// socket is a Conn's WebSocket in the browser: the browser's own, driven
// through syscall/js. coder/websocket's browser build wraps the same object,
// but brings net/http and crypto/tls into the wasm for its types, and in the
// browser it could neither report a server's close code nor drop a
// connection (abort: it asked the browser for close code 1001, which the
// browser refuses).
type socket struct {
	ws    js.Value
	names []string  // the events listened to
	funcs []js.Func // their listeners, released once closed

	mu     sync.Mutex
	queue  [][]byte // text messages not read yet
	ended  bool     // closed, by either side or by abort
	code   int      // the close code, -1 for none
	reason string
	signal chan struct{} // a message or the end is waiting (capacity 1)
	done   chan struct{} // closed with the browser's close event
	once   sync.Once
}

// closeError is read's error once the connection has ended with a close
// code; it is an ErrClosed. An end without a code is ErrClosed itself.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("%v (%d %s)", ErrClosed, e.code, e.reason)
}

func (e *closeError) Unwrap() error { return ErrClosed }

// dialSocket opens a WebSocket to url, waiting at most until ctx is done.
func dialSocket(ctx context.Context, url string) (s *socket, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("new WebSocket: %v", r)
		}
	}()
	ws := js.Global().Get("WebSocket").New(url)
	ws.Set("binaryType", "arraybuffer")
	s = &socket{ws: ws, code: -1, signal: make(chan struct{}, 1), done: make(chan struct{})}
	opened := make(chan struct{})
	s.listen("open", func(js.Value) { close(opened) })
	s.listen("message", s.message)
	s.listen("close", func(ev js.Value) {
		s.end(ev.Get("code").Int(), ev.Get("reason").String())
		s.once.Do(func() { close(s.done) })
		s.release()
	})
	// An error event is always followed by the close event.
	select {
	case <-opened:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("the connection closed before it opened (%d)", s.code)
	case <-ctx.Done():
		s.abort()
		return nil, ctx.Err()
	}
}

// listen adds a listener for the socket's lifetime.
func (s *socket) listen(name string, fn func(ev js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		fn(args[0])
		return nil
	})
	s.names = append(s.names, name)
	s.funcs = append(s.funcs, f)
	s.ws.Call("addEventListener", name, f)
}

// release removes the listeners; it runs inside the close event.
func (s *socket) release() {
	for i, f := range s.funcs {
		s.ws.Call("removeEventListener", s.names[i], f)
		f.Release()
	}
	s.names, s.funcs = nil, nil
}

// message queues a text message for read; it runs on the page's event loop
// and does not block. The server sends only text.
func (s *socket) message(ev js.Value) {
	data := ev.Get("data")
	if data.Type() != js.TypeString {
		return
	}
	b := []byte(data.String())
	if len(b) > MaxFrameBytes { // a server we cannot trust: drop the connection
		s.abort()
		return
	}
	s.mu.Lock()
	if !s.ended {
		s.queue = append(s.queue, b)
	}
	s.mu.Unlock()
	s.wake()
}

// end marks the connection ended with code (-1: none) and wakes read.
func (s *socket) end(code int, reason string) {
	s.mu.Lock()
	if !s.ended {
		s.ended, s.code, s.reason = true, code, reason
	}
	s.mu.Unlock()
	s.wake()
}

func (s *socket) wake() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// read returns the next message, always text; once the connection has
// ended and every message before the end has been read, ErrClosed or a
// *closeError carrying the close code.
func (s *socket) read() (text bool, b []byte, err error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			b = s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return true, b, nil
		}
		if s.ended {
			var err error = ErrClosed
			if s.code >= 0 {
				err = &closeError{code: s.code, reason: s.reason}
			}
			s.mu.Unlock()
			return false, nil, err
		}
		s.mu.Unlock()
		<-s.signal
	}
}

// write sends b as one text message. The browser queues it without
// blocking.
func (s *socket) write(_ context.Context, b []byte) (err error) {
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended || s.ws.Get("readyState").Int() != 1 { // OPEN
		return ErrClosed
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("send: %v", r)
		}
	}()
	s.ws.Call("send", string(b))
	return nil
}

// closeWait bounds how long close waits for the server's part of the
// closing handshake.
const closeWait = 3 * time.Second

// close closes the connection normally and waits, at most closeWait, for
// the closing handshake to finish.
func (s *socket) close() error {
	s.ws.Call("close", 1000, "bye")
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		s.end(-1, "")
	}
	return nil
}

// abort drops the connection as a network failure would: read ends at once
// with no close code, and the browser closes the socket in the background
// (a page cannot skip the closing handshake).
func (s *socket) abort() error {
	s.end(-1, "")
	s.ws.Call("close")
	return nil
}

// closeCode is the close code of read's error, -1 when the connection ended
// without one (or the browser reports none: 1005, or 1006 for a connection
// lost without a close frame).
func closeCode(err error) int {
	var ce *closeError
	if !errors.As(err, &ce) || ce.code == 1005 || ce.code == 1006 {
		return -1
	}
	return ce.code
}
