package call

import (
	"testing"
	"time"

	"parley/app/call/event"
	"parley/app/rtc"
)

// TestGradeLine holds the documented thresholds: poor over 10 % loss or
// 400 ms, fair over 2 % or 200 ms, good otherwise; unknown RTT is no news.
func TestGradeLine(t *testing.T) {
	for _, c := range []struct {
		name      string
		loss, rtt float64
		margin    float64
		want      int
	}{
		{"clean loopback", 0, 1, 1, levelGood},
		{"rtt not known yet", 0, -1, 1, levelGood},
		{"loss at the fair line", 0.02, 50, 1, levelGood},
		{"loss over the fair line", 0.021, 50, 1, levelFair},
		{"rtt over the fair line", 0, 201, 1, levelFair},
		{"loss at the poor line", 0.10, 50, 1, levelFair},
		{"loss over the poor line", 0.11, 50, 1, levelPoor},
		{"rtt over the poor line", 0, 401, 1, levelPoor},
		{"both bad", 0.3, 900, 1, levelPoor},
		{"under the line but not the margin", 0.09, 50, qualityMargin, levelPoor},
		{"under the margin", 0.07, 50, qualityMargin, levelFair},
		{"rtt under the fair line but not its margin", 0, 180, qualityMargin, levelFair},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := gradeLine(c.loss, c.rtt, c.margin); got != c.want {
				t.Fatalf("gradeLine(%v, %v, %v) = %s, want %s", c.loss, c.rtt, c.margin, levelName(got), levelName(c.want))
			}
		})
	}
}

// line feeds a lineWatch readings 2 s apart, each with 100 packets of
// which a fraction loss were lost on the way in.
type line struct {
	w   lineWatch
	s   rtc.LineStats
	at  time.Time
	got []lineSample
}

func newLine() *line {
	return &line{at: time.Unix(1_700_000_000, 0), s: rtc.LineStats{SentLoss: -1}}
}

func (l *line) sample(loss, rtt float64) lineSample {
	lost := uint64(loss*100 + 0.5)
	l.s.PacketsLost += lost
	l.s.PacketsReceived += 100 - lost
	l.s.RTT = rtt
	l.at = l.at.Add(qualityCheck)
	d := l.w.observe(l.s, l.at)
	l.got = append(l.got, d)
	return d
}

// TestLineHysteresis: a line gets worse at once, better only after
// qualityRecover samples in a row under the margin, and a line hovering
// around a threshold keeps its level instead of flapping.
func TestLineHysteresis(t *testing.T) {
	type step struct {
		loss, rtt float64
		want      int
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"good stays good", []step{{0, 2, levelGood}, {0, 2, levelGood}, {0.01, 3, levelGood}}},
		{"worse at once", []step{{0, 2, levelGood}, {0.3, 2, levelPoor}}},
		{"fair from rtt", []step{{0, 2, levelGood}, {0, 250, levelFair}}},
		{"hovering on the poor line does not flap", []step{
			{0.2, 2, levelPoor}, {0.09, 2, levelPoor}, {0.11, 2, levelPoor}, {0.09, 2, levelPoor}, {0.12, 2, levelPoor},
		}},
		{"better after two samples under the margin", []step{
			{0.2, 2, levelPoor}, {0, 2, levelPoor}, {0, 2, levelGood},
		}},
		{"one bad sample restarts the count", []step{
			{0.2, 2, levelPoor}, {0, 2, levelPoor}, {0.09, 2, levelPoor}, {0, 2, levelPoor}, {0, 2, levelGood},
		}},
		{"poor to fair", []step{
			{0.2, 2, levelPoor}, {0.05, 2, levelPoor}, {0.05, 2, levelFair}, {0.05, 2, levelFair},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLine()
			l.sample(0, 2) // the first reading has no previous one to count loss against
			l.w = lineWatch{last: l.w.last, have: true}
			for i, s := range c.steps {
				l.sample(s.loss, s.rtt)
				if l.w.level != s.want {
					t.Fatalf("sample %d (loss %v, rtt %v): level %s, want %s", i, s.loss, s.rtt, levelName(l.w.level), levelName(s.want))
				}
			}
		})
	}
	t.Run("the other side's loss counts", func(t *testing.T) {
		l := newLine()
		l.sample(0, 2)
		l.s.SentLoss = 0.25
		if d := l.sample(0, 2); l.w.level != levelPoor || d.loss != 0.25 {
			t.Fatalf("they lose 25%% of ours: level %s, loss %v", levelName(l.w.level), d.loss)
		}
	})
	t.Run("too few packets say nothing about loss", func(t *testing.T) {
		l := newLine()
		l.sample(0, 2)
		l.s.PacketsLost += 5
		l.s.PacketsReceived += 5
		l.at = l.at.Add(qualityCheck)
		if d := l.w.observe(l.s, l.at); d.loss != 0 || l.w.level != levelGood {
			t.Fatalf("5 of 10 packets lost: loss %v, level %s; want no loss counted", d.loss, levelName(l.w.level))
		}
	})
	t.Run("counters that go back (a new receiver) count no loss", func(t *testing.T) {
		l := newLine()
		l.sample(0.5, 2)
		l.s.PacketsReceived = 10
		l.at = l.at.Add(qualityCheck)
		if d := l.w.observe(l.s, l.at); d.loss != 0 {
			t.Fatalf("loss %v from counters that went back", d.loss)
		}
	})
}

