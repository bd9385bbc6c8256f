// Package cluster runs several Parley instances as one, over NATS.
//
// One instance at a time leads: it holds a lease in a NATS JetStream
// key-value bucket and runs the signalling hub (calls, tabs, ringing,
// timers). Every other instance is a gateway: it serves the app itself and
// carries each client's WebSocket (and the few HTTP requests the hub
// answers) to the leader as a byte stream over NATS (Dial on the gateway,
// Listener on the leader), so that a client may connect to any instance and
// no load balancer needs sticky sessions. Messages of one stream travel in
// order on one subject and carry a sequence number; a gap, a peer that
// stops sending heartbeats or a buffer over its bound resets the stream, and
// the client reconnects and resumes its session like after any dropped
// socket.
//
// When the leader dies, its lease runs out and another instance takes it;
// its hub restores the live calls from the shared database (PostgreSQL),
// and the clients, whose streams to the dead leader were reset, resume
// there. A leader that stops on purpose hands the lease over at once.
//
// Subjects, under Config.Prefix ("parley" by default):
//
//	<prefix>.alive.<node>        heartbeat of each instance (HeartbeatEvery)
//	<prefix>.open.<node>         a gateway asks the leader to accept a stream (request/reply)
//	<prefix>.leader              a node that took the lease says so
//	<prefix>.s.<node>.<end>      a stream's bytes bound for <node>: <end> is "d" (the
//	                             dialer's end) or "a" (the acceptor's) and the stream's ID
//
// and the bucket <prefix>_lead holds the key "leader": the leading node's ID.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Config.
const (
	DefaultPrefix = "parley"
	// DefaultLease is how long a lease lasts without renewal: an instance
	// that dies is replaced after at most this long.
	DefaultLease = time.Second
	// HeartbeatEvery is how often an instance says it is alive.
	HeartbeatEvery = 250 * time.Millisecond
	// DefaultPeerTimeout is how long a peer may stay silent before the
	// streams with it are reset. It is a backstop: the streams to a leader
	// that died are reset as soon as another leads (followLease), and a
	// gateway's clients whose instance died reconnect elsewhere at once.
	DefaultPeerTimeout = 5 * time.Second
)

const leaderKey = "leader"

// Config says how to join a cluster.
type Config struct {
	// URL is the NATS server's URL (several, comma-separated, for a NATS
	// cluster).
	URL string
	// Prefix is the first token of every subject and of the bucket's name,
	// so that several Parley clusters may share one NATS.
	Prefix string
	// Lease is how long the leader's lease lasts without renewal
	// (DefaultLease). The leader renews it five times per lease and steps
	// down when it could not renew it for three quarters of one.
	Lease time.Duration
	// PeerTimeout: see DefaultPeerTimeout.
	PeerTimeout time.Duration
	// Logger receives the cluster's events (slog.Default()).
	Logger *slog.Logger
}

// Node is this instance's membership of the cluster.
type Node struct {
	cfg Config
	id  string
	log *slog.Logger
	nc  *nats.Conn
	js  jetstream.JetStream

	kvMu sync.Mutex
	kv   jetstream.KeyValue // the lease's bucket; made again when NATS lost it (bucket)

	leading atomic.Bool

	mu      sync.Mutex
	streams map[string]*stream   // by stream ID, both directions
	seen    map[string]time.Time // last heartbeat of each peer
	ln      *listener            // accepting streams, while leading

	lastLeader string // the lease's holder when last read (followLease)

	subs []*nats.Subscription
	stop chan struct{}
	wg   sync.WaitGroup
}

