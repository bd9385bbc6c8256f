package hub

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

// frame is one outgoing WebSocket text message in up to three pieces, so
// that an event sent to thousands of tabs shares its payload (data) instead
// of copying it into every tab's frame: head is the envelope up to the
// payload, and brace is set when a closing brace follows it. A reply is all
// head.
type frame struct {
	head, data []byte
	brace      bool
}

// size is the frame's length on the wire.
func (f frame) size() int {
	n := len(f.head) + len(f.data)
	if f.brace {
		n++
	}
	return n
}

// bytes returns the frame as one message, allocating only when it is in
// pieces.
func (f frame) bytes() []byte {
	if len(f.data) == 0 && !f.brace {
		return f.head
	}
	b := make([]byte, 0, f.size())
	b = append(b, f.head...)
	b = append(b, f.data...)
	if f.brace {
		b = append(b, '}')
	}
	return b
}

// textHeader is the header of a WebSocket text frame from a server (FIN,
// opcode 1, unmasked) with n bytes of payload, n under 64 KiB, written
// into hdr.
func textHeader(n int, hdr *[4]byte) []byte {
	hdr[0] = 0x81
	if n < 126 {
		hdr[1] = byte(n)
		return hdr[:2]
	}
	hdr[1] = 126
	hdr[2], hdr[3] = byte(n>>8), byte(n)
	return hdr[:4]
}

// wireSize is f's length on the wire as a frame of its own (textHeader).
func (f frame) wireSize() int {
	var hdr [4]byte
	return len(textHeader(f.size(), &hdr)) + f.size()
}

// frameVecs is f as a frame on the wire in pieces for writev: the header
// (in hdr), the head, the data and the brace, less the first skip bytes.
func frameVecs(f frame, hdr *[4]byte, skip int) [][]byte {
	iov := make([][]byte, 0, 4)
	iov = append(iov, textHeader(f.size(), hdr), f.head)
	if len(f.data) > 0 {
		iov = append(iov, f.data)
	}
	if f.brace {
		iov = append(iov, closeBrace)
	}
	return skipVecs(iov, skip)
}

// closeBrace ends a frame whose data is in a piece of its own.
var closeBrace = []byte{'}'}

// skipVecs drops the first n bytes of iov.
func skipVecs(iov [][]byte, n int) [][]byte {
	for len(iov) > 0 && n >= len(iov[0]) {
		n -= len(iov[0])
		iov = iov[1:]
	}
	if len(iov) > 0 && n > 0 {
		iov[0] = iov[0][n:]
	}
	return iov
}

// conn is one WebSocket. Its reader is the goroutine of Hub.serve. Writes are
// queued and done by a writer goroutine that runs only while there is
// something to write, so an idle connection costs one goroutine.
type conn struct {
	ws     *websocket.Conn
	remote string
	limit  int     // most frames queued before the connection counts as too slow
	bud    *budget // the hub's queued-bytes budget, shared by every connection
	// writeTimeout bounds one frame write: a peer that takes nothing for
	// that long is closed.
	writeTimeout time.Duration

	device string // deviceLabel of the upgrade request's User-Agent

	// For a plain TCP socket: the library's reader and the socket, so that
	// the reader can wait for bytes without a deep stack (read).
	br  *bufio.Reader
	raw syscall.RawConn
	nc  net.Conn

	// Guarded by Hub.mu.
	sess      *session    // the signed-in session, nil before sign-in and after logout
	authed    bool        // signed in at least once: the auth timeout no longer applies
	authTimer *time.Timer // closes the connection if nobody signs in
	idleTimer *time.Timer // closes the connection when nothing arrives (reset per frame, without Hub.mu)

	// queued mirrors qBytes for the budget's eviction scan, which reads it
	// without c.mu.
	queued atomic.Int64

	// mu guards the queue and the closing state. It is taken after Hub.mu, or
	// alone by the writer, never the other way round; the budget's lock is
	// never taken while it is held.
	mu      sync.Mutex
	q       []frame
	qBytes  int
	writing bool // a writer goroutine is running
	done    bool // the WebSocket is closed (or being closed by the writer)
	closing bool
	drain   bool // write what is queued before closing
	code    websocket.StatusCode
	reason  string
	writers sync.WaitGroup
}

func newConn(ws *websocket.Conn, remote string, limit int, bud *budget, writeTimeout time.Duration) *conn {
	return &conn{ws: ws, remote: remote, limit: limit, bud: bud, writeTimeout: writeTimeout}
}

