package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// A stream is one byte stream between two nodes (a net.Conn): a client's
// WebSocket or HTTP request carried from a gateway to the leader. Each
// message on NATS is one chunk: a kind byte, an 8-byte sequence number and
// the bytes.
const (
	kindData = 'd'
	kindFin  = 'f' // the sender closed its side: no more bytes
	// kindReset: the sender dropped the stream (its reader fell behind, it
	// saw a gap, it never finished opening it): no more bytes either way.
	// It carries sequence number 0 and is taken whatever came before.
	kindReset = 'r'
	header    = 9

	// chunkBytes is the most bytes one message carries.
	chunkBytes = 32 << 10
	// maxBuffered is the most bytes a stream holds unread; a reader that
	// far behind is reset (its client resumes on a new socket).
	maxBuffered = 4 << 20
)

var (
	errPeerGone   = errors.New("cluster: the peer node went silent")
	errNodeClosed = errors.New("cluster: node closed")
	errGap        = errors.New("cluster: a message of the stream was lost")
	errOverflow   = errors.New("cluster: the stream's reader fell too far behind")
	errPeerReset  = errors.New("cluster: the peer reset the stream")
	// errLeaderChanged: the stream's peer led and another node leads now.
	errLeaderChanged = errors.New("cluster: the leader changed")
)

type stream struct {
	n    *Node
	id   string
	peer string // the other node's ID
	out  string // subject of the bytes bound for the peer
	born time.Time

	mu       sync.Mutex
	buf      bytes.Buffer
	rseq     uint64 // the next sequence number expected
	wseq     uint64 // the last one sent
	rerr     error  // what Read returns once buf is empty: io.EOF or a reset
	closed   bool
	deadline time.Time     // read deadline
	wake     chan struct{} // signalled when something above changes
}

// newStream makes this node's end of stream id with peer. The two ends
// have distinct keys ("d" for the dialer's, "a" for the acceptor's), so
// that a node may even open a stream to itself.
func (n *Node) newStream(id, peer string, dialer bool) *stream {
	key, peerKey := "a"+id, "d"+id
	if dialer {
		key, peerKey = peerKey, key
	}
	return &stream{n: n, id: key, peer: peer, out: n.subject("s", peer, peerKey), born: time.Now(), rseq: 1, wake: make(chan struct{}, 1)}
}

func (s *stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Read reads the peer's bytes in order.
func (s *stream) Read(p []byte) (int, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.buf.Len() > 0 {
			n, _ := s.buf.Read(p)
			s.mu.Unlock()
			return n, nil
		}
		if s.closed {
			s.mu.Unlock()
			return 0, net.ErrClosed
		}
		if s.rerr != nil {
			err := s.rerr
			s.mu.Unlock()
			return 0, err
		}
		dl := s.deadline
		s.mu.Unlock()
		var expired <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			expired = timer.C
		}
		select {
		case <-s.wake:
		case <-expired:
		}
	}
}

// Write sends p to the peer, in chunks.
func (s *stream) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), chunkBytes)
		if err := s.send(kindData, p[:k]); err != nil {
			return written, err
		}
		written += k
		p = p[k:]
	}
	return written, nil
}

func (s *stream) send(kind byte, p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	if s.rerr != nil && s.rerr != io.EOF {
		return s.rerr
	}
	s.wseq++
	msg := make([]byte, header+len(p))
	msg[0] = kind
	binary.BigEndian.PutUint64(msg[1:header], s.wseq)
	copy(msg[header:], p)
	// Published under mu, so that chunks leave in sequence order.
	if err := s.n.nc.Publish(s.out, msg); err != nil {
		return fmt.Errorf("cluster: stream write: %w", err)
	}
	return nil
}

// Close ends the stream: the peer reads EOF.
func (s *stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	live := s.rerr == nil || s.rerr == io.EOF
	s.mu.Unlock()
	var err error
	if live {
		err = s.send(kindFin, nil)
	}
	s.mu.Lock()
	s.closed = true
	s.buf.Reset()
	s.mu.Unlock()
	s.n.forget(s)
	s.signal()
	return err
}

// reset ends the stream at once with err. The peer is told, unless it is
// the one that went away or reset it.
func (s *stream) reset(err error) {
	s.mu.Lock()
	first := !s.closed && (s.rerr == nil || s.rerr == io.EOF)
	if first {
		s.rerr = err
	}
	s.buf.Reset()
	s.mu.Unlock()
	if first && err != errPeerGone && err != errPeerReset && err != errLeaderChanged {
		s.n.sendReset(s.out)
	}
	s.n.forget(s)
	s.signal()
}

// sendReset tells the peer on subject out that its stream is dropped.
func (n *Node) sendReset(out string) {
	msg := make([]byte, header)
	msg[0] = kindReset
	if err := n.nc.Publish(out, msg); err != nil {
		n.log.Debug("stream reset", "err", err)
	}
}

// take handles one message of the peer's.
func (s *stream) take(m []byte) {
	if len(m) < header {
		s.reset(errGap)
		return
	}
	if m[0] == kindReset {
		s.reset(errPeerReset)
		return
	}
	seq := binary.BigEndian.Uint64(m[1:header])
	s.mu.Lock()
	if s.closed || s.rerr != nil {
		s.mu.Unlock()
		return
	}
	if seq != s.rseq {
		s.mu.Unlock()
		s.reset(errGap)
		return
	}
	s.rseq++
	switch m[0] {
	case kindData:
		if s.buf.Len()+len(m)-header > maxBuffered {
			s.mu.Unlock()
			s.reset(errOverflow)
			return
		}
		s.buf.Write(m[header:])
	case kindFin:
		s.rerr = io.EOF
	}
	s.mu.Unlock()
	s.signal()
}

