// Package natstest runs a real NATS server with JetStream inside a test
// process, on a free loopback port.
package natstest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server started for a test.
type Server struct {
	s    *server.Server
	opts *server.Options
}

// Start starts a NATS server with JetStream (its store in a temporary
// directory) on a free loopback port; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	opts := &server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	}
	srv := &Server{opts: opts}
	srv.start(t)
	t.Cleanup(srv.Stop)
	// Later starts use the port this one got.
	opts.Port = srv.s.Addr().(*net.TCPAddr).Port
	return srv
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	ns, err := server.NewServer(s.opts)
	if err != nil {
		t.Fatalf("natstest: new server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		t.Fatalf("natstest: the NATS server did not start")
	}
	s.s = ns
}

// Restart stops the server and starts a new one on the same port: what it
// kept in memory (JetStream memory streams) is gone.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

// URL is the server's client URL.
func (s *Server) URL() string { return s.s.ClientURL() }

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