// readEach reads messages and passes each to fn until reading fails.
//
// For a plain TCP socket, the goroutine that lives as long as the connection
// waits for bytes a few hundred bytes deep (waitReadable), and the reading
// and handling run on a goroutine of its own (readActive), which keeps
// reading while messages keep coming and ends once the connection has been
// quiet for readLinger. The library's Read and the handlers need more than
// the smallest goroutine stack (2 KiB), and the runtime never shrinks a
// grown stack back to it while the goroutine is parked that deep: so an
// idle connection's goroutine keeps the smallest stack, and a busy one
// reads without a goroutine switch per message.
func (c *conn) readEach(ctx context.Context, fn func(websocket.MessageType, []byte)) error {
	if c.raw == nil {
		for {
			typ, data, err := c.ws.Read(ctx)
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			fn(typ, data)
		}
	}
	for {
		if c.mustWait() {
			waitReadable(c.raw)
		}
		var err error
		onOwnStack(func() { err = c.readActive(ctx, fn) })
		if err != nil {
			return err
		}
	}
}

// readLinger is how long a connection's reader stays on its grown stack
// after a message, waiting for the next one (see readEach).
const readLinger = 500 * time.Millisecond

// readActive reads messages until none arrives for readLinger.
func (c *conn) readActive(ctx context.Context, fn func(websocket.MessageType, []byte)) error {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		fn(typ, data)
		if c.mustWait() && !waitReadableFor(c.nc, c.raw, readLinger) {
			return nil
		}
	}
}

// mustWait reports whether the reader must wait for the socket before its
// next Read: nothing is buffered and the connection is not closing. The
// library reads br only in Read and, once the connection is closing, in its
// close handshake; under c.mu with closing unset no handshake is running.
func (c *conn) mustWait() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closing && c.br.Buffered() == 0
}

// kick starts a writer unless one is running, now or, with a starter, when
// the starter is flushed. Called with c.mu held.
func (c *conn) kick(st *starter) {
	if !c.writing && !c.done {
		c.writing = true
		c.writers.Add(1)
		if st != nil {
			st.conns = append(st.conns, c)
			return
		}
		go c.writeLoop()
	}
}

// starter defers starting writer goroutines: a fan-out to thousands of tabs
// queues its frames under the hub's lock and starts their writers after,
// from one goroutine, so the lock is not held for thousands of go
// statements. The hub's starter is used under Hub.mu.
type starter struct{ conns []*conn }

// flush starts the deferred writers. A few get a goroutine each. Many (a
// ring to every tab of a user) are written one after the other by one
// goroutine per processor but one (writeFanout): thousands of writer
// goroutines would keep every processor busy until the last frame is out,
// and the scheduler looks for other connections' requests only when a
// processor runs out of work, so every other user would wait for the whole
// fan-out.
func (st *starter) flush() {
	cs := st.conns
	st.conns = nil
	if len(cs) <= 8 {
		for _, c := range cs {
			go c.writeLoop()
		}
		return
	}
	// All processors but one, so that one is left for everyone else.
	n := min(max(runtime.GOMAXPROCS(0)-1, 1), len(cs))
	for i := range n {
		go writeFanout(cs[i*len(cs)/n : (i+1)*len(cs)/n])
	}
}

// writeFanout is the writer of each of cs in turn: it writes each queue at
// once while the frames are small and the socket has room for them, so
// that no write can block, and leaves the rest of a queue (or a closing
// connection) to a writer goroutine of its own.
func writeFanout(cs []*conn) {
	if len(cs) == 0 {
		return
	}
	for _, c := range cs {
		c.writeQuick()
	}
}

// quickFrameBytes is the largest frame writeFanout writes itself.
const quickFrameBytes = 2048

