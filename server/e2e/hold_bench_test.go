package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Held calls (issue 10, target 3): a call kept up for PARLEY_BENCH_HOLD
// (default 60s, so that `make bench` stays under 2 minutes a benchmark; 5m for
// the figure), sampled every 30 s. For each window the benchmark
// prints the minimum and median over every (receiver, sender) pair of the
// decoded frame rate (video) or of the audio packets received per second and
// the share of concealed audio samples (voice), and at the end the CPU that
// the browser's process tree and the server process used over the hold.

// holdWindow is the sampling window of a held call.
const holdWindow = 30 * time.Second

// holdFor reads PARLEY_BENCH_HOLD.
func holdFor(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("PARLEY_BENCH_HOLD")
	if s == "" {
		return 60 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("PARLEY_BENCH_HOLD=%q: want a positive duration such as 5m", s)
	}
	return d
}

// mediaSample reads, in one page, what arrived from each other participant:
// frames presented by its video element, and its audio track's inbound-rtp
// statistics (packets, concealed and total samples, jitter buffer), matched
// through the track's id. Keys are the JIDs of the senders.
const mediaSample = `(async () => {
  const stats = [];
  for (const pc of window.pcs) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp") stats.push(s); });
  }
  const out = {at: Date.now(), peers: {}, states: window.pcs.filter((pc) => pc.connectionState !== "closed").map((pc) => pc.connectionState)};
  for (const el of document.querySelectorAll("#media video, #media audio")) {
    if (el.id.startsWith("local-") || !el.srcObject) continue;
    const tr = el.srcObject.getTracks()[0];
    if (!tr) continue;
    const jid = el.id.slice(0, el.id.lastIndexOf("-"));
    const p = out.peers[jid] || (out.peers[jid] = {});
    const s = stats.find((s) => s.trackIdentifier === tr.id);
    if (el.tagName === "VIDEO") {
      p.frames = el.getVideoPlaybackQuality().totalVideoFrames;
    } else if (s) {
      p.packets = s.packetsReceived || 0;
      p.concealed = s.concealedSamples || 0;
      p.samples = s.totalSamplesReceived || 0;
      p.jbDelay = s.jitterBufferDelay || 0;
      p.jbEmitted = s.jitterBufferEmittedCount || 0;
    }
  }
  return JSON.stringify(out);
})()`

// peerMedia is one sender's counters in a mediaSample.
type peerMedia struct {
	Frames    int     `json:"frames"`
	Packets   int     `json:"packets"`
	Concealed int     `json:"concealed"`
	Samples   int     `json:"samples"`
	JBDelay   float64 `json:"jbDelay"`
	JBEmitted int     `json:"jbEmitted"`
}

// pageSample is one page's mediaSample.
type pageSample struct {
	At     int64                `json:"at"`
	Peers  map[string]peerMedia `json:"peers"`
	States []string             `json:"states"`
	OK     bool                 `json:"-"` // the page answered
}

// sampleMedia takes a mediaSample of every page at once. A page that does
// not answer within 3 minutes (a starved renderer: gathering the statistics
// of every peer connection of a page can take long on a loaded machine) gets
// a sample with OK false, and its error is returned.
func sampleMedia(users []*sdkUser) ([]pageSample, []error) {
	out := make([]pageSample, len(users))
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(u.ctx, 3*time.Minute)
			defer cancel()
			raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](mediaSample, chromedp.EvalAwaitPromise))
			if err == nil {
				err = json.Unmarshal([]byte(raw), &out[i])
			}
			if err != nil {
				// Tell a page whose main thread is stuck from getStats
				// promises that never settle.
				pctx, pcancel := context.WithTimeout(u.ctx, 10*time.Second)
				defer pcancel()
				page := "answers a plain evaluation"
				if _, perr := chromedp.Run(pctx, chromedp.Evaluate[int](`1 + 1`)); perr != nil {
					page = "does not answer a plain evaluation either"
				}
				errs[i] = fmt.Errorf("media sample of %s: %w; the page %s", u.jid, err, page)
				return
			}
			out[i].OK = true
		}()
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	return out, failed
}

