package push_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/server/push"
	"parley/server/push/pushtest"
)

// TestSend: a message reaches a push service with a VAPID token that
// verifies, the RFC 8030 headers, and a body the device decrypts back.
func TestSend(t *testing.T) {
	svc := pushtest.New()
	defer svc.Close()
	keys, err := push.LoadOrCreateKeys(filepath.Join(t.TempDir(), "vapid.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s := push.New(push.Config{Keys: keys, Subject: "mailto:ops@example.com", AllowPrivate: true})
	d, err := svc.NewDevice("a")
	if err != nil {
		t.Fatal(err)
	}
	sub := subOf(t, d)
	msg := push.Message{Payload: []byte(`{"hello":"world"}`), TTL: 30 * time.Second, Urgency: "high", Topic: "room1"}
	if err := s.Send(context.Background(), sub, msg); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Wait(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Err != nil {
		t.Fatal(got.Err)
	}
	if string(got.Plain) != `{"hello":"world"}` || got.TTL != 30 || got.Urgency != "high" || got.Topic != "room1" ||
		got.Subject != "mailto:ops@example.com" || got.Key != keys.PublicKey() {
		t.Fatalf("received %+v", got)
	}

	svc.SetStatus("a", 410)
	if err := s.Send(context.Background(), sub, msg); !errors.Is(err, push.ErrGone) {
		t.Fatalf("Send to a 410 endpoint: %v, want ErrGone", err)
	}
	svc.SetStatus("a", 500)
	if err := s.Send(context.Background(), sub, msg); err == nil || errors.Is(err, push.ErrGone) {
		t.Fatalf("Send to a failing endpoint: %v, want a plain error", err)
	}
	if _, err := push.Encrypt(sub.P256dh, sub.Auth, make([]byte, push.MaxPayload+1)); err == nil {
		t.Fatal("encrypted a payload over MaxPayload")
	}
	if err := s.Send(context.Background(), push.Subscription{Endpoint: "ftp://x", P256dh: sub.P256dh, Auth: sub.Auth}, msg); err == nil {
		t.Fatal("sent to a non-http endpoint")
	}
	// Without AllowPrivate, loopback (like any private address) is refused
	// before a connection is made: users choose endpoints.
	for range 2 { // the 410 and 500 requests above
		if _, err := svc.Wait(10 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	strict := push.New(push.Config{Keys: keys})
	if err := strict.Send(context.Background(), sub, msg); !errors.Is(err, push.ErrPrivateAddress) {
		t.Fatalf("Send to a loopback endpoint: %v, want ErrPrivateAddress", err)
	}
	select {
	case m := <-svc.Got:
		t.Fatalf("a loopback endpoint was reached: %+v", m)
	default:
	}
}

// TestKeys: the key is made once, kept (owner-only) and read back the same;
// another file is another key (rotation).
func TestKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vapid.pem")
	k1, err := push.LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	k2, err := push.LoadOrCreateKeys(path)
	if err != nil || k2.PublicKey() != k1.PublicKey() {
		t.Fatalf("reloaded key %v, %v; want the same", k2, err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(k1.PublicKey()); err != nil || len(raw) != 65 || raw[0] != 4 {
		t.Fatalf("public key %q is not an uncompressed P-256 point", k1.PublicKey())
	}
	k3, err := push.LoadOrCreateKeys(filepath.Join(dir, "rotated.pem"))
	if err != nil || k3.PublicKey() == k1.PublicKey() {
		t.Fatalf("a new key file gave %v, %v", k3, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := push.LoadOrCreateKeys(filepath.Join(dir, "bad.pem")); err == nil {
		t.Fatal("loaded a key from a file without one")
	}
}

func subOf(t *testing.T, d *pushtest.Device) push.Subscription {
	t.Helper()
	p, err1 := base64.RawURLEncoding.DecodeString(d.P256dh)
	a, err2 := base64.RawURLEncoding.DecodeString(d.Auth)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return push.Subscription{Endpoint: d.Endpoint, P256dh: p, Auth: a}
}

// BenchmarkEncrypt measures encrypting one call payload for one device
// (ECDH, HKDF, AES-GCM: the work per device per push).
func BenchmarkEncrypt(b *testing.B) {
	svc := pushtest.New()
	defer svc.Close()
	d, err := svc.NewDevice("bench")
	if err != nil {
		b.Fatal(err)
	}
	p, _ := base64.RawURLEncoding.DecodeString(d.P256dh)
	a, _ := base64.RawURLEncoding.DecodeString(d.Auth)
	payload := []byte(`{"type":"parley.ring","roomId":"E6FFsYdJ7jwT60WCDRL91Q","callType":"video","from":"alice@localhost","fromName":"Alice Liddell","title":"Alice Liddell is calling (video)","body":"Tap Answer to join the call.","sentAt":1764763000000}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := push.Encrypt(p, a, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSend measures one whole push to a loopback push service: VAPID
// token, encryption, HTTP POST and the service's verification and
// decryption.
func BenchmarkSend(b *testing.B) {
	svc := pushtest.New()
	defer svc.Close()
	keys, err := push.LoadOrCreateKeys(filepath.Join(b.TempDir(), "vapid.pem"))
	if err != nil {
		b.Fatal(err)
	}
	s := push.New(push.Config{Keys: keys, AllowPrivate: true})
	d, err := svc.NewDevice("bench")
	if err != nil {
		b.Fatal(err)
	}
	p, _ := base64.RawURLEncoding.DecodeString(d.P256dh)
	a, _ := base64.RawURLEncoding.DecodeString(d.Auth)
	sub := push.Subscription{Endpoint: d.Endpoint, P256dh: p, Auth: a}
	msg := push.Message{Payload: []byte(`{"type":"parley.ring"}`), TTL: 30 * time.Second, Urgency: "high"}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(context.Background(), sub, msg); err != nil {
			b.Fatal(err)
		}
		if m := <-svc.Got; m.Err != nil {
			b.Fatal(m.Err)
		}
	}
}
