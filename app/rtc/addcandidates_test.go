package rtc

import (
	"sync"
	"testing"
	"time"

	"parley/app/wire"
)

// candidateSink collects one peer's local candidates and states.
type candidateSink struct {
	mu    sync.Mutex
	cs    []wire.Candidate
	state chan string
}

func (s *candidateSink) handlers() PeerHandlers {
	return PeerHandlers{
		Candidate: func(c wire.Candidate) {
			s.mu.Lock()
			s.cs = append(s.cs, c)
			s.mu.Unlock()
		},
		State: func(st string) {
			select {
			case s.state <- st:
			default:
			}
		},
		Track: func(Track) {},
	}
}

func (s *candidateSink) candidates(t *testing.T) []wire.Candidate {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := len(s.cs)
		s.mu.Unlock()
		if n > 0 {
			time.Sleep(200 * time.Millisecond) // the rest of the burst
			s.mu.Lock()
			defer s.mu.Unlock()
			return append([]wire.Candidate(nil), s.cs...)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no local candidate gathered within 5 s")
	return nil
}

// offeredPair makes an offering peer pa and an answering peer pb, each
// reporting to its sink, and pa's offer; both are closed when the test ends.
func offeredPair(t *testing.T) (pa, pb *Peer, a, b *candidateSink, offer wire.SessionDescription) {
	t.Helper()
	a, b = &candidateSink{state: make(chan string, 16)}, &candidateSink{state: make(chan string, 16)}
	pa, err := NewPeer(Config{}, nil, true, a.handlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pa.Close() })
	pb, err = NewPeer(Config{}, nil, false, b.handlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pb.Close() })
	offer, err = pa.Offer(false)
	if err != nil {
		t.Fatal(err)
	}
	return pa, pb, a, b, offer
}

// TestAddCandidatesPastABadOne: a batch of the other side's candidates is
// added whole even when one of them cannot be (it fails the batch's
// result, not the candidates after it). Each side's only copies of the
// other's candidates come after a malformed one: were the batch cut at the
// failure, neither side would have a candidate to check and the two would
// never connect.
func TestAddCandidatesPastABadOne(t *testing.T) {
	pa, pb, a, b, offer := offeredPair(t)
	answer, err := pb.Accept(offer)
	if err != nil || answer == nil {
		t.Fatalf("accept the offer: %v, %v", answer, err)
	}
	if _, err := pa.Accept(*answer); err != nil {
		t.Fatalf("accept the answer: %v", err)
	}
	bad := wire.Candidate{Candidate: "candidate:not a candidate"}
	if err := pa.AddCandidates(append([]wire.Candidate{bad}, b.candidates(t)...)); err == nil {
		t.Fatal("a batch with a malformed candidate reported no error")
	}
	if err := pb.AddCandidates(append([]wire.Candidate{bad}, a.candidates(t)...)); err == nil {
		t.Fatal("a batch with a malformed candidate reported no error")
	}
	for _, s := range []*candidateSink{a, b} {
		timeout := time.After(10 * time.Second)
		for st := ""; st != StateConnected; {
			select {
			case st = <-s.state:
			case <-timeout:
				t.Fatal("the peers did not connect with the candidates after the malformed one")
			}
		}
	}
}

// TestBadQueuedCandidateKeepsTheAnswer: a malformed candidate that came
// before the offer waits with the others and fails alone when the offer is
// applied; the offer is still answered, or one bad line from the other side
// would cost the whole negotiation.
func TestBadQueuedCandidateKeepsTheAnswer(t *testing.T) {
	_, pb, _, _, offer := offeredPair(t)
	if err := pb.AddCandidates([]wire.Candidate{{Candidate: "candidate:not a candidate"}}); err != nil {
		t.Fatalf("a candidate before the offer was not kept for it: %v", err)
	}
	answer, err := pb.Accept(offer)
	if err != nil || answer == nil {
		t.Fatalf("accept the offer after a bad candidate: %v, %v", answer, err)
	}
}
