package hub

import (
	"fmt"
	"testing"

	"parley/app/wire"
)

// login tries username/password from address ip on a fresh connection and
// returns the error, nil on success.
func (e *env) login(ip, username, password string) *wire.Error {
	e.t.Helper()
	c := e.dialFrom("login from "+ip, ip)
	defer c.ws.CloseNow()
	return c.do(wire.TypeLogin, wire.LoginRequest{Username: username, Password: password}, nil)
}

func isCode(e *wire.Error, code int) bool { return e != nil && e.Code == code }

// TestLoginThrottle: one guesser is slowed down after a few wrong passwords
// (429 with retryAfter, even with the right password from that address),
// another address is not; a guesser spread over many addresses exhausts the
// account's budget for unknown addresses, yet the owner signs in from an
// address they used before; one address spraying many accounts is slowed
// down too.
func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, Config{})
	e.register("alice")
	if err := e.login("127.0.0.9", "alice", "password-alice"); err != nil {
		t.Fatalf("the owner's first login: %v", err)
	}

	for i := range LoginPairBurst {
		if err := e.login("127.0.0.2", "alice", fmt.Sprintf("guess-%d", i)); !isCode(err, wire.CodeUnauthorized) {
			t.Fatalf("guess %d: %v, want 401", i, err)
		}
	}
	err := e.login("127.0.0.2", "alice", "password-alice")
	if !isCode(err, wire.CodeRateLimited) || err.RetryAfter < 1 || err.RetryAfter > 30 || err.Reason != wire.ReasonRateLimited {
		t.Fatalf("a login after %d wrong passwords from one address: %+v, want 429 with retryAfter 1–30 s", LoginPairBurst, err)
	}
	if err := e.login("127.0.0.3", "alice", "password-alice"); err != nil {
		t.Fatalf("a login from another address while one guesses: %v", err)
	}

	// Many addresses, a few guesses each, until the account's budget for
	// unknown addresses runs out.
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		ip := fmt.Sprintf("127.0.1.%d", 10+i)
		for j := 0; j < 2 && !limited; j++ {
			switch err := e.login(ip, "alice", fmt.Sprintf("spread-%d-%d", i, j)); {
			case isCode(err, wire.CodeRateLimited):
				limited = true
			case !isCode(err, wire.CodeUnauthorized):
				t.Fatalf("distributed guess: %v", err)
			}
		}
	}
	if !limited {
		t.Fatal("80 guesses from 40 addresses were never throttled")
	}
	if err := e.login("127.0.2.1", "alice", "password-alice"); !isCode(err, wire.CodeRateLimited) {
		t.Fatalf("a new address during a distributed attack: %v, want 429", err)
	}
	if err := e.login("127.0.0.9", "alice", "password-alice"); err != nil {
		t.Fatalf("the owner, from an address they signed in from before, during the attack: %v", err)
	}

	// One address spraying many accounts.
	for i := range LoginIPBurst {
		if err := e.login("127.0.3.1", fmt.Sprintf("user%d", i), "guess-guess"); !isCode(err, wire.CodeUnauthorized) {
			t.Fatalf("spray %d: %v, want 401", i, err)
		}
	}
	if err := e.login("127.0.3.1", "someone-else", "guess-guess"); !isCode(err, wire.CodeRateLimited) {
		t.Fatalf("after %d failed logins to different accounts from one address: %v, want 429", LoginIPBurst, err)
	}
}
