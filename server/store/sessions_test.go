package store

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openClocked(t *testing.T, newDB dbMaker, ttl time.Duration) (*Store, *testClock) {
	t.Helper()
	clk := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, err := Open(newDB(t), WithPasswordParams(cheap), WithSessionTTL(ttl), WithClock(clk.now))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

func sessionRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testSessionExpirySlides: a token signs in while it is used at least once
// per TTL; one unused for longer is refused (ErrSessionExpired, also
// ErrNotFound) and deleted.
func testSessionExpirySlides(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s, clk := openClocked(t, newDB, 24*time.Hour)
	u, err := s.Register(ctx, "alice", "password1", "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.NewDeviceSession(ctx, u.ID, "Chromium on Linux")
	if err != nil {
		t.Fatal(err)
	}
	// Used every 23 hours for five days: it never expires.
	for i := 0; i < 5; i++ {
		clk.advance(23 * time.Hour)
		if got, err := s.UserByToken(ctx, tok); err != nil || got.ID != u.ID {
			t.Fatalf("use %d after 23 h: %+v, %v", i, got, err)
		}
	}
	clk.advance(24*time.Hour + time.Second)
	_, err = s.UserByToken(ctx, tok)
	if !errors.Is(err, ErrSessionExpired) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("after 24 h unused: err = %v, want ErrSessionExpired and ErrNotFound", err)
	}
	if n := sessionRows(t, s); n != 0 {
		t.Fatalf("the expired session is still stored (%d rows)", n)
	}
	// Gone for good: a later try is a plain not-found.
	if _, err := s.UserByToken(ctx, tok); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrSessionExpired) {
		t.Fatalf("second try: err = %v", err)
	}
}

// testSessionTouchThrottled: a use writes last-used only when it is older
// than the touch interval (an hour for the default TTL).
func testSessionTouchThrottled(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s, clk := openClocked(t, newDB, DefaultSessionTTL)
	if s.touchEvery() != time.Hour {
		t.Fatalf("touch interval %v for a 30-day TTL, want 1h", s.touchEvery())
	}
	u, _ := s.Register(ctx, "alice", "password1", "")
	tok, _ := s.NewSession(ctx, u.ID)
	created := clk.now()
	lastUsed := func() time.Time {
		t.Helper()
		list, err := s.Sessions(ctx, u.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("Sessions = %+v, %v", list, err)
		}
		return list[0].LastUsed
	}
	clk.advance(59 * time.Minute)
	if _, err := s.UserByToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(created) {
		t.Fatalf("a use within the hour wrote last-used: %v, want %v", got, created)
	}
	clk.advance(time.Minute)
	if _, err := s.UserByToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(clk.now()) {
		t.Fatalf("a use after an hour did not write last-used: %v, want %v", got, clk.now())
	}
	// TouchSessions (online sessions) follows the same rule.
	clk.advance(30 * time.Minute)
	if err := s.TouchSessions(ctx, []string{tok, "unknown"}); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); got.Equal(clk.now()) {
		t.Fatal("TouchSessions wrote within the hour")
	}
	clk.advance(31 * time.Minute)
	if err := s.TouchSessions(ctx, []string{tok}); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(clk.now()) {
		t.Fatalf("TouchSessions after an hour: last-used %v, want %v", got, clk.now())
	}
}

// testSessionSweep: DeleteExpiredSessions removes exactly the expired rows.
func testSessionSweep(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s, clk := openClocked(t, newDB, 10*time.Hour)
	u, _ := s.Register(ctx, "alice", "password1", "")
	old, _ := s.NewSession(ctx, u.ID)
	clk.advance(6 * time.Hour)
	fresh, _ := s.NewSession(ctx, u.ID)
	clk.advance(5 * time.Hour) // old: 11 h unused, fresh: 5 h
	if list, _ := s.Sessions(ctx, u.ID); len(list) != 1 || list[0].ID != SessionID(fresh) {
		t.Fatalf("Sessions lists an expired session: %+v", list)
	}
	n, err := s.DeleteExpiredSessions(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if rows := sessionRows(t, s); rows != 1 {
		t.Fatalf("%d rows left, want 1", rows)
	}
	if _, err := s.UserByToken(ctx, old); !errors.Is(err, ErrNotFound) {
		t.Fatalf("swept token: %v", err)
	}
	if _, err := s.UserByToken(ctx, fresh); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v", n, err)
	}
}