// procStat is one process's line of /proc/<pid>/stat.
type procStat struct {
	pid, ppid int
	start     string // start time since boot, with pid a key that survives pid reuse
	ticks     int64  // utime + stime, in clock ticks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports (the kernel's ABI, whatever CONFIG_HZ is).
const clockTicks = 100

func readProcStat(pid string) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of %s: %w", pid, err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parentheses
	if i < 0 {
		return procStat{}, fmt.Errorf("stat of %s: no command name", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("stat of %s: %d fields", pid, len(f))
	}
	p := procStat{start: f[19]}
	p.pid, _ = strconv.Atoi(pid)
	p.ppid, _ = strconv.Atoi(f[1])
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, fmt.Errorf("stat of %s: utime %q stime %q", pid, f[11], f[12])
	}
	p.ticks = ut + st
	return p, nil
}

// treeCPU returns the CPU ticks of root and all its descendants, keyed by
// pid and start time.
func treeCPU(t *testing.T, root int) map[string]int64 {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("list /proc: %v", err)
	}
	children := map[int][]procStat{}
	var self *procStat
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		p, err := readProcStat(e.Name())
		if err != nil {
			continue // exited meanwhile
		}
		if p.pid == root {
			self = &p
		}
		children[p.ppid] = append(children[p.ppid], p)
	}
	if self == nil {
		t.Fatalf("process %d is gone", root)
	}
	out := map[string]int64{}
	queue := []procStat{*self}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out[strconv.Itoa(p.pid)+"@"+p.start] = p.ticks
		queue = append(queue, children[p.pid]...)
	}
	return out
}

// browserPid is the pid of b's Chromium, the root of the process tree whose
// CPU a benchmark measures.
func browserPid(t *testing.T, b *browser) int {
	t.Helper()
	proc := chromedp.FromContext(b.ctx).Browser.Process()
	if proc == nil {
		t.Fatal("no browser process to measure")
	}
	return proc.Pid
}

// cpuBetween is the CPU time spent between two treeCPU samples: processes
// that exited in between are lost, new ones count whole.
func cpuBetween(before, after map[string]int64) time.Duration {
	var ticks int64
	for k, v := range after {
		ticks += v - before[k]
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// loadAvg is the machine's 1-minute load average, for saying what else ran.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// medianMin returns the median and minimum of xs (xs is sorted in place).
func medianMin(xs []float64) (median, min float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2], xs[0]
	}
	return (xs[n/2-1] + xs[n/2]) / 2, xs[0]
}

