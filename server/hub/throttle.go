package hub

import (
	"strings"
	"sync"
	"time"
)

// Password guessing is slowed down three ways, each a token bucket of
// failed logins (a successful login costs nothing):
//
//   - per account and address: a few tries, then one every 30 s. This is
//     what a single guesser meets.
//   - per address, whatever the account: one address cannot spray
//     passwords over many accounts.
//   - per account, whatever the address: a botnet guessing one account
//     gets about one try every 2 s in all. Addresses that signed in to the
//     account before (in the last 30 days) skip this bucket, so while a
//     distributed attack goes on the owner still signs in from home or
//     work; a new address waits its turn. Signing in with a session token
//     (every device that is already signed in) is never throttled: tokens
//     are 256-bit random and cannot be guessed.
//
// A login takes its budget from the buckets before its password is hashed
// and gets it back when the password was right; a throttled login is
// refused before any hashing, with 429 and retryAfter, so guessing costs the
// server no argon2 work, however many guesses arrive at once. Nothing locks an
// account: the owner is slowed down no more than one address is.
const (
	// LoginPairRate and LoginPairBurst: failed logins per account and address.
	LoginPairRate  = 1.0 / 30
	LoginPairBurst = 5
	// LoginIPRate and LoginIPBurst: failed logins per address, any account.
	LoginIPRate  = 1.0 / 5
	LoginIPBurst = 20
	// LoginAccountRate and LoginAccountBurst: failed logins per account from
	// addresses that never signed in to it.
	LoginAccountRate  = 1.0 / 2
	LoginAccountBurst = 30
	// knownAddressTTL is how long an address that signed in to an account
	// stays known to it.
	knownAddressTTL = 30 * 24 * time.Hour
	// maxKnownAddresses bounds the known addresses kept per account.
	maxKnownAddresses = 16
)

// loginThrottle slows down password guessing. It has its own locks.
type loginThrottle struct {
	pair, ip, account *buckets

	mu    sync.Mutex
	known map[string]map[string]time.Time // account → address → last sign-in
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{
		pair:    newBuckets(LoginPairRate, LoginPairBurst),
		ip:      newBuckets(LoginIPRate, LoginIPBurst),
		account: newBuckets(LoginAccountRate, LoginAccountBurst),
		known:   make(map[string]map[string]time.Time),
	}
}

// loginAttempt is the budget of one failed login, taken from each of the
// login's buckets before its password is checked.
type loginAttempt []bucketKey

// bucketKey is one key of one set of buckets.
type bucketKey struct {
	b   *buckets
	key string
}

// refund gives the budget back: the password was right, or it was never
// checked (the store failed).
func (a loginAttempt) refund() {
	for _, k := range a {
		k.b.give(k.key)
	}
}

// attempt takes one failed login's budget for account from remote before
// its password is checked, so that concurrent guesses cannot all pass a
// check that none of them has counted yet. When a bucket is empty it takes
// nothing and returns how long to wait.
func (t *loginThrottle) attempt(account, remote string) (loginAttempt, time.Duration) {
	account, ip := strings.ToLower(account), remoteIP(remote)
	keys := []bucketKey{{t.pair, account + "\x00" + ip}, {t.ip, ip}}
	if !t.isKnown(account, ip) {
		keys = append(keys, bucketKey{t.account, account})
	}
	for i, k := range keys {
		if !k.b.take(k.key) {
			loginAttempt(keys[:i]).refund()
			var wait time.Duration
			for _, k := range keys {
				wait = max(wait, k.b.wait(k.key))
			}
			return nil, max(wait, time.Millisecond)
		}
	}
	return keys, 0
}

// succeeded remembers remote as an address the account's owner uses.
func (t *loginThrottle) succeeded(account, remote string) {
	account, ip := strings.ToLower(account), remoteIP(remote)
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.known[account]
	if m == nil {
		m = make(map[string]time.Time)
		t.known[account] = m
	}
	m[ip] = now
	if len(m) > maxKnownAddresses {
		oldest, at := "", now
		for a, seen := range m {
			if seen.Before(at) {
				oldest, at = a, seen
			}
		}
		delete(m, oldest)
	}
}

// knownAddress reports whether remote signed in to account within knownAddressTTL.
func (t *loginThrottle) knownAddress(account, remote string) bool {
	return t.isKnown(strings.ToLower(account), remoteIP(remote))
}

// isKnown reports whether ip signed in to account within knownAddressTTL.
func (t *loginThrottle) isKnown(account, ip string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen, ok := t.known[account][ip]
	return ok && time.Since(seen) < knownAddressTTL
}
