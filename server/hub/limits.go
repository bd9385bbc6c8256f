package hub

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate limits per remote IP address (not configurable; behind a reverse
// proxy every client shares the proxy's address).
const (
	// GuestRate is the sustained guest creations per second per IP.
	GuestRate = 1.0 / 6
	// GuestBurst is the burst of guest creations per IP.
	GuestBurst = 10
	// LinkRate is the sustained link look-ups (link.subscribe, link.join)
	// per second per IP.
	LinkRate = 5
	// LinkBurst is the burst of link look-ups per IP.
	LinkBurst = 10
	// ipIdle is how long an IP's limiter is kept after its last use.
	ipIdle = 10 * time.Minute
)

// ipLimiter is a token bucket per remote IP address. It has its own lock and
// may be used with or without h.mu.
type ipLimiter struct{ b *buckets }

func newIPLimiter(r float64, burst int) *ipLimiter {
	return &ipLimiter{b: newBuckets(r, burst)}
}

// allow reports whether one more event from remote (host:port or host) is
// within the limit, and counts it.
func (l *ipLimiter) allow(remote string) bool {
	return l.b.take(remoteIP(remote))
}

// remoteIP is the host part of a remote address.
func remoteIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// buckets is a token bucket per key (an IP address, an account, a pair of
// them). A key unused for ipIdle is forgotten, so memory follows the keys
// in use, not every key ever seen. It has its own lock.
type buckets struct {
	limit rate.Limit
	burst int

	mu    sync.Mutex
	keys  map[string]*bucketEntry
	swept time.Time
}

type bucketEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newBuckets(r float64, burst int) *buckets {
	return &buckets{limit: rate.Limit(r), burst: burst, keys: make(map[string]*bucketEntry)}
}

// get returns key's bucket, sweeping idle ones now and then. Called with
// b.mu held.
func (b *buckets) get(key string, now time.Time) *rate.Limiter {
	if now.Sub(b.swept) > ipIdle {
		for k, e := range b.keys {
			if now.Sub(e.seen) > ipIdle {
				delete(b.keys, k)
			}
		}
		b.swept = now
	}
	e := b.keys[key]
	if e == nil {
		e = &bucketEntry{lim: rate.NewLimiter(b.limit, b.burst)}
		b.keys[key] = e
	}
	e.seen = now
	return e.lim
}

// take counts one event of key and reports whether it was within the limit.
func (b *buckets) take(key string) bool {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.get(key, now).AllowN(now, 1)
}

// wait is how long until key may have one more event; zero when it may now.
// It counts nothing.
func (b *buckets) wait(key string) time.Duration {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	missing := 1 - b.get(key, now).TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / float64(b.limit) * float64(time.Second))
}