// holdCall keeps the running call of users for PARLEY_BENCH_HOLD and logs
// each window and the CPU figures, every line starting with label. senders
// are the JIDs of everyone in the call (users' pages and any nativeUser).
func holdCall(t *testing.T, label string, b *browser, srv *server, users []*sdkUser, senders []string, video bool) {
	t.Helper()
	hold := holdFor(t)
	pid := browserPid(t, b)
	sampleAll := func() []pageSample {
		out, errs := sampleMedia(users)
		for _, err := range errs {
			t.Logf("%s: %v", label, err)
		}
		return out
	}
	start := time.Now()
	browserCPU0, serverCPU0, load0 := treeCPU(t, pid), treeCPU(t, srv.cmd.Process.Pid), loadAvg()
	selfCPU0 := treeCPU(t, os.Getpid())
	prev, prevAt := sampleAll(), time.Duration(0)
	type windowStat struct{ median, min float64 }
	var windows []windowStat
	for w := 1; ; w++ {
		end := start.Add(time.Duration(w) * holdWindow)
		if end.After(start.Add(hold)) {
			end = start.Add(hold)
		}
		time.Sleep(time.Until(end))
		cur := sampleAll()
		var rates, conceal, jb []float64
		var concealed, samples, flowing int
		unanswered := 0
		for i, u := range users {
			if !cur[i].OK || !prev[i].OK {
				unanswered++
				continue
			}
			dt := float64(cur[i].At-prev[i].At) / 1000
			for _, o := range senders {
				if o == u.jid {
					continue
				}
				a, z := prev[i].Peers[o], cur[i].Peers[o]
				if z.Packets < a.Packets || z.Frames < a.Frames {
					// A new peer connection or element replaced the old
					// one: its counters started again from zero.
					a = peerMedia{}
				}
				if video {
					rates = append(rates, float64(z.Frames-a.Frames)/dt)
					continue
				}
				rates = append(rates, float64(z.Packets-a.Packets)/dt)
				if z.Packets > a.Packets {
					flowing++
				}
				ds, dc := z.Samples-a.Samples, z.Concealed-a.Concealed
				concealed += dc
				samples += ds
				if ds > 0 {
					conceal = append(conceal, 100*float64(dc)/float64(ds))
				}
				if n := z.JBEmitted - a.JBEmitted; n > 0 {
					jb = append(jb, 1000*(z.JBDelay-a.JBDelay)/float64(n))
				}
			}
		}
		med, lo := medianMin(rates)
		windows = append(windows, windowStat{med, lo})
		// Sampling every page takes a while on a starved machine: the
		// window is from the previous sample's start to this one's end.
		from, to := prevAt, time.Since(start).Round(time.Second)
		if video {
			t.Logf("%s, %v–%v: decoded fps per pair (%d pairs; %d pages did not answer) median %.1f, min %.1f", label, from, to, len(rates), unanswered, med, lo)
		} else {
			cmed, _ := medianMin(conceal) // sorts conceal
			cmax := 0.0
			if len(conceal) > 0 {
				cmax = conceal[len(conceal)-1]
			}
			jmed, _ := medianMin(jb)
			all := 0.0
			if samples > 0 {
				all = 100 * float64(concealed) / float64(samples)
			}
			t.Logf("%s, %v–%v: audio flowing in %d of %d pairs (%d pages did not answer); packets/s per pair median %.1f, min %.1f; concealed samples %.2f%% overall (median pair %.2f%%, worst %.2f%%; %d samples); jitter buffer median %.0f ms",
				label, from, to, flowing, len(rates), unanswered, med, lo, all, cmed, cmax, samples, jmed)
		}
		for i := range cur {
			if cur[i].OK { // a page that did not answer is measured from its last answer
				prev[i] = cur[i]
			}
		}
		prevAt = to
		if time.Since(start) >= hold { // sampling may have taken windows' worth of time
			break
		}
	}
	elapsed := time.Since(start)
	browserCPU, serverCPU := cpuBetween(browserCPU0, treeCPU(t, pid)), cpuBetween(serverCPU0, treeCPU(t, srv.cmd.Process.Pid))
	selfCPU := cpuBetween(selfCPU0, treeCPU(t, os.Getpid()))
	var states []string
	for i, u := range users {
		if !prev[i].OK {
			states = append(states, u.jid+": page never answered")
		}
		for _, s := range prev[i].States {
			if s != "connected" {
				states = append(states, u.jid+":"+s)
			}
		}
	}
	conn := "every peer connection connected"
	if len(states) > 0 {
		conn = "peer connections not connected: " + strings.Join(states, ", ")
	}
	// A drop is a later window clearly below the first: its median under
	// 90% of the first's, or its minimum under 80%.
	first, last := windows[0], windows[len(windows)-1]
	verdict := fmt.Sprintf("no drop (first window median %.1f, min %.1f; last %.1f, %.1f)", first.median, first.min, last.median, last.min)
	var drops []string
	for i, w := range windows[1:] {
		if w.median < 0.9*first.median || w.min < 0.8*first.min {
			drops = append(drops, fmt.Sprintf("window %d median %.1f, min %.1f", i+2, w.median, w.min))
		}
	}
	if len(drops) > 0 {
		verdict = fmt.Sprintf("DROP against the first window's median %.1f, min %.1f: %s; last window %.1f, %.1f",
			first.median, first.min, strings.Join(drops, "; "), last.median, last.min)
	}
	per := browserCPU.Seconds() / float64(len(users)) / elapsed.Seconds()
	natives := ""
	if n := len(senders) - len(users); n > 0 {
		natives = fmt.Sprintf("; the %d native members (the test process) %.0f%% of a core", n, 100*selfCPU.Seconds()/elapsed.Seconds())
	}
	t.Logf("%s held %v: %s; %s; browser CPU %.1f s = %.0f%% of a core per browser participant%s; server CPU %.2f s = %.1f%% of a core; load average %s at the start, %s at the end",
		label, elapsed.Round(time.Second), verdict, conn, browserCPU.Seconds(), 100*per, natives, serverCPU.Seconds(), 100*serverCPU.Seconds()/elapsed.Seconds(), load0, loadAvg())
}

