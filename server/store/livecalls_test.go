package store

import (
	"context"
	"errors"
	"testing"

	"parley/app/wire"
)

// testSaveCalls: live call state is replaced, deleted and read back, and it
// survives closing and reopening the file.
func testSaveCalls(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	path := newDB(t)
	s := openTest(t, path)
	if err := s.SaveCalls(ctx, nil, []LiveCall{{"r1", []byte("one")}, {"r2", []byte("two")}, {"r1", []byte("one'")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCalls(ctx, nil, []LiveCall{{"r2", nil}, {"r3", []byte("three")}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, path)
	got, err := s.LiveCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, c := range got {
		m[c.RoomID] = string(c.State)
	}
	if len(m) != 2 || m["r1"] != "one'" || m["r3"] != "three" {
		t.Fatalf("live calls = %v, want r1=one' and r3=three", m)
	}
}

// testSaveCallsAtomic: a call's end and its logs commit together: when a log
// cannot be written, the call's row is not deleted either.
func testSaveCallsAtomic(t *testing.T, newDB dbMaker) {
	ctx := context.Background()
	s := openTest(t, newDB(t))
	alice, err := s.Register(ctx, "alice", "password1", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCalls(ctx, nil, []LiveCall{{"r1", []byte("live")}}); err != nil {
		t.Fatal(err)
	}
	log := func(uid int64) CallLog {
		return CallLog{UserID: uid, CallLog: wire.CallLog{RoomID: "r1", CallMode: wire.ModeOneToOne, CallType: wire.TypeAudio,
			CallState: wire.LogOutgoing, FromUser: "alice@x", CallTime: 1, EndTime: 2}}
	}
	err = s.SaveCalls(ctx, []CallLog{log(alice.ID), log(alice.ID + 1000)}, []LiveCall{{"r1", nil}})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("save with a log of an unknown user: %v, want ErrNotFound", err)
	}
	if got, _ := s.LiveCalls(ctx); len(got) != 1 {
		t.Fatalf("the call's row went although its logs were not written: %v", got)
	}
	if p, _ := s.CallLogs(ctx, alice.ID, 1); len(p.CallLogs) != 0 {
		t.Fatalf("a log of a failed save was written: %+v", p.CallLogs)
	}
	if err := s.SaveCalls(ctx, []CallLog{log(alice.ID)}, []LiveCall{{"r1", nil}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LiveCalls(ctx); len(got) != 0 {
		t.Fatalf("live calls after the end = %v", got)
	}
	if p, _ := s.CallLogs(ctx, alice.ID, 1); len(p.CallLogs) != 1 {
		t.Fatalf("logs after the end = %+v", p.CallLogs)
	}
}
