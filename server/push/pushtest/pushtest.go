// Package pushtest is a fake Web Push service for tests: an HTTP server on
// loopback that plays the browser vendor's push service. It checks each
// request's VAPID token (RFC 8292: ES256 signature, audience, expiry,
// subject) and headers, and decrypts its aes128gcm body (RFC 8291) with the
// keys of the device it created for the endpoint. The decryption is written
// here from the RFCs, independently of package push's encryption.
package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Service is a fake push service. Create it with New; Close it.
type Service struct {
	srv *httptest.Server
	// Got receives every message posted to a device endpoint, in order.
	Got chan Message

	mu      sync.Mutex
	devices map[string]*Device // by path
	status  map[string]int     // answer for a path, default 201
}

// Device is one browser's subscription to the service.
type Device struct {
	// Endpoint, P256dh and Auth are what PushSubscription.toJSON() gives:
	// the endpoint URL and the keys, base64url.
	Endpoint string
	P256dh   string
	Auth     string

	priv *ecdh.PrivateKey
	auth []byte
}

// Message is one request the service received.
type Message struct {
	Path     string
	TTL      int
	Urgency  string
	Topic    string
	Encoding string
	// Subject is the VAPID "sub" claim; Key the VAPID public key (k=).
	Subject string
	Key     string
	// Plain is the decrypted payload.
	Plain []byte
	// Err says what was wrong with the request (nil: a valid Web Push
	// message).
	Err error
}

// New starts a fake push service on loopback.
func New() *Service {
	s := &Service{Got: make(chan Message, 64), devices: make(map[string]*Device), status: make(map[string]int)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the service.
func (s *Service) Close() { s.srv.Close() }

// URL is the service's origin.
func (s *Service) URL() string { return s.srv.URL }

// NewDevice creates a subscription with fresh keys at endpoint /push/name.
func (s *Service) NewDevice(name string) (*Device, error) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pushtest: %w", err)
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		return nil, fmt.Errorf("pushtest: %w", err)
	}
	enc := base64.RawURLEncoding
	d := &Device{
		Endpoint: s.srv.URL + "/push/" + name,
		P256dh:   enc.EncodeToString(priv.PublicKey().Bytes()),
		Auth:     enc.EncodeToString(auth),
		priv:     priv, auth: auth,
	}
	s.mu.Lock()
	s.devices["/push/"+name] = d
	s.mu.Unlock()
	return d, nil
}

// SetStatus makes the service answer requests for device name with code
// (e.g. 410 Gone: the subscription expired).
func (s *Service) SetStatus(name string, code int) {
	s.mu.Lock()
	s.status["/push/"+name] = code
	s.mu.Unlock()
}

// Wait returns the next message, or an error after timeout.
func (s *Service) Wait(timeout time.Duration) (Message, error) {
	select {
	case m := <-s.Got:
		return m, nil
	case <-time.After(timeout):
		return Message{}, errors.New("pushtest: no push message arrived")
	}
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	d := s.devices[r.URL.Path]
	code := s.status[r.URL.Path]
	s.mu.Unlock()
	if d == nil {
		http.NotFound(w, r)
		return
	}
	m := Message{
		Path: r.URL.Path, Urgency: r.Header.Get("Urgency"), Topic: r.Header.Get("Topic"),
		Encoding: r.Header.Get("Content-Encoding"),
	}
	m.Err = s.check(r, d, body, &m)
	if code == 0 {
		code = http.StatusCreated
	}
	w.WriteHeader(code)
	s.Got <- m
}

// check verifies the request and fills in m.
func (s *Service) check(r *http.Request, d *Device, body []byte, m *Message) error {
	if r.Method != http.MethodPost {
		return fmt.Errorf("method %s, want POST", r.Method)
	}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		return fmt.Errorf("TTL header %q", r.Header.Get("TTL"))
	}
	m.TTL = ttl
	if m.Encoding != "aes128gcm" {
		return fmt.Errorf("Content-Encoding %q, want aes128gcm", m.Encoding)
	}
	if err := s.checkVAPID(r.Header.Get("Authorization"), m); err != nil {
		return fmt.Errorf("VAPID: %w", err)
	}
	plain, err := d.Decrypt(body)
	if err != nil {
		return err
	}
	m.Plain = plain
	return nil
}

// checkVAPID verifies "vapid t=<JWT>, k=<key>" (RFC 8292 3).
func (s *Service) checkVAPID(h string, m *Message) error {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return fmt.Errorf("Authorization %q is not a vapid one", h)
	}
	var tok, key string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			tok = v
		case "k":
			key = v
		}
	}
	enc := base64.RawURLEncoding
	raw, err := enc.DecodeString(key)
	if err != nil || len(raw) != 65 || raw[0] != 4 {
		return fmt.Errorf("k=%q is not an uncompressed P-256 point", key)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("t is not a JWS compact token")
	}
	var hdr struct{ Typ, Alg string }
	if b, err := enc.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &hdr) != nil || hdr.Alg != "ES256" {
		return fmt.Errorf("JWT header %q, want alg ES256", parts[0])
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return fmt.Errorf("JWT signature is not 64 bytes")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return fmt.Errorf("JWT signature does not verify with k")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	b, err := enc.DecodeString(parts[1])
	if err != nil || json.Unmarshal(b, &claims) != nil {
		return fmt.Errorf("JWT claims do not decode")
	}
	if claims.Aud != s.srv.URL {
		return fmt.Errorf("aud %q, want the push service's origin %q", claims.Aud, s.srv.URL)
	}
	if exp := time.Unix(claims.Exp, 0); !exp.After(time.Now()) || exp.After(time.Now().Add(24*time.Hour)) {
		return fmt.Errorf("exp %v is not within the next 24 hours", exp)
	}
	if !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:") {
		return fmt.Errorf("sub %q is not a mailto: or https: URL", claims.Sub)
	}
	m.Subject, m.Key = claims.Sub, key
	return nil
}

// Decrypt decrypts an aes128gcm body sent to the device (RFC 8291 3.4,
// RFC 8188 2): one record, padding removed.
func (d *Device) Decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if len(body) < 21+idlen || idlen != 65 {
		return nil, fmt.Errorf("keyid of %d bytes, want the sender's 65-byte public key", idlen)
	}
	asPublic := body[21 : 21+idlen]
	ct := body[21+idlen:]
	if rs < 18 || len(ct) > int(rs) {
		return nil, fmt.Errorf("record size %d for %d bytes of ciphertext: want one record", rs, len(ct))
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("sender key: %w", err)
	}
	secret, err := d.priv.ECDH(as)
	if err != nil {
		return nil, fmt.Errorf("ECDH: %w", err)
	}
	// PRK_key = HMAC-SHA-256(auth_secret, ecdh_secret)
	prkKey, _ := hkdf.Extract(sha256.New, secret, d.auth)
	info := append([]byte("WebPush: info\x00"), d.priv.PublicKey().Bytes()...)
	info = append(info, asPublic...)
	ikm, _ := hkdf.Expand(sha256.New, prkKey, string(info), 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	rec, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// Strip the padding: zeros after the delimiter 2 (last record).
	i := len(rec) - 1
	for i >= 0 && rec[i] == 0 {
		i--
	}
	if i < 0 || rec[i] != 2 {
		return nil, errors.New("no last-record padding delimiter")
	}
	return rec[:i], nil
}
