// Command server is Parley's server: one binary that serves the signalling
// WebSocket (/ws), health and readiness checks (/healthz, /readyz),
// Prometheus metrics (/metrics) and the web app, and keeps its state in a
// SQLite database in its data directory.
//
// Every flag has a PARLEY_* environment equivalent; the environment sets the
// default and a flag overrides it:
//
//	-addr             PARLEY_ADDR             listen address (localhost:8080)
//	-data             PARLEY_DATA             data directory, created if missing (./data)
//	-database         PARLEY_DATABASE         postgres:// URL, or SQLite file (<data>/parley.db)
//	-nats             PARLEY_NATS             NATS URL: run as one of several instances (none; see server/cluster)
//	-nats-lease       PARLEY_NATS_LEASE       how long the leader's lease lasts unrenewed (1s)
//	-domain           PARLEY_DOMAIN           JID domain (localhost)
//	-ring-timeout     PARLEY_RING_TIMEOUT     how long a callee is rung (30s)
//	-switch-timeout   PARLEY_SWITCH_TIMEOUT   how long a request to turn on video waits (20s)
//	-resume-grace     PARLEY_RESUME_GRACE     how long a dropped session may resume (15s)
//	-max-participants PARLEY_MAX_PARTICIPANTS participants per call, the caller included (8)
//	-allowed-origins  PARLEY_ALLOWED_ORIGINS  other origins (host patterns, * for any) allowed on /ws and granted the SDK files
//	-trusted-proxies  PARLEY_TRUSTED_PROXIES  reverse proxies (IPs, CIDRs) whose X-Forwarded-For names the client (none)
//	-meet-idle-timeout PARLEY_MEET_IDLE_TIMEOUT a meet call nobody is in ends after this (1h)
//	-max-blocks       PARLEY_MAX_BLOCKS       how many users one account may block (1000)
//	-session-ttl      PARLEY_SESSION_TTL      a sign-in unused for this long expires; each use slides it (720h)
//	-knock-timeout PARLEY_KNOCK_TIMEOUT someone joining by link nobody lets in is refused after this (60s)
//	-max-connections  PARLEY_MAX_CONNECTIONS  open WebSockets of the whole server (10000)
//	-max-connections-per-ip PARLEY_MAX_CONNECTIONS_PER_IP open WebSockets from one IP (500)
//	-max-sessions-per-user PARLEY_MAX_SESSIONS_PER_USER signed-in tabs of one user (20)
//	-max-queued-bytes PARLEY_MAX_QUEUED_BYTES outgoing bytes queued for all WebSockets (268435456)
//	-tls              PARLEY_TLS              off or self-signed (off, unless -tls-cert or -acme-domain)
//	-tls-cert         PARLEY_TLS_CERT         PEM certificate (chain) file for HTTPS, reloaded when it changes
//	-tls-key          PARLEY_TLS_KEY          PEM private key file of -tls-cert
//	-tls-names        PARLEY_TLS_NAMES        extra names or IPs for the self-signed certificate, comma-separated
//	-acme-domain      PARLEY_ACME_DOMAIN      domains to get certificates for by ACME, comma-separated
//	-acme-email       PARLEY_ACME_EMAIL       contact address for the ACME account
//	-acme-directory   PARLEY_ACME_DIRECTORY   ACME directory URL (Let's Encrypt production)
//	-acme-ca          PARLEY_ACME_CA          PEM roots to trust for the ACME directory (the system's)
//	-http-addr        PARLEY_HTTP_ADDR        with TLS, plain HTTP address that redirects to HTTPS
//	-metrics-addr     PARLEY_METRICS_ADDR     serve /metrics on this separate address, not on -addr (unset)
//	-log-format       PARLEY_LOG_FORMAT       log format: text or json (text)
//	-log-level        PARLEY_LOG_LEVEL        least level logged: debug, info, warn, error (info)
//
// With TLS on, -addr serves HTTPS and WSS; see server/tls.go and package
// tlsserve.
//
// TURN, so that calls connect across NATs and firewalls (see server/turn):
//
//	-turn-addr           PARLEY_TURN_ADDR           embedded TURN server's UDP+TCP address, e.g. :3478 (none)
//	-turn-tls-addr       PARLEY_TURN_TLS_ADDR       TURN over TLS address, e.g. :5349, HTTPS certificate (none)
//	-turn-public-ip      PARLEY_TURN_PUBLIC_IP      IP put in relay candidates (listen IP, else detected)
//	-turn-host           PARLEY_TURN_HOST           host in the turn:/turns: URLs (the public IP)
//	-turn-relay-ports    PARLEY_TURN_RELAY_PORTS    relay port range (49152-65535)
//	-turn-secret         PARLEY_TURN_SECRET         REST API shared secret (generated into <data>/turn-secret)
//	-turn-url            PARLEY_TURN_URL            external TURN/STUN URL, repeatable; env comma-separated (none)
//	-turn-allow-private  PARLEY_TURN_ALLOW_PRIVATE  relay to private/loopback peers too (false)
//	-turn-quota          PARLEY_TURN_QUOTA          live allocations per user, 0 for none (10)
//	-turn-bandwidth      PARLEY_TURN_BANDWIDTH      cap per allocation and direction, 0 for none (20Mbit)
//	-turn-credential-ttl PARLEY_TURN_CREDENTIAL_TTL how long TURN credentials last (12h)
//	-ice-transport-policy PARLEY_ICE_TRANSPORT_POLICY all, or relay to hide participants' IPs (all)
//
// Web Push, to ring users whose app is closed (see server/push):
//
//	-push             PARLEY_PUSH             ring users with no open tab by Web Push (true)
//	-vapid-key        PARLEY_VAPID_KEY        VAPID private key PEM file, generated if missing (<data>/vapid.pem)
//	-vapid-subject    PARLEY_VAPID_SUBJECT    contact URL for push services (mailto:admin@<domain>)
//	-push-allow-http  PARLEY_PUSH_ALLOW_HTTP  accept http:// and private-address push endpoints, for tests (false)
//	-push-when-hidden PARLEY_PUSH_WHEN_HIDDEN also push when every open tab is hidden (false)
//
// SIGINT or SIGTERM shut it down gracefully: open calls end (and are logged),
// connections close with code 4010, then the HTTP server and the database close.
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
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"parley/server/cluster"
	"parley/server/hub"
	"parley/server/metrics"
	"parley/server/store"
)

