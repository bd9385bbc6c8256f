package call

import (
	"time"

	"parley/app/call/event"
	"parley/app/rtc"
)

// speakingMonitor polls audio levels while cs lasts and reports who speaks:
// the others' every 200 ms (their receivers' synchronization sources, which
// cost next to nothing), this participant's own every 400 ms (a getStats
// of one connection).
func (e *Engine) speakingMonitor(cs *callState, stop <-chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var first *rtc.Peer
		e.sync(func() {
			if cs.ended {
				return
			}
			for _, ps := range cs.peers {
				if first == nil {
					first = ps.peer
				}
				if lvl, ok := ps.peer.AudioLevel(); ok {
					e.speak(cs, ps.jid, false, lvl)
				}
			}
		})
		if first != nil && tick%2 == 0 {
			if lvl, ok := first.LocalAudioLevel(); ok {
				me := e.me()
				e.work.push(func() { e.speak(cs, me, true, lvl) })
			}
		}
	}
}

// speakState debounces one participant's speaking reports.
type speakState struct {
	speaking bool
	volume   int
	last     time.Time // last report
	loud     time.Time // last time the level was over the threshold
}

// speak turns a level (0-1) into callSpeakingListener events: speaking starts
// at once, stops after 600 ms of quiet, and volume changes are reported at
// most every 400 ms (work queue).
func (e *Engine) speak(cs *callState, jid string, local bool, level float64) {
	if cs.ended {
		return
	}
	if cs.speak == nil {
		cs.speak = map[string]*speakState{}
	}
	st := cs.speak[jid]
	if st == nil {
		st = &speakState{}
		cs.speak[jid] = st
	}
	now := time.Now()
	vol := int(level*10 + 0.5)
	if vol > 10 {
		vol = 10
	}
	if level >= 0.02 {
		st.loud = now
	}
	speaking := now.Sub(st.loud) < 600*time.Millisecond && !st.loud.IsZero()
	if !speaking {
		vol = 0
	}
	changed := speaking != st.speaking || (speaking && abs(vol-st.volume) >= 2 && now.Sub(st.last) >= 400*time.Millisecond)
	if !changed {
		return
	}
	st.speaking, st.volume, st.last = speaking, vol, now
	ev := event.Speaking{UserJID: jid, LocalUser: local, IsSpeaking: speaking, VolumeLevel: vol}
	e.emit(ev)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