// TestBenchFourPartyVideo holds a 4-party video call in one headless Chromium
// for PARLEY_BENCH_HOLD and reports, per 30 s window, the frame rate each
// participant decodes from each other, and the CPU per participant. Run with
// PARLEY_BENCH=1 (make bench).
func TestBenchFourPartyVideo(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	srv := startServer(t)
	b := newBrowser(t)
	names := []string{"alice", "bob", "carol", "dave"}
	users := make([]*sdkUser, len(names))
	for i, n := range names {
		users[i] = newGroupUser(t, b, srv.URL, n)
	}
	users[0].ok(`Parley.makeVideoCall(["bob", "carol", "dave"], "bench")`)
	for _, u := range users[1:] {
		u.waitEvent("incomingCallListener", `true`)
		u.ok(`Parley.answerCall()`)
	}
	for _, u := range users {
		for _, o := range users {
			if u != o {
				waitJS(t, u.ctx, framesOf(o.jid)+" > 0", 60*time.Second)
			}
		}
	}
	var senders []string
	for _, u := range users {
		senders = append(senders, u.jid)
	}
	holdCall(t, "4-party video", b, srv, users, senders, true)
}

// TestBenchEightPartyVoice holds an 8-party voice call (the server's default
// -max-participants) for PARLEY_BENCH_HOLD and reports, per 30 s window, the
// audio packets each browser participant receives from each other per second
// and the share of concealed samples, and the CPU per participant. The caller
// is a headless Chromium page and the others native engines (nativeUser):
// eight pages need more CPU than this 2-core machine has (README). With
// PARLEY_BENCH_PAGES=1 every participant is a page. Run with PARLEY_BENCH=1
// (make bench).
func TestBenchEightPartyVoice(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("benchmark: set PARLEY_BENCH=1 (make bench)")
	}
	srv := startServerWith(t, serverOptions{Args: []string{"-max-participants", "8"}})
	b := newBrowser(t)
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	if s := os.Getenv("PARLEY_BENCH_PARTIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 || n > len(names) {
			t.Fatalf("PARLEY_BENCH_PARTIES=%q: want 2 to %d", s, len(names))
		}
		names = names[:n]
	}
	label := fmt.Sprintf("%d-party voice", len(names))
	if os.Getenv("PARLEY_BENCH_PAGES") == "" {
		// One browser page (alice, the caller) and native members.
		alice := newGroupUser(t, b, srv.URL, names[0])
		senders := []string{alice.jid}
		var members []*nativeUser
		for _, n := range names[1:] {
			u := newNativeUser(t, srv, n)
			members = append(members, u)
			senders = append(senders, u.jid)
		}
		callees, _ := json.Marshal(senders[1:])
		alice.ok(`Parley.makeVoiceCall(` + string(callees) + `, "bench")`)
		answerRings(t, members)
		label += fmt.Sprintf(" (1 browser page, %d native members)", len(members))
		setup := time.Now()
		reportAudio(t, label, setup, waitAudio(t, []*sdkUser{alice}, senders), len(senders)-1)
		holdCall(t, label, b, srv, []*sdkUser{alice}, senders, false)
		return
	}
	users := make([]*sdkUser, len(names))
	var senders []string
	for i, n := range names {
		users[i] = newGroupUser(t, b, srv.URL, n)
		senders = append(senders, users[i].jid)
	}
	callees, _ := json.Marshal(names[1:])
	users[0].ok(`Parley.makeVoiceCall(` + string(callees) + `, "bench")`)
	for _, u := range users[1:] {
		u.waitEvent("incomingCallListener", `true`)
		u.ok(`Parley.answerCall()`)
	}
	setup := time.Now()
	reportAudio(t, label, setup, waitAudio(t, users, senders), len(users)*(len(users)-1))
	holdCall(t, label, b, srv, users, senders, false)
}

// reportAudio logs waitAudio's outcome: pairs is how many (sender, receiver)
// pairs were waited for.
func reportAudio(t *testing.T, label string, setup time.Time, missing []string, pairs int) {
	t.Helper()
	if len(missing) > 0 {
		t.Logf("%s: after %v, %d of %d pairs still receive no audio: %v", label, time.Since(setup).Round(time.Second),
			len(missing), pairs, missing)
		return
	}
	t.Logf("%s: every participant receives audio from every other %v after the last answer", label, time.Since(setup).Round(time.Second))
}

// waitAudio waits up to 2 minutes until every participant receives audio
// packets from every other one, and returns the (sender -> receiver) pairs
// that still receive none: a starved machine may not finish setting up the
// mesh, and the hold then reports on the pairs that do.
func waitAudio(t *testing.T, users []*sdkUser, senders []string) []string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var missing []string
		samples, _ := sampleMedia(users)
		for i, u := range users {
			for _, o := range senders {
				if o != u.jid && samples[i].Peers[o].Packets == 0 {
					missing = append(missing, o+" -> "+u.jid)
				}
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			return missing
		}
		time.Sleep(5 * time.Second) // the sampling itself loads a starved machine
	}
}