// version identifies the build; set it with -ldflags "-X main.version=...".
var version = "dev"

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 15 * time.Second

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

// config is the parsed command line and environment.
type config struct {
	addr            string
	dataDir         string
	database        string
	nats            string
	natsLease       time.Duration
	domain          string
	ringTimeout     time.Duration
	switchTimeout   time.Duration
	resumeGrace     time.Duration
	maxParticipants int
	allowedOrigins  []string
	trustedProxies  []netip.Prefix
	meetIdle        time.Duration
	maxBlocks       int
	sessionTTL      time.Duration
	knockTimeout    time.Duration
	conns           connLimits
	tls             tlsSettings
	ops             opsConfig // -metrics-addr, -log-format, -log-level (ops.go)
	turn            turnConfig
	limits          limitsConfig // abuse limits (limitflags.go)
	push            pushConfig   // Web Push ringing (pushflags.go)
}

// connLimits bound what the whole server holds for its clients
// (hub.Config's fields of the same names).
type connLimits struct {
	maxConnections      int
	maxConnectionsPerIP int
	maxSessionsPerUser  int
	maxQueuedBytes      int64
	maxReplayBytes      int64
}

// parseConfig reads the flags in args over defaults taken from env.
func parseConfig(args []string, env func(string) string, usage io.Writer) (config, error) {
	var cfg config
	envOr := func(key, def string) string {
		if v := strings.TrimSpace(env(key)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	envDuration := func(key string, def time.Duration) time.Duration {
		v := envOr(key, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", key, v, err))
			return def
		}
		return d
	}
	envInt := func(key string, def int) int {
		v := envOr(key, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a number", key, v))
			return def
		}
		return n
	}

	envInt64 := func(key string, def int64) int64 {
		v := envOr(key, "")
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a number", key, v))
			return def
		}
		return n
	}

	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&cfg.addr, "addr", envOr("PARLEY_ADDR", "localhost:8080"), "listen `address` (PARLEY_ADDR)")
	fs.StringVar(&cfg.dataDir, "data", envOr("PARLEY_DATA", "./data"), "data `directory`, created if missing (PARLEY_DATA)")
	fs.StringVar(&cfg.database, "database", envOr("PARLEY_DATABASE", ""),
		"`database`: a postgres:// URL shared by several instances, or a SQLite file (default <data>/parley.db) (PARLEY_DATABASE)")
	fs.StringVar(&cfg.nats, "nats", envOr("PARLEY_NATS", ""),
		"NATS server `URL`s (comma-separated) to run as one of several instances; needs a postgres:// -database (PARLEY_NATS)")
	fs.DurationVar(&cfg.natsLease, "nats-lease", envDuration("PARLEY_NATS_LEASE", cluster.DefaultLease),
		"with -nats, how long the leading instance's lease lasts unrenewed: a dead leader is replaced within it (PARLEY_NATS_LEASE)")
	fs.StringVar(&cfg.domain, "domain", envOr("PARLEY_DOMAIN", "localhost"), "JID `domain` (PARLEY_DOMAIN)")
	fs.DurationVar(&cfg.ringTimeout, "ring-timeout", envDuration("PARLEY_RING_TIMEOUT", hub.DefaultRingTimeout),
		"how long each callee is rung (PARLEY_RING_TIMEOUT)")
	fs.DurationVar(&cfg.switchTimeout, "switch-timeout", envDuration("PARLEY_SWITCH_TIMEOUT", hub.DefaultSwitchTimeout),
		"how long a request to turn a voice call into video waits for an answer (PARLEY_SWITCH_TIMEOUT)")
	fs.DurationVar(&cfg.resumeGrace, "resume-grace", envDuration("PARLEY_RESUME_GRACE", hub.DefaultResumeGrace),
		"how long a dropped session may resume (PARLEY_RESUME_GRACE)")
	fs.IntVar(&cfg.maxParticipants, "max-participants", envInt("PARLEY_MAX_PARTICIPANTS", hub.DefaultMaxParticipants),
		"participants per call, the caller included (PARLEY_MAX_PARTICIPANTS)")
	fs.DurationVar(&cfg.meetIdle, "meet-idle-timeout", envDuration("PARLEY_MEET_IDLE_TIMEOUT", hub.DefaultMeetIdleTimeout),
		"how long a meet call may stay with nobody in it before it ends (PARLEY_MEET_IDLE_TIMEOUT)")
	fs.IntVar(&cfg.maxBlocks, "max-blocks", envInt("PARLEY_MAX_BLOCKS", hub.DefaultMaxBlocks),
		"how many users one account may block (PARLEY_MAX_BLOCKS)")
	fs.DurationVar(&cfg.sessionTTL, "session-ttl", envDuration("PARLEY_SESSION_TTL", store.DefaultSessionTTL),
		"how long a sign-in may go unused before it expires; every use slides it (PARLEY_SESSION_TTL)")
	fs.DurationVar(&cfg.knockTimeout, "knock-timeout", envDuration("PARLEY_KNOCK_TIMEOUT", hub.DefaultKnockTimeout),
		"how long someone joining by link waits to be let in before they are refused (PARLEY_KNOCK_TIMEOUT)")
	fs.IntVar(&cfg.conns.maxConnections, "max-connections", envInt("PARLEY_MAX_CONNECTIONS", hub.DefaultMaxConnections),
		"open WebSockets of the whole server; more are refused with 503 (PARLEY_MAX_CONNECTIONS)")
	fs.IntVar(&cfg.conns.maxConnectionsPerIP, "max-connections-per-ip", envInt("PARLEY_MAX_CONNECTIONS_PER_IP", hub.DefaultMaxConnectionsPerIP),
		"open WebSockets from one remote IP; more are refused with 429 (PARLEY_MAX_CONNECTIONS_PER_IP)")
	fs.IntVar(&cfg.conns.maxSessionsPerUser, "max-sessions-per-user", envInt("PARLEY_MAX_SESSIONS_PER_USER", hub.DefaultMaxSessionsPerUser),
		"signed-in tabs of one user; one more signs out the oldest not in a call (PARLEY_MAX_SESSIONS_PER_USER)")
	fs.Int64Var(&cfg.conns.maxReplayBytes, "max-replay-bytes", envInt64("PARLEY_MAX_REPLAY_BYTES", hub.DefaultMaxReplayBytes),
		"`bytes` of events all sessions keep to replay on resume; over it, receiving sessions drop their oldest first (PARLEY_MAX_REPLAY_BYTES)")
	fs.Int64Var(&cfg.conns.maxQueuedBytes, "max-queued-bytes", envInt64("PARLEY_MAX_QUEUED_BYTES", hub.DefaultMaxQueuedBytes),
		"`bytes` queued for all WebSockets together; over it the slowest readers are closed (PARLEY_MAX_QUEUED_BYTES)")
	origins := fs.String("allowed-origins", envOr("PARLEY_ALLOWED_ORIGINS", ""),
		"other origins' host `patterns` (comma-separated, * for any) allowed on /ws and granted the SDK files (PARLEY_ALLOWED_ORIGINS)")
	tlsf := registerTLSFlags(fs, envOr)
	bad := func(err error) { errs = append(errs, err) }
	proxies := fs.String("trusted-proxies", envOr("PARLEY_TRUSTED_PROXIES", ""),
		"reverse proxies' `addresses` (IPs or CIDR prefixes, comma-separated) whose X-Forwarded-For names the client for the per-address limits (PARLEY_TRUSTED_PROXIES)")
	registerOpsFlags(fs, &cfg.ops, envOr, bad)
	registerTURNFlags(fs, envOr, &cfg.turn, bad)
	registerLimitFlags(fs, envOr, &cfg.limits, bad)
	registerPushFlags(fs, envOr, &cfg.push, bad)
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.allowedOrigins = splitList(*origins)
	var err error
	if cfg.trustedProxies, err = hub.ParseTrustedProxies(splitList(*proxies)); err != nil {
		return cfg, fmt.Errorf("-trusted-proxies: %w", err)
	}
	if cfg.tls, err = tlsf.settings(); err != nil {
		return cfg, err
	}
	if err := cfg.ops.check(); err != nil {
		return cfg, err
	}
	switch {
	case cfg.addr == "":
		return cfg, errors.New("-addr is empty")
	case cfg.dataDir == "":
		return cfg, errors.New("-data is empty")
	case cfg.nats != "" && !store.IsPostgresURL(cfg.database):
		return cfg, errors.New("-nats needs a postgres:// -database: the instances share their state through it")
	case cfg.natsLease < 300*time.Millisecond:
		return cfg, fmt.Errorf("-nats-lease %v must be at least 300ms", cfg.natsLease)
	case cfg.domain == "" || strings.ContainsAny(cfg.domain, "@/ "):
		return cfg, fmt.Errorf("-domain %q is not a domain", cfg.domain)
	case cfg.ringTimeout <= 0:
		return cfg, fmt.Errorf("-ring-timeout %v must be positive", cfg.ringTimeout)
	case cfg.switchTimeout <= 0:
		return cfg, fmt.Errorf("-switch-timeout %v must be positive", cfg.switchTimeout)
	case cfg.resumeGrace <= 0:
		return cfg, fmt.Errorf("-resume-grace %v must be positive", cfg.resumeGrace)
	case cfg.meetIdle <= 0:
		return cfg, fmt.Errorf("-meet-idle-timeout %v must be positive", cfg.meetIdle)
	case cfg.sessionTTL < time.Minute:
		return cfg, fmt.Errorf("-session-ttl %v must be at least a minute", cfg.sessionTTL)
	case cfg.knockTimeout <= 0:
		return cfg, fmt.Errorf("-knock-timeout %v must be positive", cfg.knockTimeout)
	case cfg.maxParticipants < 2:
		return cfg, fmt.Errorf("-max-participants %d must be at least 2", cfg.maxParticipants)
	case cfg.maxBlocks < 1:
		return cfg, fmt.Errorf("-max-blocks %d must be at least 1", cfg.maxBlocks)
	case cfg.conns.maxConnections < 1:
		return cfg, fmt.Errorf("-max-connections %d must be positive", cfg.conns.maxConnections)
	case cfg.conns.maxConnectionsPerIP < 1:
		return cfg, fmt.Errorf("-max-connections-per-ip %d must be positive", cfg.conns.maxConnectionsPerIP)
	case cfg.conns.maxSessionsPerUser < 1:
		return cfg, fmt.Errorf("-max-sessions-per-user %d must be positive", cfg.conns.maxSessionsPerUser)
	case cfg.conns.maxReplayBytes < 1<<20:
		return cfg, fmt.Errorf("-max-replay-bytes %d must be at least 1 MiB (1048576)", cfg.conns.maxReplayBytes)
	case cfg.conns.maxQueuedBytes < 1<<20:
		return cfg, fmt.Errorf("-max-queued-bytes %d must be at least 1 MiB (1048576)", cfg.conns.maxQueuedBytes)
	}
	return cfg, cfg.turn.check()
}

