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
type ipLimiter struct {
	limit rate.Limit
	burst int

	mu    sync.Mutex
	ips   map[string]*ipEntry
	swept time.Time
}

type ipEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(r float64, burst int) *ipLimiter {
	return &ipLimiter{limit: rate.Limit(r), burst: burst, ips: make(map[string]*ipEntry)}
}

// allow reports whether one more event from remote (host:port or host) is
// within the limit, and counts it.
func (l *ipLimiter) allow(remote string) bool {
	ip := remote
	if host, _, err := net.SplitHostPort(remote); err == nil {
		ip = host
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > ipIdle {
		for k, e := range l.ips {
			if now.Sub(e.seen) > ipIdle {
				delete(l.ips, k)
			}
		}
		l.swept = now
	}
	e := l.ips[ip]
	if e == nil {
		e = &ipEntry{lim: rate.NewLimiter(l.limit, l.burst)}
		l.ips[ip] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}
