// Package push sends Web Push messages: RFC 8030 delivery to a browser's
// push service, RFC 8291 message encryption (aes128gcm) and RFC 8292 VAPID
// identification of this server.
//
// It is written on the standard library (crypto/ecdh, crypto/hkdf,
// crypto/ecdsa, crypto/aes and crypto/cipher) rather than a Web Push
// library such as github.com/SherClockHolmes/webpush-go: the three RFCs
// need only about a hundred lines on those primitives, every one of which
// the tests check against an independent decryption and JWT verification,
// and this keeps the server free of a dependency (and its JWT library) for a
// part that must never reach the network at build or test time.
package push

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrGone is returned by Send when the push service answered 404 or 410:
// the subscription expired or was unsubscribed, and should be forgotten.
var ErrGone = errors.New("push: subscription gone")

// Keys is the server's VAPID key pair (an ECDSA P-256 key).
type Keys struct {
	priv *ecdsa.PrivateKey
	pub  []byte // uncompressed point, 65 bytes
}

// LoadOrCreateKeys reads the VAPID private key from the PEM file at path
// (PKCS #8), or generates one and writes it there (mode 0600) when the file
// does not exist. Rotating the keys is removing the file (or pointing at
// another) and restarting: subscriptions made with the old public key are
// no longer pushed to, and clients subscribe again with the new one.
func LoadOrCreateKeys(path string) (*Keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("push: generate VAPID key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("push: encode VAPID key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("push: write VAPID key: %w", err)
		}
		out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("push: write VAPID key: %w", err)
		}
		if _, err := f.Write(out); err != nil {
			f.Close()
			return nil, fmt.Errorf("push: write VAPID key %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("push: write VAPID key %s: %w", path, err)
		}
		return newKeys(priv)
	}
	if err != nil {
		return nil, fmt.Errorf("push: read VAPID key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("push: VAPID key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("push: VAPID key %s: %w", path, err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("push: VAPID key %s is not an ECDSA P-256 key", path)
	}
	return newKeys(priv)
}

func newKeys(priv *ecdsa.PrivateKey) (*Keys, error) {
	pk, err := priv.PublicKey.ECDH()
	if err != nil {
		return nil, fmt.Errorf("push: VAPID public key: %w", err)
	}
	return &Keys{priv: priv, pub: pk.Bytes()}, nil
}

// PublicKey returns the VAPID public key, base64url without padding: the
// applicationServerKey of pushManager.subscribe.
func (k *Keys) PublicKey() string { return base64.RawURLEncoding.EncodeToString(k.pub) }

// Config configures a Sender.
type Config struct {
	// Keys identify this server to push services (VAPID).
	Keys *Keys
	// Subject is the VAPID "sub" claim: a mailto: or https: URL where the
	// push service's operator can reach this server's, e.g.
	// "mailto:ops@example.com".
	Subject string
	// Client sends the requests; default a client with a 10s timeout that
	// refuses to connect to loopback, private, link-local and unspecified
	// addresses (endpoints come from users: the server must not be made to
	// post into its own network), unless AllowPrivate.
	Client *http.Client
	// AllowPrivate lets the default client reach loopback and private
	// addresses (a push service on loopback in tests).
	AllowPrivate bool
}

// Sender sends Web Push messages. It is safe for concurrent use.
type Sender struct {
	keys    *Keys
	subject string
	client  *http.Client
}

// New returns a Sender.
func New(cfg Config) *Sender {
	c := cfg.Client
	if c == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		if !cfg.AllowPrivate {
			d.Control = publicOnly
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = d.DialContext
		tr.Proxy = nil
		c = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	sub := cfg.Subject
	if sub == "" {
		sub = "mailto:admin@localhost"
	}
	return &Sender{keys: cfg.Keys, subject: sub, client: c}
}

// ErrPrivateAddress is returned (wrapped) by Send for an endpoint that
// resolves to a loopback, private, link-local or unspecified address.
var ErrPrivateAddress = errors.New("push: endpoint address is not public")

// publicOnly is the dialer's Control: it refuses connections to addresses
// that are not public.
func publicOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("push: dial %s: %w", address, err)
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return fmt.Errorf("push: dial %s: %w", address, ErrPrivateAddress)
	}
	return nil
}

// PublicKey returns the VAPID public key (see Keys.PublicKey).
func (s *Sender) PublicKey() string { return s.keys.PublicKey() }

// Subscription is where and for whom to encrypt a message.
type Subscription struct {
	Endpoint string
	// P256dh is the user agent's public key (65 bytes), Auth its 16-byte
	// authentication secret.
	P256dh []byte
	Auth   []byte
}

// Message is one push message.
type Message struct {
	// Payload is the plaintext (at most MaxPayload bytes).
	Payload []byte
	// TTL is how long the push service keeps an undelivered message (whole
	// seconds; 0 delivers now or never).
	TTL time.Duration
	// Urgency is "very-low", "low", "normal" or "high" (RFC 8030 5.3);
	// empty sends none.
	Urgency string
	// Topic, if set, replaces an undelivered message of the same topic at
	// the push service (RFC 8030 5.4): at most 32 base64url characters.
	Topic string
}