// testSessionListAndRevoke: the list shows the user's own sessions with
// device labels and opaque IDs; revoking by ID or all others deletes the
// tokens, never another user's.
func testSessionListAndRevoke(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s, clk := openClocked(t, newDB, DefaultSessionTTL)
	alice, _ := s.Register(ctx, "alice", "password1", "")
	bob, _ := s.Register(ctx, "bob", "password1", "")
	laptop, _ := s.NewDeviceSession(ctx, alice.ID, "Firefox on Linux")
	clk.advance(2 * time.Hour)
	phone, _ := s.NewDeviceSession(ctx, alice.ID, "Chrome on Android")
	clk.advance(2 * time.Hour)
	tablet, _ := s.NewDeviceSession(ctx, alice.ID, "Safari on iPad "+strings.Repeat("x", 300))
	bobs, _ := s.NewDeviceSession(ctx, bob.ID, "Edge on Windows")

	list, err := s.Sessions(ctx, alice.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	want := []struct{ tok, device string }{{tablet, ""}, {phone, "Chrome on Android"}, {laptop, "Firefox on Linux"}}
	for i, w := range want {
		got := list[i]
		if got.ID != SessionID(w.tok) || got.ID == w.tok || len(got.ID) != 22 {
			t.Errorf("session %d: ID %q, want SessionID of its token", i, got.ID)
		}
		if w.device != "" && got.Device != w.device {
			t.Errorf("session %d: device %q, want %q", i, got.Device, w.device)
		}
		if got.UserID != alice.ID || got.Created.IsZero() || !got.LastUsed.Equal(got.Created) {
			t.Errorf("session %d: %+v", i, got)
		}
	}
	if len(list[0].Device) > MaxDeviceLen {
		t.Errorf("device label of %d bytes stored", len(list[0].Device))
	}

	// Bob's session cannot be revoked by alice, nor can a made-up ID.
	for _, id := range []string{SessionID(bobs), "nope", ""} {
		if err := s.DeleteSessionByID(ctx, alice.ID, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteSessionByID(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if err := s.DeleteSessionByID(ctx, alice.ID, SessionID(phone)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, phone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoked token signs in: %v", err)
	}
	ids, err := s.DeleteOtherSessions(ctx, alice.ID, tablet)
	if err != nil || len(ids) != 1 || ids[0] != SessionID(laptop) {
		t.Fatalf("DeleteOtherSessions = %v, %v", ids, err)
	}
	if _, err := s.UserByToken(ctx, laptop); !errors.Is(err, ErrNotFound) {
		t.Fatalf("laptop still signs in: %v", err)
	}
	for _, tok := range []string{tablet, bobs} {
		if _, err := s.UserByToken(ctx, tok); err != nil {
			t.Fatalf("a kept session was revoked: %v", err)
		}
	}
	if ids, err := s.DeleteOtherSessions(ctx, alice.ID, ""); err != nil || len(ids) != 1 {
		t.Fatalf("DeleteOtherSessions keeping none = %v, %v", ids, err)
	}
	if list, _ := s.Sessions(ctx, alice.ID); len(list) != 0 {
		t.Fatalf("sessions left: %+v", list)
	}
}

// TestSessionMigration: a database made before sessions expired keeps its
// sessions, dated from their creation.
func TestSessionMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-time.Hour).UnixMilli()
	for _, stmt := range []string{migrations[0], `PRAGMA user_version = 1`,
		`INSERT INTO users (id, username, display_name, created_at) VALUES (1, 'alice', 'Alice', 0)`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO sessions (token_hash, user_id, created_at) VALUES (?, 1, ?)`, tokenHash("old-token"), created); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openTest(t, path)
	if u, err := s.UserByToken(ctx, "old-token"); err != nil || u.Username != "alice" {
		t.Fatalf("old session after migration: %+v, %v", u, err)
	}
	list, err := s.Sessions(ctx, 1)
	if err != nil || len(list) != 1 || list[0].Created.UnixMilli() != created || list[0].Device != "" {
		t.Fatalf("Sessions after migration = %+v, %v", list, err)
	}
}

// BenchmarkUserByToken is the store's part of every auth: a lookup that
// writes nothing while the session was used within the touch interval.
func BenchmarkUserByToken(b *testing.B) { benchEngines(b, benchUserByToken) }

func benchUserByToken(b *testing.B, s *Store) {
	ctx := context.Background()
	u, _ := s.Register(ctx, "alice", "password1", "")
	tok, _ := s.NewSession(ctx, u.ID)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.UserByToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessions lists an account's 20 sessions (session.list).
func BenchmarkSessions(b *testing.B) { benchEngines(b, benchSessions) }

func benchSessions(b *testing.B, s *Store) {
	ctx := context.Background()
	u, _ := s.Register(ctx, "alice", "password1", "")
	for i := 0; i < 20; i++ {
		if _, err := s.NewDeviceSession(ctx, u.ID, "Firefox on Linux"); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if l, err := s.Sessions(ctx, u.ID); err != nil || len(l) != 20 {
			b.Fatal(len(l), err)
		}
	}
}