// writeQuick writes c's queued frames while each is small, each with one
// system call that does not wait (sendFrame), and leaves the rest (a big
// frame, a full socket, a close, a TLS connection) to a writer goroutine of
// its own. The caller is c's writer (kick counted it).
//
// The frames are framed here rather than by the library: its Write costs a
// ring to 5,000 tabs about a third more CPU (a lock, a timeout set up and
// torn down, a buffered copy), and knowing whether the socket had room took
// one more system call per tab (poll). Our frames never interleave: c has
// one writer at a time, and a frame the socket took only part of is
// finished by that writer, on a goroutine of its own (finishLoop), before
// it writes anything else. The library writes on its own only a pong to a
// client's ping (browsers send none, nor does Parley's client) and the
// close that answers a client's close; either could land between the two
// parts of such a frame, which garbles only that client's own stream.
func (c *conn) writeQuick() {
	for {
		c.mu.Lock()
		if c.done || (!c.closing && len(c.q) == 0) {
			if !c.done {
				c.q = nil
			}
			c.writing = false
			c.mu.Unlock()
			c.writers.Done()
			return
		}
		if c.closing || c.q[0].size() > quickFrameBytes || c.raw == nil {
			c.mu.Unlock()
			go c.writeLoop()
			return
		}
		f := c.q[0]
		c.mu.Unlock()
		n, err := sendFrame(c.raw, f, 0)
		switch {
		case err != nil:
			c.wrote(f, err)
			c.writers.Done()
			return
		case n == 0: // the socket is full: its writer waits for room
			go c.writeLoop()
			return
		case n < f.wireSize():
			go c.finishLoop(f, n)
			return
		}
		c.wrote(f, nil)
	}
}

// finishLoop writes the rest of f, of which skip bytes went out, then goes
// on as c's writer (writeLoop).
func (c *conn) finishLoop(f frame, skip int) {
	if !c.wrote(f, finishFrame(c.nc, c.raw, f, skip, time.Now().Add(c.writeTimeout))) {
		c.writers.Done()
		return
	}
	c.writeLoop()
}

// setQueue replaces the queue and returns its bytes to the budget. Called
// with c.mu held.
func (c *conn) setQueue(q []frame, n int) {
	if d := n - c.qBytes; d != 0 {
		c.bud.add(int64(d))
	}
	c.q, c.qBytes = q, n
	c.queued.Store(int64(n))
}

// enqueue queues a frame for the writer. A connection whose queue is full is
// too slow: it is cut, dropping what is queued (its session keeps the events
// for a resume). When the frame does not fit in the hub's budget of queued
// bytes, the connections holding the most queued bytes are cut first
// (budget.evict), this one included if it holds the most.
//
// With st set, a writer that must start is left to st (see starter).
func (c *conn) enqueue(f frame, st *starter) {
	n := f.size()
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return
		}
		if len(c.q) >= c.limit || c.qBytes+n > MaxQueuedBytesPerConn {
			// The writer is probably blocked on a full socket: cut the
			// connection rather than wait for its write timeout.
			c.cutLocked(CloseTooSlow, "too slow", false)
			c.mu.Unlock()
			return
		}
		if c.bud.reserve(int64(n)) {
			c.q = append(c.q, f)
			c.qBytes += n
			c.queued.Store(int64(c.qBytes))
			c.kick(st)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if !c.bud.evict(int64(n), c, attempt >= 64) {
			return // c was cut
		}
	}
}

// cut closes the connection at once, dropping its queue, with code when the
// close frame can still be written.
func (c *conn) cut(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cutLocked(code, reason, true)
}

// cutLocked: see cut. With handshake unset the socket is closed without a
// close frame (CloseNow does not write, and returns at once). Called with
// c.mu held.
func (c *conn) cutLocked(code websocket.StatusCode, reason string, handshake bool) {
	if c.closing {
		return
	}
	c.closing, c.drain, c.code, c.reason = true, false, code, reason
	c.setQueue(nil, 0)
	c.done = true
	c.writers.Add(1)
	go func() {
		defer c.writers.Done()
		if handshake {
			// Bounded by the library: 5 s to write the close frame, 5 s
			// to hear the peer's; the socket is closed either way.
			c.ws.Close(code, reason)
			return
		}
		c.ws.CloseNow()
	}()
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
		c.setQueue(nil, 0)
	}
	c.kick(nil)
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// closeCode is the code the connection was closed with (0 while open).
func (c *conn) closeCode() websocket.StatusCode {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing {
		return 0
	}
	return c.code
}

// wait waits for the writer goroutines. Only after close.
func (c *conn) wait() { c.writers.Wait() }

