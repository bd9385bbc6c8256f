package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
)

// testBlocks blocks, lists and unblocks on a real SQLite file: bad requests
// change nothing, the maximum holds, and the list survives a reopen.
func testBlocks(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	path := newDB(t)
	s := openTest(t, path)
	reg := func(name string) User {
		t.Helper()
		u, err := s.Register(ctx, name, "password1", "")
		if err != nil {
			t.Fatalf("Register %s: %v", name, err)
		}
		return u
	}
	alice, bob, carol, dave := reg("alice"), reg("bob"), reg("carol"), reg("dave")
	guest, err := s.CreateGuest(ctx, "Visitor")
	if err != nil {
		t.Fatal(err)
	}
	names := func(uid int64) []string {
		t.Helper()
		l, err := s.BlockedUsers(ctx, uid)
		if err != nil {
			t.Fatalf("BlockedUsers: %v", err)
		}
		var out []string
		for _, b := range l {
			out = append(out, b.User.Username)
		}
		return out
	}

	b, err := s.Block(ctx, alice.ID, bob.ID, 2)
	if err != nil || b.User.Username != "bob" || b.User.DisplayName != "bob" || b.At.IsZero() {
		t.Fatalf("Block bob = %+v, %v", b, err)
	}
	again, err := s.Block(ctx, alice.ID, bob.ID, 2)
	if err != nil || !again.At.Equal(b.At) {
		t.Fatalf("Block bob again = %+v, %v; want the first entry %v", again, err, b.At)
	}
	for _, tc := range []struct {
		name string
		id   int64
		want error
	}{{"yourself", alice.ID, ErrInvalid}, {"a guest", guest.ID, ErrInvalid}, {"unknown", 999_999, ErrNotFound}} {
		if _, err := s.Block(ctx, alice.ID, tc.id, 2); !errors.Is(err, tc.want) {
			t.Errorf("Block %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.Block(ctx, alice.ID, carol.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Block(ctx, alice.ID, dave.ID, 2); !errors.Is(err, ErrTooMany) {
		t.Fatalf("Block over the maximum: %v, want ErrTooMany", err)
	}
	if got := names(alice.ID); len(got) != 2 || got[0] != "carol" && got[1] != "carol" {
		t.Fatalf("alice's list %v, want bob and carol", got)
	}
	if got := names(bob.ID); len(got) != 0 {
		t.Fatalf("bob's list %v, want empty (blocks are one way)", got)
	}
	if ids, err := s.Blockers(ctx, bob.ID, alice.ID, carol.ID, dave.ID); err != nil || len(ids) != 1 || ids[0] != alice.ID {
		t.Fatalf("Blockers of bob = %v, %v; want [alice]", ids, err)
	}

	// Persisted: a second Store on the same file sees the list.
	s.Close()
	s = openTest(t, path)
	if got := names(alice.ID); len(got) != 2 {
		t.Fatalf("after reopen alice's list %v, want two", got)
	}
	if ok, err := s.Unblock(ctx, alice.ID, bob.ID); !ok || err != nil {
		t.Fatalf("Unblock bob = %v, %v", ok, err)
	}
	if ok, err := s.Unblock(ctx, alice.ID, bob.ID); ok || err != nil {
		t.Fatalf("Unblock bob again = %v, %v; want false, nil", ok, err)
	}
	if got := names(alice.ID); len(got) != 1 || got[0] != "carol" {
		t.Fatalf("after unblock alice's list %v, want [carol]", got)
	}
	if _, err := s.Block(ctx, alice.ID, dave.ID, 0); err != nil {
		t.Fatalf("Block without a maximum: %v", err)
	}
}

// BenchmarkBlockers is the look-up added to every call.create and
// call.invite: which of 7 callees (each with a full list of 1000 blocks)
// blocked the caller.
func BenchmarkBlockers(b *testing.B) { benchEngines(b, benchBlockers) }

func benchBlockers(b *testing.B, s *Store) {
	ctx := context.Background()
	var ids []int64
	for i := range 1008 {
		u, err := s.Register(ctx, "user"+strconv.Itoa(i), "password1", "")
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	callees, caller := ids[:7], ids[1007]
	for _, c := range callees {
		for _, other := range ids[8:1008] { // the caller is the last of these
			if _, err := s.Block(ctx, c, other, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		found, err := s.Blockers(ctx, caller, callees...)
		if err != nil || len(found) != 7 {
			b.Fatalf("Blockers = %v, %v", found, err)
		}
	}
}
