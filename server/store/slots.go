package store

import (
	"context"
	"sync"
)

// slots is a counting semaphore whose urgent waiters are served before the
// others: when a slot frees up, the longest-waiting urgent acquirer gets it,
// else the longest-waiting other one. Password hashing uses it so that an
// account's owner, signing in from an address they used before, does not
// queue behind a burst of guesses.
type slots struct {
	mu             sync.Mutex
	free           int
	urgent, normal []chan struct{} // waiters, oldest first; a slot is handed over by closing
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot, waiting (urgent waiters first) until one is free or
// ctx ends.
func (s *slots) acquire(ctx context.Context, urgent bool) error {
	s.mu.Lock()
	if s.free > 0 && len(s.urgent) == 0 && (urgent || len(s.normal) == 0) {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if urgent {
		s.urgent = append(s.urgent, ch)
	} else {
		s.normal = append(s.normal, ch)
	}
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-ch: // handed a slot as ctx ended: pass it on
			s.releaseLocked()
		default:
			s.urgent = remove(s.urgent, ch)
			s.normal = remove(s.normal, ch)
		}
		return ctx.Err()
	}
}

// release frees a slot taken by acquire.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *slots) releaseLocked() {
	switch {
	case len(s.urgent) > 0:
		close(s.urgent[0])
		s.urgent = s.urgent[1:]
	case len(s.normal) > 0:
		close(s.normal[0])
		s.normal = s.normal[1:]
	default:
		s.free++
	}
}

func remove(list []chan struct{}, ch chan struct{}) []chan struct{} {
	for i, c := range list {
		if c == ch {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

type urgentKey struct{}

// Urgent marks ctx so that the password hashing of a Login made with it
// waits ahead of the others: for the account's owner (an address that signed
// in to it before) while guesses queue up.
func Urgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

func isUrgent(ctx context.Context) bool {
	u, _ := ctx.Value(urgentKey{}).(bool)
	return u
}
