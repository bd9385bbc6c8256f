//go:build !(js && wasm)

package wire_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"parley/app/wire"
	"parley/server/hub"
	"parley/server/store"
)

// Example shows the protocol from a client's side against a real hub: two
// connections sign up, Alice calls Bob, and Bob's connection receives the
// call.incoming event with the call's snapshot.
func Example() {
	dir, _ := os.MkdirTemp("", "parley-example")
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "parley.db"),
		store.WithPasswordParams(store.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	h := hub.New(hub.Config{Domain: "example.org", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Every connection hands its server events, in order, to a function.
	ringing := make(chan wire.CallEvent, 1)
	bob, err := wire.Dial(ctx, wire.WSURL(srv.URL), func(f wire.Frame) {
		if f.Type == wire.EventIncoming {
			var ev wire.CallEvent
			if json.Unmarshal(f.Data, &ev) == nil {
				ringing <- ev
			}
		}
	}, func(code int, err error) {})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bob.Close()
	// The first frame signs in; its reply carries the session and the
	// server's limits.
	var res wire.AuthResult
	if err := bob.Request(ctx, wire.TypeRegister, wire.RegisterRequest{Username: "bob", Password: "correct horse battery"}, &res); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("bob is", res.User.JID, "in calls of up to", res.Limits.MaxParticipants)

	alice, err := wire.Dial(ctx, wire.WSURL(srv.URL), func(wire.Frame) {}, func(int, error) {})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer alice.Close()
	if err := alice.Request(ctx, wire.TypeRegister, wire.RegisterRequest{Username: "alice", Password: "correct horse battery"}, nil); err != nil {
		fmt.Println(err)
		return
	}
	// A request that breaks a rule gets a typed error, never a crash.
	err = alice.Request(ctx, wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"alice"}, Type: wire.TypeAudio}, nil)
	if e, ok := err.(*wire.Error); ok {
		fmt.Println("calling yourself:", e.Code, e.Reason)
	}
	var created wire.CallResult
	if err := alice.Request(ctx, wire.TypeCallCreate, wire.CallCreateRequest{To: []string{"bob"}, Type: wire.TypeVideo}, &created); err != nil {
		fmt.Println(err)
		return
	}
	ev := <-ringing
	fmt.Println("bob's phone rings:", ev.Call.Type, "call from", ev.Call.Initiator, "same room:", ev.Call.RoomID == created.Call.RoomID)
	// Output:
	// bob is bob@example.org in calls of up to 8
	// calling yourself: 400 bad_request
	// bob's phone rings: video call from alice@example.org same room: true
}
