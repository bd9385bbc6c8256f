package hub

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
)

// This file keeps an idle WebSocket small. After the upgrade,
// github.com/coder/websocket reads and writes through the bufio.Reader and
// bufio.Writer that net/http's Hijack hands over, 4 KiB each, for the whole
// life of the connection: most of what an idle signed-in socket costs. The
// hub hands the library smaller ones instead (leanWriter), sized for
// signalling frames: a request or an event that does not fit is read or
// written in one more system call, not truncated or copied.

// Buffer sizes of an upgraded connection. Most requests (ping, relay of a
// candidate) fit in upgradeReadBuffer; a bigger frame's payload is read
// straight into the message. A ring or a call update fits in
// upgradeWriteBuffer with its frame header, so it goes out in one write; a
// bigger one takes two.
const (
	upgradeReadBuffer  = 256
	upgradeWriteBuffer = 1024
)

// leanWriter wraps the ResponseWriter of an upgrade request so that Hijack
// returns small buffers (see above). Bytes net/http had already read past
// the request are handed over in the new reader's buffer, where the library
// looks for them.
type leanWriter struct {
	http.ResponseWriter

	// Set by Hijack.
	br  *bufio.Reader   // the reader handed to the library
	raw syscall.RawConn // the socket, for a plain TCP connection (nil with TLS or early bytes)
	nc  net.Conn        // the connection
}

// Hijack takes over the connection from net/http and drops its buffers.
func (w *leanWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("hijack: flush: %w", err)
		}
	}
	size := upgradeReadBuffer
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, err := brw.Reader.Peek(n)
		if err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("hijack: buffered bytes: %w", err)
		}
		early = append(early, b...)
		size = max(size, n)
	}
	br := bufio.NewReaderSize(nc, size)
	if len(early) > 0 {
		// Into br's buffer, where the library looks for them.
		br.Reset(io.MultiReader(bytes.NewReader(early), nc))
		if _, err := br.Peek(len(early)); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("hijack: buffered bytes: %w", err)
		}
	}
	w.br, w.nc = br, nc
	// With early bytes, the library moves them out of br's buffer into a
	// reader of its own, where the socket cannot tell they are waiting:
	// such a connection (a client that does not wait for the upgrade's
	// answer) is read without waiting for the socket first.
	if sc, ok := nc.(syscall.Conn); ok && len(early) == 0 {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
		}
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, upgradeWriteBuffer)), nil
}

// Unwrap lets http.ResponseController reach the server's ResponseWriter.
func (w *leanWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
