package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"parley/server/cluster"
	"parley/server/hub"
	"parley/server/store"
)

// signalling is the hub side of the server: the routes it answers (the
// WebSocket and the push decline), its statistics and its shutdown. One
// instance runs its own hub (localHub); with -nats, whichever instance
// leads the cluster runs it and the others carry their clients to it
// (clusterHub).
type signalling interface {
	ws() http.Handler
	decline() http.Handler
	stats() hub.Stats
	shutdown(ctx context.Context) error
}

// startHub creates a hub on st, restores the live calls saved in st and
// starts the hourly sweep of expired sessions; stop ends the sweep.
func startHub(ctx context.Context, hcfg hub.Config, st *store.Store, log *slog.Logger) (h *hub.Hub, stop func(), err error) {
	h = hub.New(hcfg, st)
	restored, err := h.Restore(ctx)
	if err != nil {
		return nil, nil, err
	}
	if restored > 0 {
		log.Info("calls restored", "count", restored, "resume_grace", hcfg.ResumeGrace)
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		h.RunSessionSweeper(sweepCtx, hub.DefaultSessionSweep)
	}()
	return h, func() {
		stopSweep()
		<-swept
	}, nil
}

// localHub is the one hub of a single instance.
type localHub struct {
	h         *hub.Hub
	stopSweep func()
	decl      http.Handler
}

func newLocalHub(ctx context.Context, hcfg hub.Config, st *store.Store, log *slog.Logger) (*localHub, error) {
	h, stop, err := startHub(ctx, hcfg, st, log)
	if err != nil {
		return nil, err
	}
	return &localHub{h: h, stopSweep: stop, decl: h.PushDeclineHandler()}, nil
}

func (l *localHub) ws() http.Handler      { return l.h }
func (l *localHub) decline() http.Handler { return l.decl }
func (l *localHub) stats() hub.Stats      { return l.h.Stats() }

func (l *localHub) shutdown(ctx context.Context) error {
	defer l.stopSweep()
	return l.h.Shutdown(ctx)
}

// clientHeader carries, from a gateway to the leader, the client's address
// as the gateway determined it (its -trusted-proxies applied).
const clientHeader = "Parley-Client-Addr"

// clusterHub runs the hub while this instance leads the cluster and
// otherwise carries the hub's routes to the leader through NATS
// (package cluster): a client may connect to any instance.
type clusterHub struct {
	node    *cluster.Node
	log     *slog.Logger
	trusted []netip.Prefix
	proxy   *httputil.ReverseProxy
	tr      *http.Transport

	cur atomic.Pointer[localHub] // the hub, while this instance leads

	cancel context.CancelFunc
	led    chan struct{} // closed when the campaign has ended
}

// dialWait is how long a gateway waits for a leader for one request: a
// client reconnecting while the cluster fails over waits for the new leader
// rather than failing.
const dialWait = 10 * time.Second

func newClusterHub(ccfg cluster.Config, hcfg hub.Config, st *store.Store, log *slog.Logger) (*clusterHub, error) {
	jctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	node, err := cluster.Join(jctx, ccfg)
	cancel()
	if err != nil {
		return nil, err
	}
	c := &clusterHub{node: node, log: log, trusted: hcfg.TrustedProxies, led: make(chan struct{})}
	c.tr = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dctx, cancel := context.WithTimeout(ctx, dialWait)
			defer cancel()
			return node.Dial(dctx)
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	c.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "leader"
			pr.Out.Host = pr.In.Host // the WebSocket's origin check compares with it
			pr.Out.Header.Del("X-Forwarded-For")
			pr.Out.Header.Set(clientHeader, hub.ClientAddr(pr.In, c.trusted))
		},
		Transport: c.tr,
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("cannot reach the cluster's leader", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "the signalling server is not reachable right now; try again", http.StatusServiceUnavailable)
		},
	}
	ctx, stop := context.WithCancel(context.Background())
	c.cancel = stop
	go func() {
		defer close(c.led)
		node.Lead(ctx, func(lctx context.Context) { c.lead(lctx, hcfg, st) })
	}()
	return c, nil
}

