package e2e

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"parley/server/cluster/natstest"
	"parley/server/store/pgtest"
)

// waitLog waits until the server's log has a line containing text.
func (s *server) waitLog(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(s.log.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log of %s within %v:\n%s", text, s.Addr, timeout, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// front is a loopback TCP front for pages: one user's way into a cluster, as
// a load balancer is, or a network path that can go silent. Every TCP
// connection goes to the first server of its list that accepts one, so a
// user stays on their instance until it dies and then moves to the next.
// Its URL is the page's origin.
type front struct {
	URL      string
	ln       net.Listener
	backends []*server
	mu       sync.Mutex
	conns    map[net.Conn]*atomic.Bool // each open connection's silence (see silence)
	carried  atomic.Int64              // connections joined to a server so far
	wg       sync.WaitGroup
}

func newFront(t *testing.T, backends ...*server) *front {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{URL: "http://" + ln.Addr().String(), ln: ln, backends: backends, conns: make(map[net.Conn]*atomic.Bool)}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *front) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.carry(c)
		}()
	}
}

// carry joins c to the first instance that accepts a connection.
func (f *front) carry(c net.Conn) {
	defer c.Close()
	var back net.Conn
	for _, b := range f.backends {
		var err error
		if back, err = net.DialTimeout("tcp", b.Addr, time.Second); err == nil {
			break
		}
	}
	if back == nil {
		return
	}
	defer back.Close()
	quiet := new(atomic.Bool)
	if !f.track(quiet, c, back) {
		return
	}
	f.carried.Add(1)
	defer f.untrack(c, back)
	done := make(chan struct{}, 2)
	go func() { pass(back, c, quiet); done <- struct{}{} }()
	go func() { pass(c, back, quiet); done <- struct{}{} }()
	<-done
}

// pass copies src to dst until either fails, dropping what arrives while
// quiet is set.
func pass(dst, src net.Conn, quiet *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !quiet.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// silence makes every connection open now carry nothing either way from
// here on while staying open, as a path does that a NAT forgot; connections
// opened later carry as before.
func (f *front) silence() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, quiet := range f.conns {
		quiet.Store(true)
	}
}

func (f *front) track(quiet *atomic.Bool, cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	for _, c := range cs {
		f.conns[c] = quiet
	}
	return true
}

func (f *front) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.conns, c)
	}
}

func (f *front) close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}

// chatTexts is the in-call chat log's messages, oldest first.
const chatTexts = `[...document.querySelectorAll('#chat-log .chat-msg .chat-text')].map(e => e.textContent)`

// say sends a chat message (custom data to everyone in the call).
func (u *pwaUser) say(text string) {
	u.t.Helper()
	if !eval[bool](u.t, u.ctx, `!!document.querySelector('#chat-input')`) {
		click(u.t, u.ctx, "#toggle-chat")
		u.wait(`document.querySelector('#chat-input')`, 5*time.Second)
	}
	u.wait(`(() => { const el = document.querySelector('#chat-input'); if (!el) return false; el.focus(); return document.activeElement === el })()`, 10*time.Second)
	run(u.t, u.ctx, "type a message", insertText(text), chromedp.KeyEvent(kb.Enter))
}

// openChat opens the chat panel.
func (u *pwaUser) openChat() {
	u.t.Helper()
	click(u.t, u.ctx, "#toggle-chat")
	u.wait(`document.querySelector('#chat-log')`, 5*time.Second)
}

// heard returns the time at which every user's chat log has a message
// starting with prefix; the sender repeats it (prefix + " #n") every 250 ms
// while it does not, since a message sent while its page reconnects may be
// refused.
func heard(t *testing.T, from *pwaUser, prefix string, to ...*pwaUser) time.Time {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for n := 1; ; n++ {
		from.say(prefix + " #" + strconv.Itoa(n))
		for next := time.Now().Add(250 * time.Millisecond); time.Now().Before(next); {
			all := true
			for _, u := range to {
				if !eval[bool](t, u.ctx, chatTexts+`.some(x => x.startsWith(`+jsString(prefix)+`))`) {
					all = false
					break
				}
			}
			if all {
				return time.Now()
			}
			time.Sleep(20 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q from %s did not reach everyone within 40 s", prefix, from.name)
		}
	}
}

// outage watches each user's call screen for the "Reconnecting to the
// server…" notice, every 25 ms, until stop is called, which returns when
// each showed it first and last, relative to since (nothing when never).
func outage(users []*pwaUser, since time.Time) (stop func() []string) {
	done := make(chan struct{})
	out := make([]string, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first, last time.Duration
			for {
				select {
				case <-done:
					if first == 0 {
						out[i] = u.name + ": no notice seen"
					} else {
						out[i] = u.name + ": reconnecting from " + first.Round(10*time.Millisecond).String() +
							" to " + last.Round(10*time.Millisecond).String()
					}
					return
				default:
				}
				if on, err := evalErr[bool](u.ctx, `!!document.querySelector('#server-reconnecting')`); err == nil && on {
					if first == 0 {
						first = time.Since(since)
					}
					last = time.Since(since)
				}
				time.Sleep(25 * time.Millisecond)
			}
		}()
	}
	return func() []string {
		close(done)
		wg.Wait()
		return out
	}
}

