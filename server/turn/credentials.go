package turn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultCredentialTTL is how long minted TURN credentials stay valid. A
// browser cannot swap the credentials of a live allocation (new ones apply
// only to the next ICE gathering), and every refresh of the allocation and
// its permissions is authenticated with the credentials it was made with, so
// they must outlive the longest call; 12 hours does, while a leaked pair
// stops working within the day.
const DefaultCredentialTTL = 12 * time.Hour

// SecretFile is the name of the generated secret in the data directory.
const SecretFile = "turn-secret"

// Errors of Signer.Verify; Stats counts them apart.
var (
	// ErrMalformedUsername: the username is not "<unix-expiry>:<jid>".
	ErrMalformedUsername = errors.New("turn: malformed username")
	// ErrExpired: the username's expiry has passed.
	ErrExpired = errors.New("turn: credentials expired")
)

// Signer mints and checks short-lived TURN credentials in the "TURN REST
// API" form that coturn's use-auth-secret also accepts: the username is
// "<unix-expiry>:<jid>" and the password is base64(HMAC-SHA1(secret,
// username)). The HMAC covers the JID and the expiry, so neither can be
// changed without the secret: one user's credentials are not another's.
type Signer struct {
	// Secret is the shared HMAC key; coturn's static-auth-secret.
	Secret []byte
	// TTL is how long credentials stay valid; DefaultCredentialTTL if zero.
	TTL time.Duration
}

func (s Signer) ttl() time.Duration {
	if s.TTL <= 0 {
		return DefaultCredentialTTL
	}
	return s.TTL
}

// Credentials mints credentials for the user jid valid from now for the TTL.
// The expiry is rounded down to whole seconds, as the username carries it.
func (s Signer) Credentials(jid string, now time.Time) (username, password string, expires time.Time) {
	expires = now.Add(s.ttl()).Truncate(time.Second)
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + jid
	return username, s.password(username), expires
}

// password is the REST API password of username.
func (s Signer) password(username string) string {
	mac := hmac.New(sha1.New, s.Secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks that username is well formed and unexpired at now, and
// returns its JID and the password the secret gives it. Whether the client
// knew that password is for the TURN message integrity check to tell.
func (s Signer) Verify(username string, now time.Time) (jid, password string, err error) {
	expiry, jid, ok := strings.Cut(username, ":")
	if !ok || jid == "" || len(username) > 512 {
		return "", "", ErrMalformedUsername
	}
	unix, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || unix <= 0 || expiry[0] == '+' {
		return "", "", ErrMalformedUsername
	}
	if now.Unix() >= unix {
		return "", "", ErrExpired
	}
	return jid, s.password(username), nil
}

// LoadOrCreateSecret returns the secret kept in dir/turn-secret, creating it
// (0600) from 32 random bytes on first use so that credentials stay valid
// across restarts. The file holds the bytes hex-encoded, and the secret is
// that text: the same string can be given to coturn as static-auth-secret.
func LoadOrCreateSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, SecretFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		secret := []byte(strings.TrimSpace(string(b)))
		if len(secret) < 16 {
			return nil, fmt.Errorf("turn secret %s: shorter than 16 bytes", path)
		}
		return secret, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("turn secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("turn secret: %w", err)
	}
	secret := []byte(hex.EncodeToString(raw))
	// O_EXCL: if another process created it meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSecret(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("turn secret: %w", err)
	}
	_, werr := f.Write(append(secret, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("turn secret: %w", werr)
	}
	return secret, nil
}
