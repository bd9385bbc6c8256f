package call

import "sync"

// queue runs functions one at a time, in order, on its own goroutine, without
// ever blocking the caller.
type queue struct {
	mu     sync.Mutex
	items  []func()
	closed bool
	wake   chan struct{}
}

func newQueue() *queue {
	q := &queue{wake: make(chan struct{}, 1)}
	go q.run()
	return q
}

// push queues f; it reports false (and drops f) once the queue is closed.
func (q *queue) push(f func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// close ends the queue's goroutine once what was pushed has run; later pushes
// are dropped.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) run() {
	for range q.wake {
		for {
			q.mu.Lock()
			if len(q.items) == 0 {
				closed := q.closed
				q.mu.Unlock()
				if closed {
					return
				}
				break
			}
			f := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			f()
		}
	}
}

// sync runs f on the work queue and waits for it (it does nothing once the
// engine is closed).
func (e *Engine) sync(f func()) {
	done := make(chan struct{})
	if e.work.push(func() { f(); close(done) }) {
		<-done
	}
}
