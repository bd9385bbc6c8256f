package call

import (
	"testing"
	"time"
)

// The wait between ICE restarts of a peer that does not connect again:
// 2 s, then twice as long each time, capped at 15 s.
func TestICERestartBackoff(t *testing.T) {
	var got []time.Duration
	d := time.Duration(0)
	for range 6 {
		d = nextICEBackoff(d)
		got = append(got, d)
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second, 15 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff schedule %v, want %v", got, want)
		}
	}
}