// lead runs the hub while this instance holds the lease: it restores the
// live calls the last leader saved, serves the streams gateways open, and
// when the lease ends shuts the hub down (every client, here or carried
// from a gateway, reconnects and resumes on the next leader).
func (c *clusterHub) lead(ctx context.Context, hcfg hub.Config, st *store.Store) {
	l, err := newLocalHub(ctx, hcfg, st, c.log)
	if err != nil {
		c.log.Error("cannot lead: the hub did not start", "err", err)
		return
	}
	ln, err := c.node.Listen()
	if err != nil {
		c.log.Error("cannot lead", "err", err)
		l.shutdown(context.Background())
		return
	}
	mux := http.NewServeMux()
	routeHub(mux, l.ws(), l.decline())
	srv := &http.Server{
		Handler:           fromGateway(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(c.log.Handler(), slog.LevelWarn),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	c.cur.Store(l)
	c.log.Info("this instance runs the calls", "node", c.node.ID())

	<-ctx.Done()
	c.cur.Store(nil)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	ln.Close()
	err = errors.Join(l.shutdown(sctx), srv.Shutdown(sctx))
	<-served
	if err != nil {
		c.log.Warn("stepping down", "err", err)
	}
}

// fromGateway takes the client's address from the gateway's header: the
// stream's own address names the gateway, not the client.
func fromGateway(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get(clientHeader); a != "" && strings.HasPrefix(r.RemoteAddr, "nats:") {
			r.RemoteAddr = a
			r.Header.Del(clientHeader)
			r.Header.Del("X-Forwarded-For")
		}
		h.ServeHTTP(w, r)
	})
}

func (c *clusterHub) ws() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l := c.cur.Load(); l != nil {
			l.ws().ServeHTTP(w, r)
			return
		}
		c.carryWS(w, r)
	})
}

// pumpBuffer is the buffer of each direction of a carried WebSocket: sized
// for signalling frames, as the hub's own (a bigger frame takes more reads).
const pumpBuffer = 512

// carryWS carries a client's WebSocket to the leader: it sends the upgrade
// request over a stream, hands the leader's answer back and, once upgraded,
// copies bytes both ways on two goroutines with small buffers while this
// handler returns (httputil.ReverseProxy keeps 64 KiB of copy buffers and
// the handler's deep stack per socket; see README, Benchmarks).
func (c *clusterHub) carryWS(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), dialWait)
	s, err := c.node.Dial(ctx)
	cancel()
	if err != nil {
		c.proxy.ErrorHandler(w, r, err)
		return
	}
	out := r.Clone(context.Background())
	out.Header.Del("X-Forwarded-For")
	out.Header.Set(clientHeader, hub.ClientAddr(r, c.trusted))
	br := bufio.NewReaderSize(s, pumpBuffer)
	var res *http.Response
	if err = out.Write(s); err == nil {
		res, err = http.ReadResponse(br, out)
	}
	if err != nil {
		s.Close()
		c.proxy.ErrorHandler(w, r, err)
		return
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		defer s.Close()
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
		return
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.Close()
		c.log.Warn("carry a WebSocket: hijack", "err", err)
		return
	}
	if err := res.Write(nc); err != nil {
		s.Close()
		nc.Close()
		return
	}
	// Bytes the client sent after its request, read by net/http already.
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ = brw.Reader.Peek(n)
		early = append([]byte(nil), early...)
	}
	go pump(s, nc, early)
	var fromLeader []byte
	if n := br.Buffered(); n > 0 {
		fromLeader, _ = br.Peek(n)
		fromLeader = append([]byte(nil), fromLeader...)
	}
	go pump(nc, s, fromLeader)
}

// pump writes first, then copies src to dst until either fails, then
// closes both. Neither side's io.WriterTo or io.ReaderFrom is used: those
// bring 32 KiB buffers of their own.
func pump(dst io.WriteCloser, src io.ReadCloser, first []byte) {
	defer dst.Close()
	defer src.Close()
	if len(first) > 0 {
		if _, err := dst.Write(first); err != nil {
			return
		}
	}
	buf := make([]byte, pumpBuffer)
	io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
}

func (c *clusterHub) decline() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l := c.cur.Load(); l != nil {
			l.decline().ServeHTTP(w, r)
			return
		}
		c.proxy.ServeHTTP(w, r)
	})
}

// stats are the hub's while this instance leads, else zero.
func (c *clusterHub) stats() hub.Stats {
	if l := c.cur.Load(); l != nil {
		return l.stats()
	}
	return hub.Stats{}
}

// shutdown stops leading (the hub, if it runs here, shuts down and the
// lease is handed over) and leaves the cluster.
func (c *clusterHub) shutdown(ctx context.Context) error {
	c.cancel()
	select {
	case <-c.led:
	case <-ctx.Done():
		return fmt.Errorf("cluster: stop leading: %w", ctx.Err())
	}
	c.tr.CloseIdleConnections()
	return c.node.Close()
}

// routeHub mounts the hub's routes on mux.
func routeHub(mux *http.ServeMux, ws, decline http.Handler) {
	mux.Handle("/ws", ws)
	mux.Handle("POST "+hub.PushDeclinePath, decline)
	mux.Handle("OPTIONS "+hub.PushDeclinePath, decline)
}