// Join connects to NATS and starts this node's heartbeat. Close leaves.
func Join(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.URL == "" {
		return nil, errors.New("cluster: no NATS URL")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(cfg.Prefix, ".*> ") {
		return nil, fmt.Errorf("cluster: prefix %q must be one subject token", cfg.Prefix)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.PeerTimeout <= 0 {
		cfg.PeerTimeout = DefaultPeerTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	id := newID()
	n := &Node{
		cfg: cfg, id: id, log: cfg.Logger.With("node", id),
		streams: make(map[string]*stream), seen: make(map[string]time.Time), stop: make(chan struct{}),
	}
	nc, err := nats.Connect(cfg.URL, nats.Name("parley "+id), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { n.log.Warn("NATS disconnected", "err", err) }),
		nats.ReconnectHandler(func(*nats.Conn) { n.log.Info("NATS reconnected") }))
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS: %w", err)
	}
	n.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	n.js = js
	if _, err := n.makeBucket(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	for _, s := range []struct {
		subj string
		fn   nats.MsgHandler
	}{
		{n.subject("alive", "*"), n.onAlive},
		{n.subject("s", id, "*"), n.onData},
		{n.subject("open", id), n.onOpen},
		{n.subject("leader"), n.onLeader},
	} {
		sub, err := nc.Subscribe(s.subj, s.fn)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("cluster: subscribe %s: %w", s.subj, err)
		}
		// A stream's bound is its own (maxBuffered); the subscription
		// must never drop a message of it.
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			nc.Close()
			return nil, fmt.Errorf("cluster: pending limits: %w", err)
		}
		n.subs = append(n.subs, sub)
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: NATS flush: %w", err)
	}
	n.wg.Add(1)
	go n.heartbeat()
	n.log.Info("joined the cluster", "nats", nc.ConnectedUrlRedacted(), "prefix", cfg.Prefix, "lease", cfg.Lease)
	return n, nil
}

// ID is this node's random ID, new on every Join.
func (n *Node) ID() string { return n.id }

// Ready returns an error while this node is not connected to NATS (it
// cannot reach the others, nor they it).
func (n *Node) Ready() error {
	if !n.nc.IsConnected() {
		return fmt.Errorf("cluster: not connected to NATS (%s)", n.nc.Status())
	}
	return nil
}

// Leading reports whether this node holds the lease now.
func (n *Node) Leading() bool { return n.leading.Load() }

// Close resets every stream, stops the heartbeat and leaves NATS. Stop
// leading first (end Lead's context).
func (n *Node) Close() error {
	close(n.stop)
	n.wg.Wait()
	n.mu.Lock()
	streams := make([]*stream, 0, len(n.streams))
	for _, s := range n.streams {
		streams = append(streams, s)
	}
	n.mu.Unlock()
	for _, s := range streams {
		s.reset(errNodeClosed)
	}
	n.nc.Close()
	return nil
}

// makeBucket makes (or finds) the lease's bucket. It is kept in memory by
// NATS, so a NATS server that restarts has lost it: the campaign makes it
// again.
func (n *Node) makeBucket(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: n.cfg.Prefix + "_lead", Description: "Parley's leader lease", History: 1,
		TTL: n.cfg.Lease, Storage: jetstream.MemoryStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket (does the NATS server run JetStream?): %w", err)
	}
	n.kvMu.Lock()
	n.kv = kv
	n.kvMu.Unlock()
	return kv, nil
}

// bucket is the lease's bucket.
func (n *Node) bucket() jetstream.KeyValue {
	n.kvMu.Lock()
	defer n.kvMu.Unlock()
	return n.kv
}

// Leader returns the ID of the node holding the lease, or "" if none does.
func (n *Node) Leader(ctx context.Context) (string, error) {
	e, err := n.bucket().Get(ctx, leaderKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cluster: read the lease: %w", err)
	}
	return string(e.Value()), nil
}

func (n *Node) subject(tokens ...string) string {
	return n.cfg.Prefix + "." + strings.Join(tokens, ".")
}

// heartbeat says this node is alive and resets the streams of silent peers.
func (n *Node) heartbeat() {
	defer n.wg.Done()
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	alive := n.subject("alive", n.id)
	for {
		if err := n.nc.Publish(alive, nil); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			n.log.Debug("heartbeat", "err", err)
		}
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		n.resetSilent(time.Now())
		n.followLease()
	}
}

// followLease resets the streams to a node that no longer holds the lease
// once another does: a leader that died is known to be gone as soon as its
// lease has run out and another node took it, sooner than its silence
// would tell (PeerTimeout). A leader that stepped down closes its streams
// itself.
func (n *Node) followLease() {
	ctx, cancel := context.WithTimeout(context.Background(), HeartbeatEvery)
	defer cancel()
	now, err := n.Leader(ctx)
	if err != nil || now == "" {
		return
	}
	n.leaderIs(now)
}

// onLeader hears a node announce that it took the lease: the streams to the
// last leader are reset at once, not at the next heartbeat's look.
func (n *Node) onLeader(m *nats.Msg) {
	if id := string(m.Data); id != "" && len(id) <= 64 {
		n.leaderIs(id)
	}
}

