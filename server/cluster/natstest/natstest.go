// Package natstest runs a real NATS server with JetStream inside a test
// process, on a free loopback port.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server started for a test.
type Server struct {
	s *server.Server
}

// Start starts a NATS server with JetStream (its store in a temporary
// directory) on a free loopback port; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	opts := &server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("natstest: new server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatalf("natstest: the NATS server did not start")
	}
	srv := &Server{s: s}
	t.Cleanup(srv.Stop)
	return srv
}

// URL is the server's client URL.
func (s *Server) URL() string { return s.s.ClientURL() }

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
