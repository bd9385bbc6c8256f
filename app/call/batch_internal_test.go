package call

import (
	"fmt"
	"testing"

	"parley/app/wire"
)

// TestCandidateBatch: candidates join a batch until the negotiation queue
// takes it; after that (or with no batch) a new one must start, and a batch
// holds at most maxBatchCandidates.
func TestCandidateBatch(t *testing.T) {
	c := func(i int) wire.Candidate { return wire.Candidate{Candidate: fmt.Sprintf("candidate:%d", i)} }
	var none *candidateBatch
	if none.add(c(0)) {
		t.Fatal("a nil batch took a candidate")
	}
	b := &candidateBatch{cs: []wire.Candidate{c(0)}}
	for i := 1; i < maxBatchCandidates; i++ {
		if !b.add(c(i)) {
			t.Fatalf("candidate %d did not join a waiting batch", i)
		}
	}
	if b.add(c(maxBatchCandidates)) {
		t.Fatal("a full batch took one more")
	}
	got := b.take()
	if len(got) != maxBatchCandidates || got[0] != c(0) || got[len(got)-1] != c(maxBatchCandidates-1) {
		t.Fatalf("took %d candidates, first %v, last %v", len(got), got[0], got[len(got)-1])
	}
	b = &candidateBatch{cs: []wire.Candidate{c(0)}}
	b.take()
	if b.add(c(1)) {
		t.Fatal("a taken batch took a candidate: it would never be added")
	}
}