// TestClusterCalls runs three bin/parley instances on one PostgreSQL and
// one NATS; each user reaches them through a front (a load balancer that
// prefers one instance). The first instance leads (runs the calls).
//
//   - Alice, on the first instance, calls Bob and Carol. Bob's phone on the
//     second instance and his desktop on the third both ring; he answers on
//     the phone and the desktop stops ringing. Carol, on the third, answers:
//     a 3-party video call across all three instances.
//   - Chat messages (custom data) from Alice reach Bob and Carol in order.
//   - The second instance, Bob's, is killed (SIGKILL): his page reconnects
//     through his front to the third and resumes; the video never stops.
//   - The first instance, the leader with Alice on it, is killed: the third
//     takes over from PostgreSQL, Alice resumes there, the video never stops,
//     and the call goes on (chat, a mute, hanging up).
func TestClusterCalls(t *testing.T) {
	dsn := pgtest.Start(t).DSN(t)
	nats := natstest.Start(t)
	// The NATS server runs inside this race-built test process. On a CI
	// machine starved by every other test (load average 20-40 on 2 cores)
	// its replies came late enough for the leader's 1 s lease to lapse while
	// the leader lived (CI8, CI11): the lead changed hands, every page had
	// to resume, and the starved pages took longer than the default 15 s
	// grace to do so, which ended the call. A lapse is survivable as long
	// as the pages may take their time: the grace here is two minutes.
	args := []string{"-database", dsn, "-nats", nats.URL(), "-resume-grace", "2m"}
	first := startServerWith(t, serverOptions{Args: args})
	first.waitLog(t, "this instance runs the calls", 30*time.Second)
	second := startServerWith(t, serverOptions{Args: args})
	third := startServerWith(t, serverOptions{Args: args})

	b := newBrowser(t)
	alice := newPWAUser(t, b, "alice", "Alice Liddell", "desktop")
	bob := newPWAUser(t, b, "bob", "Bob Marley", "phone")
	bobDesk := newPWAUser(t, b, "bob", "Bob Marley", "desktop")
	carol := newPWAUser(t, b, "carol", "Carol Singer", "desktop")
	alice.signUp(newFront(t, first, second, third).URL)
	bob.signUp(newFront(t, second, third, first).URL)
	bobDesk.signIn(newFront(t, third, first, second).URL)
	carol.signUp(newFront(t, third, second, first).URL)

	typeText(t, alice.ctx, "#dial-to", "bob, carol")
	click(t, alice.ctx, "#call-video")
	for _, u := range []*pwaUser{bob, bobDesk, carol} {
		u.wait(`document.querySelector('#answer-call')`, 15*time.Second)
	}
	click(t, bob.ctx, "#answer-call")
	bobDesk.wait(`!document.querySelector('#incoming-card')`, 15*time.Second)
	click(t, carol.ctx, "#answer-call")
	for _, u := range []*pwaUser{alice, bob, carol} {
		u.remoteVideosPlay(2)
	}

	// Custom data across instances, in order.
	bob.openChat()
	carol.openChat()
	want := []string{"one", "two", "three", "four", "five"}
	for _, m := range want {
		alice.say(m)
	}
	for _, u := range []*pwaUser{bob, carol} {
		u.wait(`JSON.stringify(`+chatTexts+`) === `+jsString(mustJSON(t, want)), 15*time.Second)
	}
	bob.shot("c1-three-instances")

	// Bob's instance dies. Alice's chat reaching Bob again is the sign
	// that his page resumed through the third instance.
	killed := time.Now()
	second.halt(true)
	watch := outage([]*pwaUser{alice, bob, carol}, killed)
	at := heard(t, alice, "after the gateway", bob, carol)
	t.Logf("Bob's instance killed: everyone hears Alice again %v after (%s)", at.Sub(killed).Round(time.Millisecond),
		strings.Join(watch(), "; "))
	for _, u := range []*pwaUser{alice, bob, carol} {
		u.framesKeepGrowing("after Bob's instance died")
	}

	// The leader, with Alice on it, dies.
	killed = time.Now()
	first.halt(true)
	led := make(chan time.Duration, 1)
	go func() {
		for i := 0; i < 3000 && !strings.Contains(third.log.String(), "this instance runs the calls"); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		led <- time.Since(killed)
	}()
	watch = outage([]*pwaUser{alice, bob, carol}, killed)
	at = heard(t, alice, "after the leader", bob, carol)
	t.Logf("leader killed: the third instance leads %v after, everyone hears Alice again %v after (%s)",
		(<-led).Round(time.Millisecond), at.Sub(killed).Round(time.Millisecond), strings.Join(watch(), "; "))
	third.waitLog(t, "this instance runs the calls", 30*time.Second)
	for _, u := range []*pwaUser{alice, bob, carol} {
		u.framesKeepGrowing("after the leader died")
	}
	alice.shot("c2-after-failover")

	for _, u := range []*pwaUser{alice, bob, carol} {
		click(t, u.ctx, "#close-panel") // on a phone the panel covers the call
		u.wait(`!document.querySelector('#chat-log')`, 5*time.Second)
	}
	click(t, alice.ctx, "#toggle-mic")
	for _, u := range []*pwaUser{bob, carol} {
		u.wait(`document.querySelector('[id^="remote-mic-muted-"]')`, 15*time.Second)
	}
	// Alice leaves; Bob leaves, which ends the call for Carol too.
	click(t, alice.ctx, "#end-call")
	alice.wait(`document.querySelector('#call-ended') || document.querySelector('#dial-to')`, 15*time.Second)
	bob.wait(`document.querySelectorAll('.remote-video').length === 1`, 15*time.Second)
	click(t, bob.ctx, "#end-call")
	for _, u := range []*pwaUser{bob, carol} {
		u.wait(`document.querySelector('#call-ended') || document.querySelector('#dial-to')`, 15*time.Second)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
