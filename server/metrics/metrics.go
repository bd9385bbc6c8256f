// Package metrics exposes Parley's server metrics in the Prometheus text
// format. It owns its registry (nothing is registered globally): the Go
// runtime and process collectors, the counters and histograms the hub reports
// through hub.Metrics, gauges sampled from the hub (Hub.Stats) and from the
// TURN server at scrape time, and a build info gauge. Every name starts with
// parley_, except the standard go_* and process_* series.
package metrics

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"parley/app/wire"
	"parley/server/hub"
)

// RelayStats is what the TURN server reports: its allocations and the bytes
// it relayed since it started.
type RelayStats struct {
	ActiveAllocations int64  // allocations open now
	TotalAllocations  int64  // allocations made since start
	BytesRelayed      uint64 // bytes relayed in both directions since start
}

// Options configures New. Every field is optional.
type Options struct {
	// Version is the build's version, the label of parley_build_info.
	Version string
	// TURN samples the embedded TURN server at every scrape; nil when it
	// does not run, and then its metrics are not exported.
	TURN func() RelayStats
	// Logger receives errors of the /metrics handler; default slog.Default().
	Logger *slog.Logger
}

// Metrics is the server's metrics registry. It implements hub.Metrics; put
// it in hub.Config.Metrics and call WatchHub with the hub's Stats.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	signIns     *prometheus.CounterVec
	loginFails  prometheus.Counter
	rateLimited *prometheus.CounterVec
	created     *prometheus.CounterVec
	rings       prometheus.Counter
	outcomes    *prometheus.CounterVec
	setup       prometheus.Histogram
	ended       *prometheus.CounterVec
	duration    prometheus.Histogram
	frames      *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	closed      *prometheus.CounterVec
}

var _ hub.Metrics = (*Metrics)(nil)

// New returns a registry with the Go and process collectors and Parley's
// metrics.
func New(o Options) *Metrics {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg, log: o.Logger}
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parley_build_info", Help: "Always 1; the label names the running build.",
		ConstLabels: prometheus.Labels{"version": o.Version},
	})
	info.Set(1)
	f(info)

	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_sign_ins_total", Help: "Sessions signed in, by kind: user (register, login, token), guest, resume.",
	}, []string{"kind"})
	m.loginFails = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_login_failures_total", Help: "Sign-ins refused for their credentials (wrong password, unknown or revoked token).",
	})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_rate_limited_total", Help: "Requests refused by a limit, by limit: requests (per connection), guests, links and registrations (per IP), logins, rings and meet_links.",
	}, []string{"limit"})
	m.created = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_calls_created_total", Help: "Calls created, by kind: call (call.create) or meet (meet.create).",
	}, []string{"kind"})
	m.rings = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_rings_total", Help: "Callees rung (call.create, call.invite).",
	})
	m.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_ring_outcomes_total", Help: "How the ringing of a callee ended: answered, declined, missed, cancelled, busy.",
	}, []string{"outcome"})
	m.setup = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_call_setup_seconds",
		Help:    "From a call's creation (a meet call: its first join) to a member first reporting its media connected; includes the time to answer.",
		Buckets: []float64{0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 90},
	})
	m.ended = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_calls_ended_total", Help: "Calls ended, by reason: hangup, unanswered, cancelled, idle, shutdown.",
	}, []string{"reason"})
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_call_duration_seconds", Help: "How long ended calls were active, from the first answer or join (calls nobody answered are not observed).",
		Buckets: []float64{10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400},
	})
	m.frames = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_relayed_frames_total", Help: "Frames relayed to members of a call, by kind: signal (SDP, ICE) or data (custom data).",
	}, []string{"kind"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_relayed_bytes_total", Help: "Payload bytes of the frames relayed to members of a call, by kind.",
	}, []string{"kind"})
	m.closed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_connections_closed_total",
		Help: "WebSockets that ended, by reason (overloaded, too_slow, session_limit, idle, client, ...), and upgrades refused by a connection limit (server_full, ip_full).",
	}, []string{"reason"})
	for _, c := range []prometheus.Collector{m.signIns, m.loginFails, m.rateLimited, m.created, m.rings, m.outcomes,
		m.setup, m.ended, m.duration, m.frames, m.bytes, m.closed} {
		f(c)
	}
	// Every series exists from the start, at 0: rate() and alerts need no
	// first event.
	for _, k := range []string{hub.SignInUser, hub.SignInGuest, hub.SignInResume} {
		m.signIns.WithLabelValues(k)
	}
	for _, k := range []string{hub.LimitRequests, hub.LimitGuests, hub.LimitLinks, hub.LimitLogins,
		hub.LimitRegistrations, hub.LimitRings, hub.LimitMeetLinks} {
		m.rateLimited.WithLabelValues(k)
	}
	for _, k := range []string{hub.CallKindCall, hub.CallKindMeet} {
		m.created.WithLabelValues(k)
	}
	for _, k := range []string{hub.OutcomeAnswered, hub.OutcomeDeclined, hub.OutcomeMissed, hub.OutcomeCancelled, hub.OutcomeBusy} {
		m.outcomes.WithLabelValues(k)
	}
	for _, k := range []string{hub.EndHangUp, hub.EndUnanswered, hub.EndCancelled, hub.EndIdle} {
		m.ended.WithLabelValues(k)
	}
	for _, k := range hub.ClosedReasons() {
		m.closed.WithLabelValues(k)
	}
	for _, k := range []string{relayKind(wire.EventSignal), relayKind(wire.EventData)} {
		m.frames.WithLabelValues(k)
		m.bytes.WithLabelValues(k)
	}

	if turn := o.TURN; turn != nil {
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_turn_allocations", Help: "TURN allocations open now.",
		}, func() float64 { return float64(turn().ActiveAllocations) }))
		f(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_turn_allocations_total", Help: "TURN allocations made since the server started.",
		}, func() float64 { return float64(turn().TotalAllocations) }))
		f(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_turn_relayed_bytes_total", Help: "Bytes the TURN server relayed since it started, both directions.",
		}, func() float64 { return float64(turn().BytesRelayed) }))
	}
	return m
}