// MaxPayload is the largest plaintext Send encrypts: one 4096-byte record
// less the padding delimiter and the AEAD tag.
const MaxPayload = recordSize - 1 - 16

// recordSize is the aes128gcm record size sent in the header.
const recordSize = 4096

// Send encrypts msg for sub and posts it to the subscription's endpoint.
// ErrGone (wrapped) when the push service says the subscription is gone.
func (s *Sender) Send(ctx context.Context, sub Subscription, msg Message) error {
	u, err := url.Parse(sub.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("push: endpoint %q is not an http(s) URL", sub.Endpoint)
	}
	body, err := Encrypt(sub.P256dh, sub.Auth, msg.Payload)
	if err != nil {
		return err
	}
	jwt, err := s.vapidJWT(u.Scheme+"://"+u.Host, time.Now().Add(12*time.Hour))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", strconv.Itoa(int(msg.TTL/time.Second)))
	if msg.Urgency != "" {
		req.Header.Set("Urgency", msg.Urgency)
	}
	if msg.Topic != "" {
		req.Header.Set("Topic", msg.Topic)
	}
	req.Header.Set("Authorization", "vapid t="+jwt+", k="+s.keys.PublicKey())
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("push: post to %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fmt.Errorf("push: %s answered %s: %w", u.Host, resp.Status, ErrGone)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("push: %s answered %s", u.Host, resp.Status)
	}
	return nil
}

// vapidJWT returns the ES256-signed VAPID token for audience aud (the push
// service's origin) expiring at exp (RFC 8292 2).
func (s *Sender) vapidJWT(aud string, exp time.Time) (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`))
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}{aud, exp.Unix(), s.subject})
	if err != nil {
		return "", fmt.Errorf("push: VAPID claims: %w", err)
	}
	signed := header + "." + enc.EncodeToString(claims)
	h := sha256.Sum256([]byte(signed))
	r, sg, err := ecdsa.Sign(rand.Reader, s.keys.priv, h[:])
	if err != nil {
		return "", fmt.Errorf("push: sign VAPID token: %w", err)
	}
	sig := make([]byte, 64) // JWS ES256: R and S, 32 bytes each
	r.FillBytes(sig[:32])
	sg.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig), nil
}

// Encrypt encrypts plaintext for a user agent's public key uaPublic and
// authentication secret auth, as one aes128gcm record with a fresh sender
// key and salt (RFC 8291 3 and 4, RFC 8188 2).
func Encrypt(uaPublic, auth, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxPayload {
		return nil, fmt.Errorf("push: payload of %d bytes is over %d", len(plaintext), MaxPayload)
	}
	if len(auth) != 16 {
		return nil, fmt.Errorf("push: auth secret is %d bytes, want 16", len(auth))
	}
	curve := ecdh.P256()
	ua, err := curve.NewPublicKey(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("push: subscription key: %w", err)
	}
	as, err := curve.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("push: sender key: %w", err)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("push: salt: %w", err)
	}
	secret, err := as.ECDH(ua)
	if err != nil {
		return nil, fmt.Errorf("push: ECDH: %w", err)
	}
	asPublic := as.PublicKey().Bytes()
	cek, nonce, err := deriveKeys(secret, auth, salt, uaPublic, asPublic)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	header := make([]byte, 0, 16+4+1+len(asPublic))
	header = append(header, salt...)
	header = binary.BigEndian.AppendUint32(header, recordSize)
	header = append(header, byte(len(asPublic)))
	header = append(header, asPublic...)
	record := append(append([]byte{}, plaintext...), 2) // 2: the last record's padding delimiter
	return gcm.Seal(header, nonce, record, nil), nil
}

// deriveKeys derives the content encryption key and nonce of RFC 8291 3.4
// from the ECDH secret, the auth secret, the salt and both public keys. The
// receiver derives the same from its side.
func deriveKeys(secret, auth, salt, uaPublic, asPublic []byte) (cek, nonce []byte, err error) {
	prkKey, err := hkdf.Extract(sha256.New, secret, auth)
	if err != nil {
		return nil, nil, fmt.Errorf("push: HKDF: %w", err)
	}
	keyInfo := "WebPush: info\x00" + string(uaPublic) + string(asPublic)
	ikm, err := hkdf.Expand(sha256.New, prkKey, keyInfo, 32)
	if err != nil {
		return nil, nil, fmt.Errorf("push: HKDF: %w", err)
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, fmt.Errorf("push: HKDF: %w", err)
	}
	if cek, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16); err != nil {
		return nil, nil, fmt.Errorf("push: HKDF: %w", err)
	}
	if nonce, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12); err != nil {
		return nil, nil, fmt.Errorf("push: HKDF: %w", err)
	}
	return cek, nonce, nil
}