// writeLoop writes queued frames until the queue is empty, then exits; when
// the connection is closing it writes what must be drained and closes it.
// A frame's bytes stay counted against the budget until it is written.
func (c *conn) writeLoop() {
	defer c.writers.Done()
	for {
		c.mu.Lock()
		if c.done {
			c.writing = false
			c.mu.Unlock()
			return
		}
		closing, drain, code, reason := c.closing, c.drain, c.code, c.reason
		if len(c.q) == 0 && !closing {
			c.writing = false
			c.q = nil
			c.mu.Unlock()
			return
		}
		if closing && (!drain || len(c.q) == 0) {
			c.done = true
			c.setQueue(nil, 0)
			c.mu.Unlock()
			if code >= 4000 {
				// Clients that cannot read close codes (coder/websocket in
				// the browser) learn this one from the notice.
				ctx, cancel := context.WithTimeout(context.Background(), noticeTimeout)
				err := c.ws.Write(ctx, websocket.MessageText, closingNotice(code, reason))
				cancel()
				if err != nil {
					c.ws.CloseNow()
					return
				}
			}
			c.ws.Close(code, reason)
			return
		}
		f := c.q[0]
		c.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), c.writeTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, f.bytes())
		cancel()
		if !c.wrote(f, err) {
			return
		}
	}
}

// wrote takes f, the first queued frame, off the queue once written. When
// the write failed it closes the connection, marks the writer stopped and
// returns false.
func (c *conn) wrote(f frame, err error) bool {
	c.mu.Lock()
	if err != nil {
		// No close code: the socket is gone. The reason says why (a
		// write timeout, a reset), for whoever looks at the connection.
		c.closing, c.done, c.reason = true, true, "write failed: "+err.Error()
		c.setQueue(nil, 0)
		c.writing = false
		c.mu.Unlock()
		c.ws.CloseNow()
		return false
	}
	if len(c.q) > 0 && !c.done {
		// The queue may have been dropped and refilled meanwhile only
		// if the connection was cut (done), so q[0] is still f.
		c.q[0] = frame{}
		c.setQueue(c.q[1:], c.qBytes-f.size())
	}
	c.mu.Unlock()
	return true
}

// budget is the hub's budget of queued outgoing bytes, shared by every
// connection (Config.MaxQueuedBytes). Reservations are lock-free; eviction
// takes mu, then the victims' locks, never the other way round.
type budget struct {
	limit int64
	used  atomic.Int64

	mu      sync.Mutex
	conns   map[*conn]struct{}
	onEvict func(*conn) // called for each connection evict cuts, without locks
}

func newBudget(limit int64, onEvict func(*conn)) *budget {
	return &budget{limit: limit, conns: make(map[*conn]struct{}), onEvict: onEvict}
}

// reserve counts n more queued bytes if they fit.
func (b *budget) reserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// add returns (negative n) or counts bytes.
func (b *budget) add(n int64) { b.used.Add(n) }

func (b *budget) track(c *conn) {
	b.mu.Lock()
	b.conns[c] = struct{}{}
	b.mu.Unlock()
}

func (b *budget) untrack(c *conn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

// evict cuts the connections holding the most queued bytes, one at a time,
// until n more bytes fit, with wire.CloseOverloaded. It returns false when
// it cut self: self held the most, nothing else was left to cut, or giveUp
// was set (self keeps losing the race for freed bytes).
func (b *budget) evict(n int64, self *conn, giveUp bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.used.Load()+n > b.limit {
		var victim *conn
		var most int64
		for c := range b.conns {
			if q := c.queued.Load(); q > most {
				victim, most = c, q
			}
		}
		if victim == nil || giveUp || n > b.limit {
			victim = self
		}
		delete(b.conns, victim) // a cut connection queues nothing more
		victim.cut(CloseOverloaded, "server overloaded: too slow to read")
		if b.onEvict != nil {
			b.onEvict(victim)
		}
		if victim == self {
			return false
		}
	}
	return true
}

// noticeTimeout bounds the write of a closing notice: a peer that does not
// take it in that time gets no close handshake either.
const noticeTimeout = 2 * time.Second

// closingNotice is the wire.EventClosing frame written right before a close
// with an application code (4000 and up).
func closingNotice(code websocket.StatusCode, reason string) []byte {
	b, err := wire.Marshal(wire.Frame{Type: wire.EventClosing, Data: mustJSON(wire.ClosingNotice{Code: int(code), Reason: reason})})
	if err != nil {
		return []byte(`{"type":"` + wire.EventClosing + `","data":{"code":` + strconv.Itoa(int(code)) + `}}`)
	}
	return b
}