// leaderIs records that now holds the lease, resetting the streams to the
// node that held it before.
func (n *Node) leaderIs(now string) {
	n.mu.Lock()
	was := n.lastLeader
	n.lastLeader = now
	var gone []*stream
	if was != "" && was != now && was != n.id {
		for _, s := range n.streams {
			if s.peer == was {
				gone = append(gone, s)
			}
		}
	}
	n.mu.Unlock()
	for _, s := range gone {
		s.reset(errLeaderChanged)
	}
	if len(gone) > 0 {
		n.log.Info("streams to the last leader reset", "leader", was, "now", now, "streams", len(gone))
	}
}

func (n *Node) onAlive(m *nats.Msg) {
	peer := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	n.mu.Lock()
	n.seen[peer] = time.Now()
	n.mu.Unlock()
}

// resetSilent resets the streams whose peer has not been heard from for
// PeerTimeout, and forgets peers silent for long.
func (n *Node) resetSilent(now time.Time) {
	var dead []*stream
	n.mu.Lock()
	for _, s := range n.streams {
		// Silent since the stream began: a stream opened just after a
		// NATS outage must not be blamed for the peer's missed beats.
		last := n.seen[s.peer]
		if s.born.After(last) {
			last = s.born
		}
		if now.Sub(last) > n.cfg.PeerTimeout {
			dead = append(dead, s)
		}
	}
	for p, last := range n.seen {
		if now.Sub(last) > 10*n.cfg.PeerTimeout {
			delete(n.seen, p)
		}
	}
	n.mu.Unlock()
	for _, s := range dead {
		n.log.Info("stream reset: its peer went silent", "peer", s.peer)
		s.reset(errPeerGone)
	}
}

// Lead campaigns for the lease until ctx ends. Whenever this node holds
// it, run runs with a context that ends when the lease is lost (or ctx
// ends); Lead waits for run to return before it campaigns again. When ctx
// ends while leading, the lease is released once run has returned, so that
// another node takes over at once.
func (n *Node) Lead(ctx context.Context, run func(ctx context.Context)) {
	poll := n.cfg.Lease / 15
	for ctx.Err() == nil {
		rev, err := n.bucket().Create(ctx, leaderKey, []byte(n.id))
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyExists) && ctx.Err() == nil {
				n.log.Debug("campaign", "err", err)
				if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) ||
					errors.Is(err, jetstream.ErrNoStreamResponse) {
					if _, err := n.makeBucket(ctx); err != nil {
						n.log.Warn("campaign", "err", err)
					}
				}
			}
			sleep(ctx, poll)
			continue
		}
		n.log.Info("leading")
		if err := n.nc.Publish(n.subject("leader"), []byte(n.id)); err != nil {
			n.log.Debug("announce the lead", "err", err)
		}
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		n.leading.Store(true)
		go func() {
			defer close(done)
			run(lctx)
		}()
		rev, quit := n.keep(lctx, rev, done)
		n.leading.Store(false)
		cancel()
		<-done
		if (quit || ctx.Err() != nil) && rev != 0 {
			// Hand over: the others need not wait for the lease to run out.
			dctx, dcancel := context.WithTimeout(context.Background(), time.Second)
			if err := n.bucket().Delete(dctx, leaderKey, jetstream.LastRevision(rev)); err != nil {
				n.log.Debug("release the lease", "err", err)
			}
			dcancel()
		}
		n.log.Info("no longer leading")
		if quit {
			// run gave up (its hub could not start): let another node try
			// first.
			sleep(ctx, n.cfg.Lease)
		}
	}
}

// keep renews the lease at revision rev until ctx ends, run returns (done
// closes: quit) or renewal fails for too long; it returns the last revision
// held (0 when lost).
func (n *Node) keep(ctx context.Context, rev uint64, done <-chan struct{}) (last uint64, quit bool) {
	every := n.cfg.Lease / 5
	t := time.NewTicker(every)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return rev, false
		case <-done:
			return rev, true
		case <-t.C:
		}
		c, cancel := context.WithTimeout(ctx, n.cfg.Lease/2)
		r, err := n.bucket().Update(c, leaderKey, []byte(n.id), rev)
		cancel()
		if err == nil {
			rev, renewed = r, time.Now()
			continue
		}
		if ctx.Err() != nil {
			return rev, false
		}
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) ||
			errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			n.log.Warn("lease lost to another node", "err", err)
			return 0, false
		}
		// Step down before the lease can run out on the server, so that
		// two nodes never lead at once.
		if time.Since(renewed) > n.cfg.Lease*3/4 {
			n.log.Warn("lease not renewed in time: stepping down", "err", err)
			return 0, false
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func newID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("cluster: crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}