// WatchHub exports gauges sampled with stats (Hub.Stats) at every scrape:
// open WebSockets, sessions, signed-in users, live calls by state and by
// joined members. Call it once.
func (m *Metrics) WatchHub(stats func() hub.Stats) error {
	return m.reg.Register(newHubCollector(stats))
}

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slogAdapter{m.log},
		Registry:          m.reg, // counts the handler's own errors
		EnableOpenMetrics: true,
	})
}

// Gatherer returns the registry, for tests and for pushing elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// relayKind is the label of a relayed event type.
func relayKind(typ string) string {
	switch typ {
	case wire.EventSignal:
		return "signal"
	case wire.EventData:
		return "data"
	}
	return "other"
}

// SignedIn implements hub.Metrics.
func (m *Metrics) SignedIn(kind string) { m.signIns.WithLabelValues(kind).Inc() }

// LoginFailed implements hub.Metrics.
func (m *Metrics) LoginFailed() { m.loginFails.Inc() }

// RateLimited implements hub.Metrics.
func (m *Metrics) RateLimited(limit string) { m.rateLimited.WithLabelValues(limit).Inc() }

// CallCreated implements hub.Metrics.
func (m *Metrics) CallCreated(kind string) { m.created.WithLabelValues(kind).Inc() }

// Rang implements hub.Metrics.
func (m *Metrics) Rang() { m.rings.Inc() }

// RingEnded implements hub.Metrics.
func (m *Metrics) RingEnded(outcome string) { m.outcomes.WithLabelValues(outcome).Inc() }

// CallConnected implements hub.Metrics.
func (m *Metrics) CallConnected(setup time.Duration) { m.setup.Observe(setup.Seconds()) }

// CallEnded implements hub.Metrics.
func (m *Metrics) CallEnded(reason string, answered bool, active time.Duration) {
	m.ended.WithLabelValues(reason).Inc()
	if answered {
		m.duration.Observe(active.Seconds())
	}
}

// Relayed implements hub.Metrics.
func (m *Metrics) Relayed(kind string, bytes int) {
	k := relayKind(kind)
	m.frames.WithLabelValues(k).Inc()
	m.bytes.WithLabelValues(k).Add(float64(bytes))
}

// ConnectionClosed implements hub.Metrics.
func (m *Metrics) ConnectionClosed(reason string) { m.closed.WithLabelValues(reason).Inc() }

// hubCollector turns one Hub.Stats sample per scrape into gauges.
type hubCollector struct {
	stats                               func() hub.Stats
	conns, sessions, users, calls, size *prometheus.Desc
	queued, replay                      *prometheus.Desc
}

func newHubCollector(stats func() hub.Stats) *hubCollector {
	return &hubCollector{
		stats:    stats,
		conns:    prometheus.NewDesc("parley_websocket_connections", "Open WebSocket connections, signed in or not.", nil, nil),
		sessions: prometheus.NewDesc("parley_sessions", "Signed-in sessions (tabs), those within their resume grace included.", nil, nil),
		users:    prometheus.NewDesc("parley_users_signed_in", "Distinct users with at least one session.", nil, nil),
		calls: prometheus.NewDesc("parley_calls",
			"Live calls by state: ringing (nobody answered yet), active, waiting (a meet call nobody joined yet).", []string{"state"}, nil),
		size:   prometheus.NewDesc("parley_calls_by_members", "Live calls by their number of joined members.", []string{"members"}, nil),
		queued: prometheus.NewDesc("parley_queued_bytes", "Outgoing bytes queued for all WebSockets, bounded by -max-queued-bytes.", nil, nil),
		replay: prometheus.NewDesc("parley_replay_bytes", "Bytes of events kept for resuming sessions, bounded by -max-replay-bytes.", nil, nil),
	}
}

func (hc *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{hc.conns, hc.sessions, hc.users, hc.calls, hc.size, hc.queued, hc.replay} {
		ch <- d
	}
}

func (hc *hubCollector) Collect(ch chan<- prometheus.Metric) {
	s := hc.stats()
	g := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	g(hc.conns, s.Connections)
	g(hc.sessions, s.Sessions)
	g(hc.users, s.Users)
	ch <- prometheus.MustNewConstMetric(hc.queued, prometheus.GaugeValue, float64(s.QueuedBytes))
	ch <- prometheus.MustNewConstMetric(hc.replay, prometheus.GaugeValue, float64(s.ReplayBytes))
	g(hc.calls, s.Ringing, "ringing")
	g(hc.calls, s.Active, "active")
	g(hc.calls, s.Waiting, "waiting")
	for n, count := range s.Sizes {
		g(hc.size, count, strconv.Itoa(n))
	}
}

// slogAdapter is promhttp's error logger.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Println(v ...any) { a.l.Error("metrics", "err", fmtArgs(v)) }

func fmtArgs(v []any) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}
