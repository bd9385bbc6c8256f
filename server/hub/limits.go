package hub

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"parley/app/wire"
	"parley/server/store"
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
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if a = a.Unmap(); a.Is6() {
		// One IPv6 subscriber gets a /64 (or more): counting its addresses
		// one by one would give an attacker 2^64 budgets.
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// buckets is a token bucket per key (an IP address, an account, a pair of
// them): burst tokens, refilled at limit a second, one spent per event.
// A key whose bucket is full again is forgotten, so memory follows the keys
// in use, not every key ever seen. It has its own lock.
type buckets struct {
	limit float64 // tokens a second
	burst int

	mu    sync.Mutex
	keys  map[string]*bucket
	swept time.Time
}

// bucket is one key's tokens as of at.
type bucket struct {
	tokens float64
	at     time.Time
}

func newBuckets(r float64, burst int) *buckets {
	return &buckets{limit: r, burst: burst, keys: make(map[string]*bucket)}
}

// fill brings k's tokens up to now.
func (b *buckets) fill(k *bucket, now time.Time) {
	if d := now.Sub(k.at); d > 0 {
		k.tokens = min(float64(b.burst), k.tokens+d.Seconds()*b.limit)
		k.at = now
	}
}

// get returns key's bucket filled up to now, sweeping full ones every
// ipIdle. Called with b.mu held.
func (b *buckets) get(key string, now time.Time) *bucket {
	if now.Sub(b.swept) > ipIdle {
		for k, e := range b.keys {
			if b.fill(e, now); e.tokens >= float64(b.burst) {
				delete(b.keys, k)
			}
		}
		b.swept = now
	}
	k := b.keys[key]
	if k == nil {
		k = &bucket{tokens: float64(b.burst), at: now}
		b.keys[key] = k
	}
	b.fill(k, now)
	return k
}

// take counts one event of key and reports whether it was within the limit.
func (b *buckets) take(key string) bool { return b.takeN(key, 1) }

// takeN counts n events of key and reports whether they were within the
// limit; when not, nothing is counted.
func (b *buckets) takeN(key string, n int) bool {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.get(key, now)
	if k.tokens < float64(n) {
		return false
	}
	k.tokens -= float64(n)
	return true
}

// give takes back one event of key that take counted (it did not happen
// after all, or should not count).
func (b *buckets) give(key string) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.get(key, now)
	k.tokens = min(float64(b.burst), k.tokens+1)
}

// wait is how long until key may have one more event; zero when it may now.
// It counts nothing.
func (b *buckets) wait(key string) time.Duration { return b.waitN(key, 1) }

// waitN is how long until key may have n more events (n at most the burst);
// zero when it may now. It counts nothing.
func (b *buckets) waitN(key string, n int) time.Duration {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.missing(b.get(key, now), n)
}

// reserve counts one event of key when it is within the limit and returns
// zero; otherwise it counts nothing and returns how long until it would be.
func (b *buckets) reserve(key string) time.Duration {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.get(key, now)
	if k.tokens >= 1 {
		k.tokens--
		return 0
	}
	return b.missing(k, 1)
}

// missing is how long until k (filled up to now) has n tokens. Called with
// b.mu held.
func (b *buckets) missing(k *bucket, n int) time.Duration {
	missing := float64(n) - k.tokens
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / b.limit * float64(time.Second))
}

// Names of the limits counted by Metrics.RateLimited besides those in
// observe.go.
const (
	LimitRegistrations = "registrations" // account registrations per remote IP
	LimitRings         = "rings"         // rings per caller and per caller and callee
	LimitMeetLinks     = "meet_links"    // live meet links per account and remote IP
)

// limitDefaults gives the zero abuse limits of cfg their defaults.
func (cfg *Config) limitDefaults() {
	if cfg.MaxMeetLinksPerUser <= 0 {
		cfg.MaxMeetLinksPerUser = DefaultMaxMeetLinksPerUser
	}
	if cfg.MaxMeetLinksPerIP <= 0 {
		cfg.MaxMeetLinksPerIP = DefaultMaxMeetLinksPerIP
	}
	if cfg.RingsPerMinute <= 0 {
		cfg.RingsPerMinute = DefaultRingsPerMinute
	}
	if cfg.PairRingBurst <= 0 {
		cfg.PairRingBurst = DefaultPairRingBurst
	}
	if cfg.PairRingInterval <= 0 {
		cfg.PairRingInterval = DefaultPairRingInterval
	}
	if cfg.RegisterBurst <= 0 {
		cfg.RegisterBurst = DefaultRegisterBurst
	}
	if cfg.RegisterInterval <= 0 {
		cfg.RegisterInterval = DefaultRegisterInterval
	}
}

