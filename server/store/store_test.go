package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"parley/app/wire"
)

// cheap keeps the tests fast; production uses DefaultPasswordParams.
var cheap = PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, WithPasswordParams(cheap))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("correct horse", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	h2, _ := hashPassword("correct horse", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsE", false}, {"", false}} {
		ok, err := verifyPassword(tc.pw, h)
		if err != nil || ok != tc.want {
			t.Errorf("verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$AAAA"} {
		if _, err := verifyPassword("x", bad); err == nil {
			t.Errorf("verify against %q: no error", bad)
		}
	}
	if got, err := Open(filepath.Join(t.TempDir(), "x.db"), WithPasswordParams(PasswordParams{})); err == nil {
		got.Close()
		t.Error("Open accepted zero password parameters")
	}
}

func testUsers(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s := openTest(t, newDB(t))

	alice, err := s.Register(ctx, "alice", "password1", "Alice A.")
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if alice.ID == 0 || alice.Username != "alice" || alice.DisplayName != "Alice A." || alice.Guest {
		t.Fatalf("Register returned %+v", alice)
	}
	bob, err := s.Register(ctx, "bob", "password2", "  ")
	if err != nil {
		t.Fatalf("Register bob: %v", err)
	}
	if bob.DisplayName != "bob" {
		t.Errorf("default display name = %q, want the username", bob.DisplayName)
	}

	t.Run("duplicate", func(t *testing.T) {
		_, err := s.Register(ctx, "alice", "password3", "")
		if !errors.Is(err, ErrUsernameTaken) {
			t.Fatalf("err = %v, want ErrUsernameTaken", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, tc := range []struct{ user, pw, name string }{
			{"guest-abc", "password1", ""},
			{"Al", "password1", ""},
			{"UPPER", "password1", ""},
			{"carol", "short", ""},
			{"carol", strings.Repeat("x", MaxPasswordLen+1), ""},
			{"carol", "password1", strings.Repeat("n", MaxDisplayNameLen+1)},
			{"carol", "password1", "bell\a"},
			{"carol", "password1", "\xff\xfe"},
		} {
			if _, err := s.Register(ctx, tc.user, tc.pw, tc.name); !errors.Is(err, ErrInvalid) {
				t.Errorf("Register(%q, %q, %q) err = %v, want ErrInvalid", tc.user, tc.pw, tc.name, err)
			}
		}
		if _, err := s.UserByUsername(ctx, "carol"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused registration created a user: %v", err)
		}
	})
	t.Run("login", func(t *testing.T) {
		u, err := s.Login(ctx, "alice", "password1")
		if err != nil || u.ID != alice.ID || u.DisplayName != "Alice A." {
			t.Fatalf("Login = %+v, %v", u, err)
		}
		if u, err := s.Login(ctx, " ALICE ", "password1"); err != nil || u.ID != alice.ID {
			t.Errorf("Login is not case-insensitive: %+v, %v", u, err)
		}
		for _, tc := range []struct{ user, pw string }{
			{"alice", "password2"}, {"alice", ""}, {"nobody", "password1"}, {"", ""},
			{"alice", strings.Repeat("p", 5000)},
		} {
			if _, err := s.Login(ctx, tc.user, tc.pw); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("Login(%q, %q) err = %v, want ErrBadCredentials", tc.user, tc.pw, err)
			}
		}
	})
	t.Run("lookup", func(t *testing.T) {
		u, err := s.UserByUsername(ctx, "bob")
		if err != nil || u.ID != bob.ID {
			t.Fatalf("UserByUsername = %+v, %v", u, err)
		}
		if _, err := s.UserByUsername(ctx, "zed"); !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("sessions", func(t *testing.T) {
		tok, err := s.NewSession(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
			t.Errorf("token %q is not 32 bytes of unpadded base64url", tok)
		}
		tok2, _ := s.NewSession(ctx, alice.ID)
		if tok == tok2 {
			t.Fatal("two sessions share a token")
		}
		u, err := s.UserByToken(ctx, tok)
		if err != nil || u.ID != alice.ID {
			t.Fatalf("UserByToken = %+v, %v", u, err)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, s.d.q(`SELECT count(*) FROM sessions WHERE token_hash = ?`), []byte(tok)).Scan(&n); err != nil || n != 0 {
			t.Errorf("the plain token is stored (%d rows, %v)", n, err)
		}
		if err := s.DeleteSession(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoked token: err = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: err = %v, want ErrNotFound", err)
		}
		if u, err := s.UserByToken(ctx, tok2); err != nil || u.ID != alice.ID {
			t.Errorf("revoking one token revoked another: %v", err)
		}
		for _, bad := range []string{"", "nope", strings.Repeat("a", 1000)} {
			if _, err := s.UserByToken(ctx, bad); !errors.Is(err, ErrNotFound) {
				t.Errorf("UserByToken(%q) err = %v", bad, err)
			}
		}
		if _, err := s.NewSession(ctx, 99999); !errors.Is(err, ErrNotFound) {
			t.Errorf("NewSession for unknown user: err = %v, want ErrNotFound", err)
		}
	})
}

func testConcurrentRegister(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s := openTest(t, newDB(t))
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		ok, taken, bad int
	)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Register(ctx, "same", fmt.Sprintf("password%d", i), "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrUsernameTaken):
				taken++
			default:
				bad++
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || taken != 15 {
		t.Fatalf("ok=%d taken=%d other=%d; want exactly one winner", ok, taken, bad)
	}
}

func ptr[T any](v T) *T { return &v }

func testCallLogs(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	path := newDB(t)
	s := openTest(t, path)
	alice, _ := s.Register(ctx, "alice", "password1", "")
	bob, _ := s.Register(ctx, "bob", "password1", "")

	empty, err := s.CallLogs(ctx, alice.ID, 1)
	if err != nil || empty.CallLogs == nil || len(empty.CallLogs) != 0 || empty.TotalPages != 0 {
		t.Fatalf("empty log = %#v, %v; want empty non-nil list and 0 pages", empty, err)
	}
	if _, err := s.CallLogs(ctx, alice.ID, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("page 0: err = %v, want ErrInvalid", err)
	}

	// 45 entries for alice; two share each callTime so the id breaks ties.
	var logs []CallLog
	for i := range 45 {
		l := CallLog{UserID: alice.ID, CallLog: wire.CallLog{
			RoomID: fmt.Sprintf("room%02d", i), RoomLink: "abc-defg-hij", CallMode: wire.ModeOneToOne,
			CallType: wire.TypeAudio, CallState: wire.LogOutgoing, FromUser: "alice@localhost",
			ToUsers: []string{"bob@localhost"}, UserList: []string{"alice@localhost", "bob@localhost"},
			CallTime: 1000 + int64(i/2), EndTime: 5000, Duration: 0,
		}}
		if i%3 == 0 {
			l.StartTime = ptr(int64(2000))
			l.Duration = 3000
			l.GroupID = ptr("team")
		}
		logs = append(logs, l)
	}
	if err := s.AddCallLogs(ctx, logs[:40]...); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCallLogs(ctx, logs[40:]...); err != nil {
		t.Fatal(err)
	}
	// Retrying a write is harmless.
	if err := s.AddCallLogs(ctx, logs[44]); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCallLogs(ctx, CallLog{UserID: bob.ID, CallLog: wire.CallLog{RoomID: "room00", CallState: wire.LogMissed, CallTime: 1}}); err != nil {
		t.Fatal(err)
	}
	// A batch with a bad entry writes nothing.
	err = s.AddCallLogs(ctx,
		CallLog{UserID: bob.ID, CallLog: wire.CallLog{RoomID: "roomX", CallTime: 2}},
		CallLog{UserID: 424242, CallLog: wire.CallLog{RoomID: "roomY", CallTime: 2}})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("log for unknown user: err = %v, want ErrNotFound", err)
	}

	check := func(s *Store) {
		t.Helper()
		var got []string
		for page := 1; page <= 4; page++ {
			p, err := s.CallLogs(ctx, alice.ID, page)
			if err != nil {
				t.Fatal(err)
			}
			if p.TotalPages != 3 {
				t.Fatalf("page %d: totalPages %d, want 3", page, p.TotalPages)
			}
			want := map[int]int{1: 20, 2: 20, 3: 5, 4: 0}[page]
			if len(p.CallLogs) != want || p.CallLogs == nil {
				t.Fatalf("page %d has %d entries, want %d", page, len(p.CallLogs), want)
			}
			for _, l := range p.CallLogs {
				got = append(got, l.RoomID)
				if l.CallLogID == "" || l.InviteUserList == nil || len(l.ToUsers) != 1 || len(l.UserList) != 2 {
					t.Errorf("entry %+v lost fields", l)
				}
			}
		}
		for i, room := range got {
			if want := fmt.Sprintf("room%02d", 44-i); room != want {
				t.Fatalf("entry %d is %s, want %s (newest first by callTime then id)", i, room, want)
			}
		}
		p, _ := s.CallLogs(ctx, alice.ID, 3)
		last := p.CallLogs[4] // room00
		if last.StartTime == nil || *last.StartTime != 2000 || last.Duration != 3000 || last.GroupID == nil || *last.GroupID != "team" {
			t.Errorf("room00 = %+v", last)
		}
		notStarted := p.CallLogs[3] // room01
		if notStarted.StartTime != nil || notStarted.GroupID != nil {
			t.Errorf("room01 start/group should be null: %+v", notStarted)
		}
		b, _ := s.CallLogs(ctx, bob.ID, 1)
		if b.TotalPages != 1 || len(b.CallLogs) != 1 || b.CallLogs[0].CallState != wire.LogMissed || len(b.CallLogs[0].ToUsers) != 0 || b.CallLogs[0].ToUsers == nil {
			t.Errorf("bob's log = %+v", b)
		}
	}
	check(s)

	// Reopen: everything is still there, schema is not re-applied.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path)
	if v, err := s2.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Errorf("schema version = %d, %v", v, err)
	}
	check(s2)
	if _, err := s2.Login(ctx, "alice", "password1"); err != nil {
		t.Errorf("login after reopen: %v", err)
	}
	if s2.d == sqliteDialect {
		if _, err := os.Stat(path + "-wal"); err != nil {
			t.Errorf("no WAL file: %v", err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing", "dir", "x.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	// A database from a newer build is refused, not clobbered.
	path := filepath.Join(t.TempDir(), "new.db")
	s := openTest(t, path)
	if _, err := s.db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path, WithPasswordParams(cheap)); err == nil {
		s.Close()
		t.Error("Open accepted a newer schema")
	}
}

func testGuests(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s := openTest(t, newDB(t))
	for _, name := range []string{"", "   ", strings.Repeat("x", MaxDisplayNameLen+1), "a\x00b"} {
		if _, err := s.CreateGuest(ctx, name); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateGuest(%q): %v, want ErrInvalid", name, err)
		}
	}
	g, err := s.CreateGuest(ctx, " Visitor ")
	if err != nil {
		t.Fatal(err)
	}
	if !g.Guest || g.DisplayName != "Visitor" || !strings.HasPrefix(g.Username, GuestPrefix) || !wire.ValidUsername(g.Username) {
		t.Fatalf("guest %+v", g)
	}
	g2, err := s.CreateGuest(ctx, "Visitor")
	if err != nil || g2.Username == g.Username || g2.ID == g.ID {
		t.Fatalf("second guest %+v, %v", g2, err)
	}
	if u, err := s.UserByUsername(ctx, g.Username); err != nil || !u.Guest {
		t.Errorf("UserByUsername %+v, %v", u, err)
	}
	tok, err := s.NewSession(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByToken(ctx, tok); err != nil || !u.Guest || u.ID != g.ID {
		t.Errorf("UserByToken %+v, %v", u, err)
	}
	if _, err := s.Login(ctx, g.Username, ""); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("guest login: %v", err)
	}
}

func testCallLogReplace(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s := openTest(t, newDB(t))
	u, err := s.Register(ctx, "alice", "password1", "")
	if err != nil {
		t.Fatal(err)
	}
	first := CallLog{UserID: u.ID, CallLog: wire.CallLog{RoomID: "r", CallState: wire.LogDeclined, CallTime: 1, EndTime: 2}}
	if err := s.AddCallLogs(ctx, first); err != nil {
		t.Fatal(err)
	}
	ignored := first
	ignored.CallState = wire.LogMissed
	second := first
	second.CallState, second.StartTime, second.EndTime, second.Duration, second.Replace = wire.LogIncoming, ptr(int64(5)), 9, 4, true
	second.InviteUserList = []string{"alice@localhost"}
	for _, l := range []CallLog{ignored, second, second} {
		if err := s.AddCallLogs(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.CallLogs(ctx, u.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.CallLogs) != 1 {
		t.Fatalf("%d entries", len(p.CallLogs))
	}
	l := p.CallLogs[0]
	if l.CallState != wire.LogIncoming || l.StartTime == nil || *l.StartTime != 5 || l.Duration != 4 || len(l.InviteUserList) != 1 {
		t.Errorf("replaced entry %+v", l)
	}
}

// The database and its WAL files are the owner's alone, and opening a
// database that others could read takes that away.
func TestDatabaseIsOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, path)
	if _, err := s.Register(context.Background(), "alice", "password1", "Alice"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want -rw-------", p, fi.Mode().Perm())
		}
	}
}

// Display names lose the invisible characters that make one name pass for
// another or show reversed, and have one spelling (NFC).
func testDisplayNameHygiene(t *testing.T, newDB dbMaker) {
	for in, want := range map[string]string{
		"Alice":             "Alice",
		"Ali\u200bce":       "Alice",     // zero-width space
		"\u202eecilA":       "ecilA",     // right-to-left override
		"Bob \u2066x\u2069": "Bob x",     // isolates
		"\ufeffCarol\u00ad": "Carol",     // BOM, soft hyphen
		"Jose\u0301":        "Jos\u00e9", // NFC
		"  \u200b\u200d  ":  "",          // nothing visible: the username is used
		"الياس":             "الياس",     // right-to-left text itself stays
		"\U0001F600 Grin":   "\U0001F600 Grin",
	} {
		got, ok := CleanDisplayName(in)
		if !ok || got != want {
			t.Errorf("CleanDisplayName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"a\x00b", "a\nb", "\xff", strings.Repeat("x", MaxDisplayNameLen+1)} {
		if _, ok := CleanDisplayName(bad); ok {
			t.Errorf("CleanDisplayName(%q) accepted", bad)
		}
	}
	// Invisible characters do not count towards the length.
	if _, ok := CleanDisplayName(strings.Repeat("x", MaxDisplayNameLen) + "\u200b"); !ok {
		t.Error("a 64-character name with a trailing zero-width space was refused")
	}
	s := openTest(t, newDB(t))
	u, err := s.Register(context.Background(), "mallory", "password1", "Ali\u200bce\u202e")
	if err != nil {
		t.Fatal(err)
	}
	if u.DisplayName != "Alice" {
		t.Fatalf("registered display name %q, want the cleaned %q", u.DisplayName, "Alice")
	}
}
