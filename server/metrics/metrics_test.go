package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"parley/app/wire"
	"parley/server/hub"
)

// value returns the value of the series name{labels} (a counter, gauge, or a
// histogram's sample count), and whether it exists.
func value(t *testing.T, m *Metrics, name string, labels ...string) (float64, bool) {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(s, labels[i], labels[i+1]) {
					continue series
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue(), true
			case s.Gauge != nil:
				return s.Gauge.GetValue(), true
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func hasLabel(s *dto.Metric, k, v string) bool {
	for _, l := range s.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return string(b)
}

func TestEvents(t *testing.T) {
	m := New(Options{Version: "v-test"})
	var hm hub.Metrics = m
	hm.SignedIn(hub.SignInUser)
	hm.SignedIn(hub.SignInUser)
	hm.SignedIn(hub.SignInResume)
	hm.LoginFailed()
	hm.RateLimited(hub.LimitLinks)
	hm.CallCreated(hub.CallKindMeet)
	hm.Rang()
	hm.Rang()
	hm.RingEnded(hub.OutcomeMissed)
	hm.CallConnected(1500 * time.Millisecond)
	hm.CallEnded(hub.EndHangUp, true, time.Minute)
	hm.CallEnded(hub.EndUnanswered, false, 0)
	hm.Relayed(wire.EventSignal, 100)
	hm.Relayed(wire.EventSignal, 20)
	hm.Relayed(wire.EventData, 7)
	hm.ConnectionClosed(hub.ClosedOverloaded)
	hm.ConnectionClosed(hub.ClosedOverloaded)
	hm.ConnectionClosed(hub.ClosedServerFull)

	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_build_info", []string{"version", "v-test"}, 1},
		{"parley_sign_ins_total", []string{"kind", "user"}, 2},
		{"parley_sign_ins_total", []string{"kind", "resume"}, 1},
		{"parley_sign_ins_total", []string{"kind", "guest"}, 0},
		{"parley_login_failures_total", nil, 1},
		{"parley_rate_limited_total", []string{"limit", "links"}, 1},
		{"parley_rate_limited_total", []string{"limit", "requests"}, 0},
		{"parley_calls_created_total", []string{"kind", "meet"}, 1},
		{"parley_rings_total", nil, 2},
		{"parley_ring_outcomes_total", []string{"outcome", "missed"}, 1},
		{"parley_ring_outcomes_total", []string{"outcome", "cancelled"}, 0},
		{"parley_call_setup_seconds", nil, 1},
		{"parley_calls_ended_total", []string{"reason", "hangup"}, 1},
		{"parley_calls_ended_total", []string{"reason", "unanswered"}, 1},
		{"parley_call_duration_seconds", nil, 1}, // the unanswered call is not a duration
		{"parley_relayed_frames_total", []string{"kind", "signal"}, 2},
		{"parley_relayed_bytes_total", []string{"kind", "signal"}, 120},
		{"parley_relayed_frames_total", []string{"kind", "data"}, 1},
		{"parley_relayed_bytes_total", []string{"kind", "data"}, 7},
		{"parley_connections_closed_total", []string{"reason", "overloaded"}, 2},
		{"parley_connections_closed_total", []string{"reason", "server_full"}, 1},
		{"parley_connections_closed_total", []string{"reason", "session_limit"}, 0},
	} {
		got, ok := value(t, m, tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (exists %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}

	text := scrape(t, m)
	for _, want := range []string{"go_goroutines ", "process_", "parley_call_setup_seconds_bucket{le=\"2\"} 1",
		"parley_call_setup_seconds_bucket{le=\"1\"} 0", "# HELP parley_rings_total"} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(text, "parley_turn_") {
		t.Error("TURN metrics exported without a TURN server")
	}
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "parley_") &&
			!strings.HasPrefix(line, "go_") && !strings.HasPrefix(line, "process_") && !strings.HasPrefix(line, "promhttp_") {
			t.Errorf("series without the parley_ prefix: %s", line)
		}
	}
}

// Two registries share nothing: the metrics have no global state.
func TestIndependentRegistries(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	a.Rang()
	if v, _ := value(t, b, "parley_rings_total"); v != 0 {
		t.Errorf("a ring on one registry shows on another: %v", v)
	}
	if v, _ := value(t, a, "parley_rings_total"); v != 1 {
		t.Errorf("rings = %v, want 1", v)
	}
}

func TestTURN(t *testing.T) {
	var calls atomic.Int64 // the registry collects concurrently
	m := New(Options{TURN: func() RelayStats {
		calls.Add(1)
		return RelayStats{ActiveAllocations: 3, TotalAllocations: 11, BytesRelayed: 1 << 40}
	}})
	for name, want := range map[string]float64{
		"parley_turn_allocations":         3,
		"parley_turn_allocations_total":   11,
		"parley_turn_relayed_bytes_total": 1 << 40,
	} {
		if got, ok := value(t, m, name); !ok || got != want {
			t.Errorf("%s = %v (exists %v), want %v", name, got, ok, want)
		}
	}
	if calls.Load() == 0 {
		t.Error("the TURN stats were never sampled")
	}
}

func TestWatchHub(t *testing.T) {
	m := New(Options{})
	stats := hub.Stats{Connections: 5, Sessions: 4, Users: 3, Ringing: 1, Active: 2, Waiting: 1,
		Sizes: map[int]int{0: 1, 1: 1, 2: 2}, QueuedBytes: 12345, ReplayBytes: 6789}
	if err := m.WatchHub(func() hub.Stats { return stats }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_websocket_connections", nil, 5},
		{"parley_queued_bytes", nil, 12345},
		{"parley_replay_bytes", nil, 6789},
		{"parley_sessions", nil, 4},
		{"parley_users_signed_in", nil, 3},
		{"parley_calls", []string{"state", "ringing"}, 1},
		{"parley_calls", []string{"state", "active"}, 2},
		{"parley_calls", []string{"state", "waiting"}, 1},
		{"parley_calls_by_members", []string{"members", "2"}, 2},
		{"parley_calls_by_members", []string{"members", "0"}, 1},
	} {
		if got, ok := value(t, m, tc.name, tc.labels...); !ok || got != tc.want {
			t.Errorf("%s%v = %v (exists %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	// The gauges follow the hub: sampled at every scrape, not cached.
	stats.Connections = 0
	if got, _ := value(t, m, "parley_websocket_connections"); got != 0 {
		t.Errorf("after the hub changed: connections = %v, want 0", got)
	}
	if err := m.WatchHub(func() hub.Stats { return stats }); err == nil {
		t.Error("a second WatchHub was accepted: its series would collide")
	}
}