// abuseLimits bound what a client may create besides meet links (which the
// core counts): rings per caller and per caller and callee, and account
// registrations per remote address. Its buckets have their own locks; the
// ring checks run under h.mu, so a check and the count after it are one
// step.
type abuseLimits struct {
	caller    *buckets // rings per caller
	pair      *buckets // rings per caller and callee
	register  *buckets // registrations per remote IP
	ringBurst int
}

func newAbuseLimits(cfg Config) *abuseLimits {
	return &abuseLimits{
		caller:    newBuckets(float64(cfg.RingsPerMinute)/60, cfg.RingsPerMinute),
		pair:      newBuckets(1/cfg.PairRingInterval.Seconds(), cfg.PairRingBurst),
		register:  newBuckets(1/cfg.RegisterInterval.Seconds(), cfg.RegisterBurst),
		ringBurst: cfg.RingsPerMinute,
	}
}

// ringWait is how long caller must wait before it may ring callees; zero
// when it may now. It counts nothing. Called with h.mu held.
func (a *abuseLimits) ringWait(caller string, callees []store.User) time.Duration {
	d := a.caller.waitN(caller, min(len(callees), a.ringBurst))
	for _, su := range callees {
		d = max(d, a.pair.wait(caller+"\x00"+su.Username))
	}
	return d
}

// rang counts caller ringing callees. Called with h.mu held, after
// ringWait allowed it.
func (a *abuseLimits) rang(caller string, callees []store.User) {
	a.caller.takeN(caller, min(len(callees), a.ringBurst))
	for _, su := range callees {
		a.pair.take(caller + "\x00" + su.Username)
	}
}

// toRing are the accounts call.invite would ring into the call roomID
// (see call.unrung). Called with h.mu held.
func (k *core) toRing(roomID string, accounts []store.User) []store.User {
	if cl := k.calls[roomID]; cl != nil {
		return cl.unrung(accounts)
	}
	return accounts
}

// unrung are the accounts not already joined or pending in cl: those an
// invite rings.
func (cl *call) unrung(accounts []store.User) []store.User {
	var out []store.User
	for _, su := range accounts {
		if p := cl.byName[su.Username]; p != nil && !p.done {
			if st := cl.status(p); wire.Joined(st) || wire.Pending(st) {
				continue
			}
		}
		out = append(out, su)
	}
	return out
}

// tooManyRings is the 429 for a ring refused by ringWait.
func tooManyRings(wait time.Duration) *wire.Error {
	return wire.RetryLater(wait, "You are calling too often; try again in %s.", wait.Round(time.Second))
}

// meetKey is who created a meet call: the account and its remote IP.
type meetKey struct{ user, ip string }

// meetCounts counts the live meet links per creator and per remote IP. It
// belongs to the core (no lock of its own); its maps are made on first use.
type meetCounts struct {
	byUser map[string]int
	byIP   map[string]int
}

// check refuses a new meet link for key when its account or address has
// cfg's most live ones (a limit of zero is none).
func (m *meetCounts) check(cfg coreConfig, key meetKey) *wire.Error {
	if n := m.byUser[key.user]; cfg.MaxMeetLinksPerUser > 0 && n >= cfg.MaxMeetLinksPerUser {
		return wire.LimitReached("You have %d live meet links, the most an account may have; "+
			"a link ends after it has been unused for %s.", n, cfg.MeetIdleTimeout)
	}
	if n := m.byIP[key.ip]; cfg.MaxMeetLinksPerIP > 0 && n >= cfg.MaxMeetLinksPerIP {
		return wire.LimitReached("Your address has %d live meet links, the most one address may have; "+
			"a link ends after it has been unused for %s.", n, cfg.MeetIdleTimeout)
	}
	return nil
}

// add counts the new meet call cl created by key.
func (m *meetCounts) add(cl *call, key meetKey) {
	if m.byUser == nil {
		m.byUser, m.byIP = make(map[string]int), make(map[string]int)
	}
	cl.meetBy = key
	m.byUser[key.user]++
	m.byIP[key.ip]++
}

// forget uncounts cl when it is a meet call that ends.
func (m *meetCounts) forget(cl *call) {
	if !cl.snap.Meet || m.byUser == nil {
		return
	}
	for _, c := range []struct {
		counts map[string]int
		key    string
	}{{m.byUser, cl.meetBy.user}, {m.byIP, cl.meetBy.ip}} {
		if c.counts[c.key]--; c.counts[c.key] <= 0 {
			delete(c.counts, c.key)
		}
	}
}
