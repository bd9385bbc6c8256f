package hub

import (
	"encoding/json"
	"strconv"
	"time"

	"parley/app/wire"
)

// This file holds the transport's delivery: the core's effects become
// events on sessions and timers, and replies go onto connections.

// deliver adds the core's effects to b: its events (to the sessions still
// there when b is delivered) and logs, and starts or stops its timers now.
// Called with h.mu held.
func (h *Hub) deliver(b *batch, fx *effects) {
	h.observe(fx)
	for _, ev := range fx.events {
		// The session is looked up now, under h.mu; the op may run
		// without it, and skips a session removed meanwhile.
		if s := h.sessions[ev.tab]; s != nil {
			b.toSession(s, func(st *starter) { h.sendEvent(s, ev.typ, ev.data, st) })
		}
	}
	b.logs = append(b.logs, fx.logs...)
	b.live = append(b.live, h.core.drainLive()...)
	if h.cfg.checkSaved != nil {
		if err := h.core.checkSaved(); err != nil {
			h.cfg.checkSaved(err)
		}
	}
	for _, t := range fx.timers {
		h.setTimer(t)
	}
	h.sendPushes(fx.pushes)
}

// setTimer starts or stops a timer the core asked for; one that fires goes
// back to the core as a request. Called with h.mu held.
func (h *Hub) setTimer(t timer) {
	if old := h.timers[t.key]; old != nil {
		old.Stop()
		delete(h.timers, t.key)
	}
	if t.after <= 0 || h.closed {
		return
	}
	var tm *time.Timer
	tm = h.afterFunc(t.after, func() {
		if h.timers[t.key] == tm {
			delete(h.timers, t.key)
		}
		b := &batch{}
		fx := &effects{}
		h.core.fire(fx, t)
		h.deliver(b, fx)
		h.commit(b)
	})
	h.timers[t.key] = tm
}

// sendEvent numbers an event for session s, keeps it for replay and queues it
// on the session's connection, if any. The frame shares data with every
// other tab the event goes to: only its envelope is built here, by hand
// (wire.Frame's JSON with the payload not re-encoded), which keeps the work
// done per tab small. Called from a batch's op: with h.mu held, or by the
// flusher without it.
func (h *Hub) sendEvent(s *session, typ string, data json.RawMessage, st *starter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return
	}
	if s.restored {
		s.keepEarly(typ, data)
		return
	}
	s.seq++
	f := eventFrame(typ, s.seq, data)
	s.buf = append(s.buf, sentEvent{s.seq, f})
	before := s.bufBytes
	s.bufBytes += f.size()
	total := h.replay.Add(int64(f.size()))
	drop := 0
	// The session's own caps, then the server's: when every session's
	// buffers together are over MaxReplayBytes, the session that receives
	// keeps only what fits (at least this event), so busy receivers give
	// way first and the total stays bounded whatever clients send.
	for len(s.buf)-drop > 1 && (len(s.buf)-drop > EventBuffer || s.bufBytes > EventBufferBytes ||
		total-int64(before+f.size()-s.bufBytes) > h.cfg.MaxReplayBytes) {
		s.bufBytes -= s.buf[drop].frame.size()
		drop++
	}
	h.replay.Add(int64(s.bufBytes - before - f.size()))
	if drop > 0 {
		n := copy(s.buf, s.buf[drop:])
		clear(s.buf[n:])
		s.buf = s.buf[:n]
	}
	if s.c != nil {
		s.c.enqueue(f, st)
	}
}

// eventFrame is the frame wire.Marshal(wire.Frame{Type: typ, Seq: seq,
// Data: data}) encodes, for a compact data (the hub's payloads all come from
// mustJSON) and a type that needs no escaping (the hub's event types).
func eventFrame(typ string, seq uint64, data json.RawMessage) frame {
	head := make([]byte, 0, len(typ)+48)
	head = append(head, `{"type":"`...)
	head = append(head, typ...)
	head = append(head, `","seq":`...)
	head = strconv.AppendUint(head, seq, 10)
	if len(data) == 0 {
		return frame{head: append(head, '}')}
	}
	head = append(head, `,"data":`...)
	return frame{head: head, data: data, brace: true}
}

// reply adds the success reply to request id on c to b.
func (h *Hub) reply(b *batch, c *conn, id uint64, payload any) {
	f := wire.Frame{Type: wire.TypeResult, ID: id}
	if payload != nil {
		f.Data = mustJSON(payload)
	}
	out, err := wire.Encode(f)
	if err != nil {
		h.log.Error("encode reply", "err", err)
		h.replyErr(b, c, id, internalError())
		return
	}
	b.toConn(c, func(st *starter) { c.enqueue(frame{head: out}, st) })
}

// replyErr adds the error reply to request id on c to b.
func (h *Hub) replyErr(b *batch, c *conn, id uint64, e *wire.Error) {
	out, err := wire.Encode(wire.ErrorReply(id, e))
	if err != nil {
		h.log.Error("encode error reply", "err", err)
		return
	}
	b.toConn(c, func(st *starter) { c.enqueue(frame{head: out}, st) })
}

// sendNow replies (payload or e) to request id at once, in order with earlier
// batches. Takes h.mu.
func (h *Hub) sendNow(c *conn, id uint64, payload any, e *wire.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := &batch{}
	if e != nil {
		h.replyErr(b, c, id, e)
	} else {
		h.reply(b, c, id, payload)
	}
	h.commit(b)
}
