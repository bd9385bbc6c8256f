package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"parley/server/hub"
	"parley/server/metrics"
)

// This file holds the server's operations side: its flags (-metrics-addr,
// -log-format, -log-level), the logger, /metrics and /readyz, and the
// optional separate metrics listener.

// opsConfig is the operations part of config.
type opsConfig struct {
	metricsAddr string     // separate listener for /metrics; "" serves it on -addr
	logFormat   string     // "text" or "json"
	logLevel    slog.Level // the least level logged
}

// readyTimeout bounds the database probe of /readyz.
const readyTimeout = 2 * time.Second

// registerOpsFlags registers the operations flags on fs, their defaults taken
// from the environment through envOr; a malformed environment value is
// passed to bad. parseConfig calls it.
func registerOpsFlags(fs *flag.FlagSet, o *opsConfig, envOr func(key, def string) string, bad func(error)) {
	fs.StringVar(&o.metricsAddr, "metrics-addr", envOr("PARLEY_METRICS_ADDR", ""),
		"serve /metrics on this separate `address` instead of -addr, e.g. localhost:9090 (PARLEY_METRICS_ADDR)")
	fs.StringVar(&o.logFormat, "log-format", envOr("PARLEY_LOG_FORMAT", "text"), "log `format`: text or json (PARLEY_LOG_FORMAT)")
	if v := envOr("PARLEY_LOG_LEVEL", ""); v != "" {
		if err := o.logLevel.UnmarshalText([]byte(v)); err != nil {
			bad(fmt.Errorf("PARLEY_LOG_LEVEL=%q: %w", v, err))
		}
	}
	fs.TextVar(&o.logLevel, "log-level", o.logLevel, "least `level` logged: debug, info, warn or error (PARLEY_LOG_LEVEL)")
}

// check validates the operations flags. (A -metrics-addr that collides
// with -addr fails when it is bound, with the address in the error.)
func (o *opsConfig) check() error {
	o.logFormat = strings.ToLower(o.logFormat)
	if o.logFormat != "text" && o.logFormat != "json" {
		return fmt.Errorf("-log-format %q must be text or json", o.logFormat)
	}
	return nil
}

// newLogger returns the server's logger writing to w in o's format and level.
func newLogger(w io.Writer, o opsConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.logLevel}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// readier is what /readyz needs from the store; *store.Store satisfies it.
type readier interface {
	Ready(ctx context.Context) error
}

// ops is the running operations side of one serve: the metrics registry,
// readiness and the metrics listener.
type ops struct {
	cfg     opsConfig
	log     *slog.Logger
	st      readier
	metrics *metrics.Metrics
	up      atomic.Bool // the listeners are up and the server is not shutting down
	// bus, with -nats, reports whether the instance reaches the others.
	bus func() error

	srv    *http.Server // the metrics listener's, when -metrics-addr is set
	served chan error
}

// newOps returns the operations side of a server storing in st.
func newOps(cfg opsConfig, st readier, logger *slog.Logger, turn func() metrics.RelayStats) *ops {
	return &ops{
		cfg: cfg, log: logger, st: st,
		metrics: metrics.New(metrics.Options{Version: version, Logger: logger, TURN: turn}),
	}
}

// watch exports the hub's gauges.
func (o *ops) watch(stats func() hub.Stats) error { return o.metrics.WatchHub(stats) }

// routes adds /readyz to the main mux, and /metrics unless it has its own
// listener: metrics tell the outside how busy the server is and who signs
// in how often, so with -metrics-addr they stay off the public port (bind
// that address to localhost or a private network).
func (o *ops) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /readyz", o.readyz)
	if o.cfg.metricsAddr == "" {
		mux.Handle("GET /metrics", o.metrics.Handler())
	}
}

// readyz answers 200 "ready" when the listeners are up and the database
// takes a write within readyTimeout, else 503 with the reason.
func (o *ops) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !o.up.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready: listeners not up or shutting down\n")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := o.st.Ready(ctx); err != nil {
		o.log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: database: %v\n", err)
		return
	}
	if o.bus != nil {
		if err := o.bus(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
	}
	io.WriteString(w, "ready\n")
}

// listen starts the metrics listener when -metrics-addr is set. It serves
// /metrics, /healthz and /readyz, so probes can use it too.
func (o *ops) listen(health http.Handler) error {
	if o.cfg.metricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", o.cfg.metricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", o.metrics.Handler())
	mux.Handle("GET /healthz", health)
	mux.HandleFunc("GET /readyz", o.readyz)
	o.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(o.log.Handler(), slog.LevelWarn),
	}
	o.served = make(chan error, 1)
	o.log.Info("metrics listening", "addr", ln.Addr().String())
	go func() { o.served <- o.srv.Serve(ln) }()
	return nil
}

// ready marks the listeners up (true) or the server shutting down (false).
func (o *ops) ready(up bool) { o.up.Store(up) }

// shutdown stops the metrics listener, if any.
func (o *ops) shutdown(ctx context.Context) error {
	o.ready(false)
	if o.srv == nil {
		return nil
	}
	err := o.srv.Shutdown(ctx)
	if serr := <-o.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
