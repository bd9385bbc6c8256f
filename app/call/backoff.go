package call

import (
	"math/rand/v2"
	"time"
)

// Backoff is the policy for reconnecting to the signalling server:
// exponential backoff with full jitter. Attempt n (from 0) waits a uniformly
// random time in [0, min(cap, First·2ⁿ)), so a thousand clients that lost
// the server at the same instant spread their retries over the cap instead
// of arriving together, and each one tries again soon: while the outage is
// younger than Patience the cap is Cap, so a client is back within about Cap
// of the server listening again; after that it is LongCap, to spare the
// clients' batteries and a server that stays away.
type Backoff struct {
	// First bounds the first delay.
	First time.Duration
	// Cap bounds every delay while the outage is shorter than Patience.
	Cap time.Duration
	// Patience is how long an outage keeps the short Cap.
	Patience time.Duration
	// LongCap bounds the delays after Patience.
	LongCap time.Duration
}

// DefaultBackoff is the engine's policy: the first retry within 250 ms, then
// at most 1 s apart for the first 30 s of an outage, at most 5 s after.
func DefaultBackoff() Backoff {
	return Backoff{First: 250 * time.Millisecond, Cap: time.Second, Patience: 30 * time.Second, LongCap: 5 * time.Second}
}

// Delay is how long to wait before attempt (0 for the first) when the outage
// has lasted outage so far; r is a random number in [0, 1).
func (b Backoff) Delay(attempt int, outage time.Duration, r float64) time.Duration {
	limit := b.Cap
	if outage >= b.Patience {
		limit = b.LongCap
	}
	ceil := b.First
	for i := 0; i < attempt && ceil < limit; i++ {
		ceil *= 2
	}
	ceil = min(ceil, limit)
	if r < 0 || r >= 1 {
		r = 0
	}
	return time.Duration(r * float64(ceil))
}

// Next is Delay with a random number from the runtime's generator.
func (b Backoff) Next(attempt int, outage time.Duration) time.Duration {
	return b.Delay(attempt, outage, rand.Float64())
}
