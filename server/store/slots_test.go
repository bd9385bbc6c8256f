package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSlotsUrgentFirst: with every slot taken, a freed slot goes to the
// urgent waiter even though others have waited longer; then to the others
// in order.
func TestSlotsUrgentFirst(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 3)
	waiting := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			s.mu.Lock()
			got := len(s.urgent) + len(s.normal)
			s.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiters, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	start := func(name string, urgent bool) {
		go func() {
			if err := s.acquire(ctx, urgent); err != nil {
				order <- "error: " + err.Error()
				return
			}
			order <- name
		}()
	}
	start("guess 1", false)
	waiting(1)
	start("guess 2", false)
	waiting(2)
	start("owner", true)
	waiting(3)
	for _, want := range []string{"owner", "guess 1", "guess 2"} {
		s.release()
		if got := <-order; got != want {
			t.Fatalf("slot went to %q, want %q", got, want)
		}
	}
	s.release()
	if s.free != 1 {
		t.Fatalf("%d free slots at the end, want 1", s.free)
	}
}

// TestSlotsCancel: a waiter whose context ends leaves the queue and takes
// no slot.
func TestSlotsCancel(t *testing.T) {
	s := newSlots(1)
	if err := s.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.acquire(ctx, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire with every slot busy: %v", err)
	}
	if len(s.urgent)+len(s.normal) != 0 {
		t.Fatal("a cancelled waiter stayed queued")
	}
	s.release()
	if s.free != 1 {
		t.Fatalf("%d free slots, want 1", s.free)
	}

}
