package e2e

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"parley/app/call"
	"parley/app/call/event"
)

// nativeUser is a participant run by Parley's call engine natively, in the
// test process: real pion peer connections through the real server, sending
// synthetic Opus audio (a silent frame every 20 ms). The large-call benchmarks
// use it for the people already in a call, so that one process stands for
// their machines: a Chromium page each (audio capture, echo cancellation,
// playout and the page itself, about a third of a core each, see the README)
// would leave the page being measured starved of this 2-core machine's CPU.
type nativeUser struct {
	*call.Engine
	jid  string
	mu   sync.Mutex
	evs  []event.Event
	wake chan struct{} // closed and replaced on each event
}

// newNativeUser registers name on srv with a native engine.
func newNativeUser(t *testing.T, srv *server, name string) *nativeUser {
	t.Helper()
	u := &nativeUser{wake: make(chan struct{})}
	cfg := call.Config{ServerURL: srv.URL, OnEvent: u.add}
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	u.Engine = call.New(cfg)
	t.Cleanup(u.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	me, err := u.Register(ctx, name, "correct horse battery", "User "+name)
	if err != nil {
		t.Fatalf("register %s natively: %v", name, err)
	}
	u.jid = me.JID
	return u
}

func (u *nativeUser) add(ev event.Event) {
	u.mu.Lock()
	u.evs = append(u.evs, ev)
	close(u.wake)
	u.wake = make(chan struct{})
	u.mu.Unlock()
}

// mark is how many events u has had: waitNative from it sees only later ones.
func (u *nativeUser) mark() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.evs)
}

// waitNative waits up to 30 s for an event of type T at index from or later
// that match accepts, and returns it.
func waitNative[T event.Event](t *testing.T, u *nativeUser, from int, what string, match func(T) bool) T {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		u.mu.Lock()
		for _, ev := range u.evs[min(from, len(u.evs)):] {
			if v, ok := ev.(T); ok && match(v) {
				u.mu.Unlock()
				return v
			}
		}
		wake := u.wake
		u.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("%s: waited 30 s for %s", u.jid, what)
		}
	}
}

// nativeCtx is a context for one engine request.
func nativeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// answerRings has each of members answer the call ringing it, in turn.
func answerRings(t *testing.T, members []*nativeUser) {
	t.Helper()
	for _, u := range members {
		waitNative(t, u, 0, "the ring", func(event.IncomingCall) bool { return true })
		if err := u.AnswerCall(nativeCtx(t)); err != nil {
			t.Fatalf("%s answers: %v", u.jid, err)
		}
	}
}
