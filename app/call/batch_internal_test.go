package call

import (
	"fmt"
	"testing"

	"parley/app/wire"
)

// TestCandidateBatch: the other side's candidates that come one signal
// after another join the batch (a candidateHold) that the negotiation queue
// has not taken yet, in order; once it is taken, one more must start a new
// batch, or it would never be added.
func TestCandidateBatch(t *testing.T) {
	c := func(i int) wire.Candidate { return wire.Candidate{Candidate: fmt.Sprintf("candidate:%d", i)} }
	b := &candidateHold{on: true, held: []wire.Candidate{c(0)}}
	for i := 1; i < 5; i++ {
		if !b.keep(c(i)) {
			t.Fatalf("candidate %d did not join a waiting batch", i)
		}
	}
	got := b.release()
	if len(got) != 5 {
		t.Fatalf("took %d candidates, want 5", len(got))
	}
	for i, g := range got {
		if g != c(i) {
			t.Fatalf("candidate %d is %v, want %v", i, g, c(i))
		}
	}
	if b.keep(c(5)) {
		t.Fatal("a taken batch took a candidate: it would never be added")
	}
	if rest := b.release(); len(rest) != 0 {
		t.Fatalf("a taken batch gave %d more", len(rest))
	}
}
