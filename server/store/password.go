package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id parameters used for new password hashes.
// Existing hashes carry their own parameters and keep verifying after a change.
type PasswordParams struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultPasswordParams follow the OWASP recommendation for argon2id:
// 19 MiB, 2 passes, 1 thread.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from a stored hash, so a corrupted or hostile
// row cannot make verification allocate gigabytes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	maxKeyLen    = 128
	maxSaltLen   = 128
)

var b64 = base64.RawStdEncoding

func (p PasswordParams) validate() error {
	if p.Memory < 8*uint32(max(p.Threads, 1)) || p.Memory > maxMemoryKiB {
		return fmt.Errorf("argon2id memory %d KiB out of range", p.Memory)
	}
	if p.Time < 1 || p.Time > maxTime {
		return fmt.Errorf("argon2id time %d out of range", p.Time)
	}
	if p.Threads < 1 {
		return errors.New("argon2id needs at least one thread")
	}
	if p.SaltLen < 8 || p.SaltLen > maxSaltLen || p.KeyLen < 16 || p.KeyLen > maxKeyLen {
		return fmt.Errorf("argon2id salt %d / key %d bytes out of range", p.SaltLen, p.KeyLen)
	}
	return nil
}

// hashPassword returns a PHC string: $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func hashPassword(password string, p PasswordParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// parseHash splits a PHC argon2id string into its parameters, salt and key.
func parseHash(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("argon2id parameters %q: %w", parts[3], err)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("argon2id salt: %w", err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("argon2id key: %w", err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return p, nil, nil, err
	}
	return p, salt, key, nil
}

// verifyPassword reports whether password matches the PHC string, in constant
// time with respect to the key.
func verifyPassword(password, encoded string) (bool, error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// hashStats counts concurrent password hashes, so tests can see the bound
// of Store.hashing hold.
type hashStats struct {
	running atomic.Int32
	peak    atomic.Int32
}

// hash runs f, an argon2 computation, once one of the s.hashing slots is
// free (Urgent contexts first): at most that many run at once, so password guessing and
// registration storms cannot take every CPU (or params.Memory KiB each
// without bound). Waiting for a slot ends with ctx, and the error says so.
func (s *Store) hash(ctx context.Context, f func()) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("waiting to hash a password: %w", err)
	}
	if err := s.hashing.acquire(ctx, isUrgent(ctx)); err != nil {
		return fmt.Errorf("waiting to hash a password: %w", err)
	}
	defer s.hashing.release()
	n := s.hashStats.running.Add(1)
	defer s.hashStats.running.Add(-1)
	for {
		p := s.hashStats.peak.Load()
		if n <= p || s.hashStats.peak.CompareAndSwap(p, n) {
			break
		}
	}
	f()
	return nil
}