func (s *stream) LocalAddr() net.Addr  { return addr("nats:" + s.n.id) }
func (s *stream) RemoteAddr() net.Addr { return addr("nats:" + s.peer) }

// SetDeadline sets the read deadline; writes do not block.
func (s *stream) SetDeadline(t time.Time) error { return s.SetReadDeadline(t) }

// SetReadDeadline makes a blocked or later Read fail after t.
func (s *stream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.deadline = t
	s.mu.Unlock()
	s.signal()
	return nil
}

// SetWriteDeadline does nothing: a write hands its bytes to NATS at once.
func (s *stream) SetWriteDeadline(time.Time) error { return nil }

type addr string

func (a addr) Network() string { return "nats" }
func (a addr) String() string  { return string(a) }

func (n *Node) forget(s *stream) {
	n.mu.Lock()
	if n.streams[s.id] == s {
		delete(n.streams, s.id)
	}
	n.mu.Unlock()
}

// onData hands a message to its stream; messages for a stream this node
// no longer has are dropped.
func (n *Node) onData(m *nats.Msg) {
	id := m.Subject[len(n.subject("s", n.id))+1:]
	n.mu.Lock()
	s := n.streams[id]
	n.mu.Unlock()
	if s != nil {
		s.take(m.Data)
	}
}

// openRequest is a gateway's request to the leader to accept a stream.
type openRequest struct {
	Stream string `json:"stream"`
	From   string `json:"from"`
}

// Dial opens a stream to the node holding the lease, waiting for one while
// none does, while the lease names a node that has gone, or while the
// leader is not listening yet (it restores its calls first), until ctx
// ends.
func (n *Node) Dial(ctx context.Context) (net.Conn, error) {
	retry := n.cfg.Lease / 15
	for {
		leader, err := n.Leader(ctx)
		if err == nil && leader != "" {
			c, err := n.open(ctx, leader)
			if err == nil {
				return c, nil
			}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("cluster: no leader to reach: %w", ctx.Err())
		}
		sleep(ctx, retry)
	}
}

var errRefused = errors.New("cluster: the leader refused the stream")

// openTimeout bounds one attempt to open a stream; a leader that is gone
// answers at once (NATS has no responder for it).
const openTimeout = 2 * time.Second

func (n *Node) open(ctx context.Context, leader string) (net.Conn, error) {
	id := newID()
	s := n.newStream(id, leader, true)
	n.mu.Lock()
	n.streams[s.id] = s
	n.mu.Unlock()
	req, _ := json.Marshal(openRequest{Stream: id, From: n.id})
	c, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	reply, err := n.nc.RequestWithContext(c, n.subject("open", leader), req)
	if err != nil {
		// The leader may have taken it and its reply be late: tell it.
		s.reset(err)
		return nil, fmt.Errorf("cluster: open a stream to %s: %w", leader, err)
	}
	if string(reply.Data) != "ok" {
		n.forget(s)
		return nil, fmt.Errorf("%w: %s", errRefused, reply.Data)
	}
	return s, nil
}

// onOpen accepts a stream a gateway opens, if this node listens.
func (n *Node) onOpen(m *nats.Msg) {
	var req openRequest
	if err := json.Unmarshal(m.Data, &req); err != nil || req.Stream == "" || req.From == "" ||
		len(req.Stream) > 64 || len(req.From) > 64 {
		_ = m.Respond([]byte("bad request"))
		return
	}
	n.mu.Lock()
	ln := n.ln
	if ln == nil {
		n.mu.Unlock()
		_ = m.Respond([]byte("not leading"))
		return
	}
	s := n.newStream(req.Stream, req.From, false)
	select {
	case ln.ch <- s:
		n.streams[s.id] = s
		n.mu.Unlock()
		_ = m.Respond([]byte("ok"))
	default:
		n.mu.Unlock()
		_ = m.Respond([]byte("busy"))
	}
}

// Listen returns the listener of the streams gateways open to this node;
// while it is open this node accepts them. Close it when the node stops
// leading.
func (n *Node) Listen() (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln != nil {
		return nil, errors.New("cluster: already listening")
	}
	n.ln = &listener{n: n, ch: make(chan *stream, 256), done: make(chan struct{})}
	return n.ln, nil
}

type listener struct {
	n    *Node
	ch   chan *stream
	done chan struct{}
	once sync.Once
}

// Accept returns the next stream a gateway opened.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case s := <-l.ch:
		return s, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; streams accepted and not yet taken are reset.
func (l *listener) Close() error {
	l.once.Do(func() {
		l.n.mu.Lock()
		if l.n.ln == l {
			l.n.ln = nil
		}
		l.n.mu.Unlock()
		close(l.done)
		for {
			select {
			case s := <-l.ch:
				s.reset(net.ErrClosed)
			default:
				return
			}
		}
	})
	return nil
}

func (l *listener) Addr() net.Addr { return addr("nats:" + l.n.id) }
