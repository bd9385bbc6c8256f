package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"parley/app/wire"
	"parley/server/store/pgtest"
)

// TestServeOnPostgres: with -database a PostgreSQL URL, accounts, sessions
// and call logs live in PostgreSQL, not under -data. A second server on
// another data directory (another machine) signs the same users in with
// their tokens and shows their call log.
func TestServeOnPostgres(t *testing.T) {
	dsn := pgtest.Start(t).DSN(t)
	run := func(data string) (addr string, stop func()) {
		logs, stop := serveJSON(t, []string{"-addr", "127.0.0.1:0", "-data", data}, map[string]string{"PARLEY_DATABASE": dsn})
		rec := logs.record(t, "listening")
		if rec["database"] != "postgres" {
			t.Errorf("listening on database %v, want postgres", rec["database"])
		}
		return rec["addr"].(string), stop
	}

	first := t.TempDir()
	addr, stop := run(first)
	if code, body := httpGet(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz on PostgreSQL: %d %q", code, body)
	}
	// Each socket opens just before its first request: one opened earlier
	// would wait out the other's password hash, which under -race on a
	// loaded machine can outlast the authentication timeout.
	alice := dialWS(t, addr)
	var auth wire.AuthResult
	alice.must(wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "password-alice"}, &auth)
	bob := dialWS(t, addr)
	bob.must(wire.TypeRegister, wire.RegisterRequest{Username: "bob", Password: "password-bob"}, nil)
	var created wire.CallResult
	alice.must(wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"bob@localhost"}, Type: wire.TypeAudio}, &created)
	bob.event(wire.EventIncoming)
	bob.must(wire.TypeCallAnswer, wire.RoomRequest{RoomID: created.Call.RoomID}, nil)
	alice.must(wire.TypeCallEnd, wire.RoomRequest{RoomID: created.Call.RoomID}, nil)
	stop()
	if _, err := os.Stat(filepath.Join(first, "parley.db")); !os.IsNotExist(err) {
		t.Errorf("a SQLite file was made under -data: %v", err)
	}

	addr, stop = run(t.TempDir())
	defer stop()
	again := dialWS(t, addr)
	var back wire.AuthResult
	again.must(wire.TypeAuth, wire.AuthRequest{Token: auth.Token}, &back)
	if back.User.JID != "alice@localhost" {
		t.Fatalf("token signs in %+v, want alice", back.User)
	}
	var logs wire.CallLogPage
	again.must(wire.TypeCallLogs, wire.CallLogsRequest{Page: 1}, &logs)
	if len(logs.CallLogs) != 1 || logs.CallLogs[0].RoomID != created.Call.RoomID {
		t.Fatalf("alice's call log on the second server: %+v", logs.CallLogs)
	}
	dialWS(t, addr).must(wire.TypeLogin, wire.LoginRequest{Username: "bob", Password: "password-bob"}, nil)
}