// TestLineReports: the listener hears the first level, every change, and
// otherwise one report per qualityRepeat.
func TestLineReports(t *testing.T) {
	l := newLine()
	var reports []int
	for i := 0; i < 30; i++ {
		loss := 0.0
		if i >= 12 && i < 14 {
			loss = 0.5
		}
		if d := l.sample(loss, 2); d.report {
			reports = append(reports, i)
		}
	}
	// 0: first; 5 and 10: 10 s later; 12: poor; 15: good again (two samples
	// under the margin, 14 and 15); 20, 25: 10 s later.
	want := []int{0, 5, 10, 12, 15, 20, 25}
	if len(reports) != len(want) {
		t.Fatalf("reports at samples %v, want %v", reports, want)
	}
	for i := range want {
		if reports[i] != want[i] {
			t.Fatalf("reports at samples %v, want %v", reports, want)
		}
	}
}

// TestLineVideoSteps: a poor line steps the sent video down one step a
// sample to the lowest, a fair one holds it, and a good one brings it back
// one step per qualityRestore good samples.
func TestLineVideoSteps(t *testing.T) {
	l := newLine()
	var steps []int
	for _, loss := range []float64{
		0, 0.3, 0.3, 0.3, 0.3, // poor: 1, 2, 2, 2
		0.05, 0.05, 0.05, // better but fair (after two samples): held
		0, 0, 0, 0, 0, 0, 0, 0, // good after two: up one step per three good samples
	} {
		steps = append(steps, l.sample(loss, 2).step)
	}
	want := []int{0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 0, 0}
	for i := range want {
		if steps[i] != want[i] {
			t.Fatalf("video steps %v, want %v", steps, want)
		}
	}
	if got := videoStep(0); got != (rtc.VideoLimit{}) {
		t.Fatalf("step 0 limits the video: %+v", got)
	}
	for n := 1; n <= maxVideoStep; n++ {
		a, b := videoStep(n-1), videoStep(n)
		if b.ScaleDown <= a.ScaleDown || b.MaxFramerate == 0 || b.MaxBitrate == 0 {
			t.Fatalf("step %d (%+v) is not lower than step %d (%+v)", n, b, n-1, a)
		}
	}
}

// TestGroupVideoCaps: the video cap tightens with the call's size, and a
// peer sends at the stricter of its line's step and the call's cap, field by
// field.
func TestGroupVideoCaps(t *testing.T) {
	for size, want := range map[int]rtc.VideoLimit{
		2: {}, 3: {},
		4: {ScaleDown: 2, MaxBitrate: 400_000}, 5: {ScaleDown: 2, MaxBitrate: 400_000},
		6: {ScaleDown: 2, MaxFramerate: 15, MaxBitrate: 250_000}, 8: {ScaleDown: 2, MaxFramerate: 15, MaxBitrate: 250_000},
	} {
		if got := groupVideo(size); got != want {
			t.Errorf("groupVideo(%d) = %+v, want %+v", size, got, want)
		}
	}
	for _, tc := range []struct{ a, b, want rtc.VideoLimit }{
		{rtc.VideoLimit{}, rtc.VideoLimit{}, rtc.VideoLimit{}},
		{videoStep(1), groupVideo(4), rtc.VideoLimit{ScaleDown: 2, MaxFramerate: 15, MaxBitrate: 400_000}},
		{videoStep(2), groupVideo(8), videoStep(2)},
		{videoStep(0), groupVideo(6), groupVideo(6)},
		{rtc.VideoLimit{ScaleDown: 1, MaxFramerate: 10}, rtc.VideoLimit{ScaleDown: 3, MaxFramerate: 20, MaxBitrate: 1}, rtc.VideoLimit{ScaleDown: 3, MaxFramerate: 10, MaxBitrate: 1}},
	} {
		if got := stricter(tc.a, tc.b); got != tc.want {
			t.Errorf("stricter(%+v, %+v) = %+v, want %+v", tc.a, tc.b, got, tc.want)
		}
		if got := stricter(tc.b, tc.a); got != tc.want {
			t.Errorf("stricter(%+v, %+v) = %+v, want %+v", tc.b, tc.a, got, tc.want)
		}
	}
}

// TestSentScaleReason: the quality report says why the video it sends is
// scaled down, so that a good line in a big call does not read as a weak one.
func TestSentScaleReason(t *testing.T) {
	for _, tc := range []struct {
		step, size int
		scale      float64
		reason     string
	}{
		{0, 2, 1, ""},
		{0, 4, 2, event.SentScaleCallSize},
		{0, 8, 2, event.SentScaleCallSize},
		{1, 2, 2, event.SentScaleLine},
		{1, 4, 2, event.SentScaleLine},
		{2, 4, 4, event.SentScaleLine},
		{2, 2, 4, event.SentScaleLine},
	} {
		line := videoStep(tc.step)
		scale, reason := sentScale(stricter(line, groupVideo(tc.size)), line)
		if scale != tc.scale || reason != tc.reason {
			t.Errorf("step %d, %d people: sent at 1/%v (%q), want 1/%v (%q)", tc.step, tc.size, scale, reason, tc.scale, tc.reason)
		}
	}
}

// BenchmarkLineObserve is the engine's work per peer and sample (every 2 s)
// once the browser's statistics are read.
func BenchmarkLineObserve(b *testing.B) {
	l := newLine()
	for i := 0; b.Loop(); i++ {
		loss := 0.0
		if i%7 == 0 {
			loss = 0.3
		}
		l.sample(loss, 20)
		l.got = l.got[:0]
	}
}