// run runs the server until SIGINT or SIGTERM.
func run(args []string, env func(string) string) error {
	cfg, err := parseConfig(args, env, os.Stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := newLogger(os.Stderr, cfg.ops)
	return serve(ctx, cfg, logger)
}

// serve runs the server with cfg until ctx is done, then shuts it down.
func serve(ctx context.Context, cfg config, logger *slog.Logger) (err error) {
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	database := cfg.database
	if database == "" {
		database = filepath.Join(cfg.dataDir, "parley.db")
	}
	st, err := store.Open(database, store.WithSessionTTL(cfg.sessionTTL))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	tlsrv, err := newTLSServing(cfg, logger)
	if err != nil {
		return err
	}
	turnSrv, ice, err := startTURN(ctx, cfg.turn, cfg.dataDir, tlsrv.getCertificate(), logger)
	if err != nil {
		return err
	}
	var turnStats func() metrics.RelayStats
	if turnSrv != nil {
		defer func() {
			if cerr := turnSrv.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		turnStats = func() metrics.RelayStats {
			ts := turnSrv.Stats()
			return metrics.RelayStats{ActiveAllocations: ts.ActiveAllocations, TotalAllocations: int64(ts.TotalAllocations),
				BytesRelayed: ts.BytesToPeers + ts.BytesFromPeers}
		}
	}
	ops := newOps(cfg.ops, st, logger, turnStats)
	hcfg := hub.Config{
		Domain:              cfg.domain,
		RingTimeout:         cfg.ringTimeout,
		SwitchTimeout:       cfg.switchTimeout,
		ResumeGrace:         cfg.resumeGrace,
		MaxParticipants:     cfg.maxParticipants,
		AllowedOrigins:      cfg.allowedOrigins,
		TrustedProxies:      cfg.trustedProxies,
		MeetIdleTimeout:     cfg.meetIdle,
		MaxBlocks:           cfg.maxBlocks,
		KnockTimeout:        cfg.knockTimeout,
		MaxConnections:      cfg.conns.maxConnections,
		MaxConnectionsPerIP: cfg.conns.maxConnectionsPerIP,
		MaxSessionsPerUser:  cfg.conns.maxSessionsPerUser,
		MaxQueuedBytes:      cfg.conns.maxQueuedBytes,
		MaxReplayBytes:      cfg.conns.maxReplayBytes,
		Logger:              logger,
		Metrics:             ops.metrics,
		ICE:                 ice,
	}
	cfg.limits.apply(&hcfg)
	if hcfg.Push, err = cfg.push.sender(cfg.dataDir, cfg.domain); err != nil {
		return err
	}
	hcfg.PushAllowHTTP = cfg.push.insecureHTTP
	hcfg.PushWhenHidden = cfg.push.whenHidden
	var sig signalling
	if cfg.nats == "" {
		sig, err = newLocalHub(ctx, hcfg, st, logger)
	} else {
		var ch *clusterHub
		ch, err = newClusterHub(cluster.Config{URL: cfg.nats, Lease: cfg.natsLease, Logger: logger}, hcfg, st, logger)
		if err == nil {
			sig, ops.bus = ch, ch.node.Ready
		}
	}
	if err != nil {
		return err
	}
	// Until the server serves, a failure stops the hub here; from then on
	// the shutdown below does.
	serving := false
	defer func() {
		if !serving {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			sig.shutdown(sctx)
		}
	}()
	if err := ops.watch(sig.stats); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	web, err := newWebHandler(version, cfg.allowedOrigins)
	if err != nil {
		return fmt.Errorf("web handler: %w", err)
	}
	mux := http.NewServeMux()
	routeHub(mux, sig.ws(), pushDeclineCORS(sig.decline(), cfg.allowedOrigins))
	health := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok")
	})
	mux.Handle("GET /healthz", health)
	ops.routes(mux) // /readyz, and /metrics unless -metrics-addr
	mux.Handle("/", web)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = tlsrv.listener(ln)
	if err := ops.listen(health); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           tlsrv.handler(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Ready before the line operators and tests wait for: a /readyz that
	// follows it must not find the server still starting (Serve below can
	// answer it before this goroutine runs on).
	ops.ready(true)
	logger.Info("listening", "addr", ln.Addr().String(), "scheme", tlsrv.scheme(), "version", version, "data", cfg.dataDir,
		"database", st.Engine(), "domain", cfg.domain)
	if err := tlsrv.start(ln.Addr()); err != nil {
		ops.ready(false)
		ln.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	serving = true

	select {
	case err := <-served:
		// Serve failed on its own; still end the calls and close cleanly.
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return errors.Join(fmt.Errorf("serve: %w", err), sig.shutdown(sctx), tlsrv.shutdown(sctx), ops.shutdown(sctx))
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	ops.ready(false) // /readyz answers 503 while calls end
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	herr := sig.shutdown(sctx)
	serr := errors.Join(srv.Shutdown(sctx), tlsrv.shutdown(sctx))
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		serr = errors.Join(serr, err)
	}
	if err := errors.Join(herr, serr, ops.shutdown(sctx)); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}
