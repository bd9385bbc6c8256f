package hub

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// conn is one WebSocket. Its reader is the ServeHTTP goroutine. Writes are
// queued and done by a writer goroutine that runs only while there is
// something to write, so an idle connection costs one goroutine.
type conn struct {
	ws     *websocket.Conn
	remote string
	limit  int // most frames queued before the connection counts as too slow

	device string // deviceLabel of the upgrade request's User-Agent

	// Guarded by Hub.mu.
	sess      *session    // the signed-in session, nil before sign-in and after logout
	authed    bool        // signed in at least once: the auth timeout no longer applies
	authTimer *time.Timer // closes the connection if nobody signs in
	idleTimer *time.Timer // closes the connection when nothing arrives (reset per frame, without Hub.mu)

	// mu guards the queue and the closing state. It is taken after Hub.mu, or
	// alone by the writer, never the other way round.
	mu      sync.Mutex
	q       [][]byte
	qBytes  int
	writing bool // a writer goroutine is running
	done    bool // the WebSocket is closed (or being closed by the writer)
	closing bool
	drain   bool // write what is queued before closing
	code    websocket.StatusCode
	reason  string
	writers sync.WaitGroup
}

func newConn(ws *websocket.Conn, remote string, limit int) *conn {
	return &conn{ws: ws, remote: remote, limit: limit}
}

// kick starts a writer unless one is running. Called with c.mu held.
func (c *conn) kick() {
	if !c.writing && !c.done {
		c.writing = true
		c.writers.Add(1)
		go c.writeLoop()
	}
}

// enqueue queues a frame for the writer. A connection whose queue is full is
// too slow: it is cut, dropping what is queued (its session keeps the events
// for a resume).
func (c *conn) enqueue(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	if len(c.q) >= c.limit || c.qBytes+len(frame) > MaxQueuedBytes {
		// The writer is probably blocked on a full socket: cut the
		// connection rather than wait for its write timeout. CloseNow
		// does not write, and returns at once.
		c.closing, c.drain, c.code, c.reason = true, false, CloseTooSlow, "too slow"
		c.q, c.qBytes = nil, 0
		c.done = true
		c.writers.Add(1)
		go func() {
			defer c.writers.Done()
			c.ws.CloseNow()
		}()
		return
	}
	c.q = append(c.q, frame)
	c.qBytes += len(frame)
	c.kick()
}

// close asks the writer to close the connection with code, after the queued
// frames when drain is set. Only the first close counts.
func (c *conn) close(code websocket.StatusCode, reason string, drain bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.closing, c.drain, c.code, c.reason = true, drain, code, reason
	if !drain {
		c.q, c.qBytes = nil, 0
	}
	c.kick()
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// wait waits for the writer goroutines. Only after close.
func (c *conn) wait() { c.writers.Wait() }

// writeLoop writes queued frames until the queue is empty, then exits; when
// the connection is closing it writes what must be drained and closes it.
func (c *conn) writeLoop() {
	defer c.writers.Done()
	for {
		c.mu.Lock()
		q := c.q
		c.q, c.qBytes = nil, 0
		closing, drain, code, reason := c.closing, c.drain, c.code, c.reason
		if len(q) == 0 && !closing {
			c.writing = false
			c.mu.Unlock()
			return
		}
		if closing && (!drain || len(q) == 0) {
			c.done = true
			c.mu.Unlock()
			c.ws.Close(code, reason)
			return
		}
		c.mu.Unlock()
		for _, frame := range q {
			ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			err := c.ws.Write(ctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				c.mu.Lock()
				c.closing, c.done, c.q, c.qBytes = true, true, nil, 0
				c.mu.Unlock()
				c.ws.CloseNow()
				return
			}
		}
	}
}
