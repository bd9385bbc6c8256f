package hub

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/app/wire"
	"parley/server/store"
)

// TestLoginThrottleConcurrentGuesses: guesses that arrive together, from
// many addresses, while earlier ones are still being hashed, get no more
// password checks than the account's budget: a guess takes its budget
// before its password is hashed.
func TestLoginThrottleConcurrentGuesses(t *testing.T) {
	// Hashes dear enough (2 MiB, one at a time) that the guesses overlap,
	// and cheap enough that the budget's worth of them, one after another,
	// is answered within the wait on a loaded machine.
	e := newEnvStore(t, Config{}, store.WithMaxConcurrentHashes(1),
		store.WithPasswordParams(store.PasswordParams{Memory: 2 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	e.register("alice")
	const guessers = 2 * LoginAccountBurst
	conns := make([]*client, guessers)
	for i := range conns {
		conns[i] = e.dialFrom("guesser", fmt.Sprintf("127.0.8.%d", i+1))
		// The budget's worth of hashes runs one at a time: on a machine
		// busy with browser tests that outlasts the usual wait.
		conns[i].patience = time.Minute
	}
	start := time.Now()
	var checked, throttled atomic.Int32
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := c.send(wire.TypeLogin, wire.LoginRequest{Username: "alice", Password: fmt.Sprintf("guess %d", i)})
			switch f := c.reply(id); {
			case f.Error != nil && f.Error.Code == wire.CodeUnauthorized:
				checked.Add(1)
			case f.Error != nil && f.Error.Code == wire.CodeRateLimited:
				throttled.Add(1)
			}
		}()
	}
	wg.Wait()
	budget := LoginAccountBurst + 1 + int(time.Since(start).Seconds()*LoginAccountRate)
	if n := int(checked.Load()); n > budget || int(throttled.Load()) != guessers-n {
		t.Fatalf("%d concurrent guesses: %d checked, %d throttled; want at most %d checked and the rest throttled",
			guessers, n, throttled.Load(), budget)
	}
}

// TestLoginSuccessCostsNothing: a right password gives back the budget its
// login took, so an owner signing in again and again (more often than any
// bucket's burst) from one address is never throttled.
func TestLoginSuccessCostsNothing(t *testing.T) {
	e := newEnv(t, Config{})
	e.register("alice")
	for i := range 2 * LoginIPBurst {
		if err := e.login("127.0.0.12", "alice", "password-alice"); err != nil {
			t.Fatalf("the owner's login %d: %v", i, err)
		}
	}
}
