// Package pgtest gives tests a real, throwaway PostgreSQL server: a fresh
// cluster in a temporary directory, on a free port of 127.0.0.1, stopped and
// removed when the test ends. No mocks, no containers: it runs the server
// binaries installed on the machine (Debian: apt-get install postgresql).
package pgtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The superuser every cluster is created with; DSN URLs log in as it.
const (
	superuser = "parley"
	password  = "parley"
)

// Server is a PostgreSQL server started for tests.
type Server struct {
	t    testing.TB
	bin  string              // directory of initdb, pg_ctl, postgres
	base string              // temporary directory holding everything below
	data string              // the cluster's data directory
	log  string              // the server's log file
	cred *syscall.Credential // whom to run the binaries as; nil: ourselves
	port int
	dbs  atomic.Int64 // databases created by DSN so far

	mu      sync.Mutex
	stopped bool
}

// Start starts a fresh PostgreSQL cluster in a temporary directory, listening
// only on 127.0.0.1 on a free port, and stops it (and removes its directory)
// in t.Cleanup. When the PostgreSQL binaries are missing it calls t.Skip with
// a loud message naming what is missing and how to install it
// (apt-get install postgresql) — unless the environment variable CI is
// non-empty, in which case it calls t.Fatal instead (CI must never skip these
// tests).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		skipOrFatal(t, err)
	}
	s := &Server{t: t, bin: bin}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		s.cred, err = credential("postgres")
		if err != nil {
			skipOrFatal(t, fmt.Errorf("running as root needs a user to run PostgreSQL as: %w", err))
		}
	}
	if s.base, err = os.MkdirTemp("", "parley-pg-"); err != nil {
		t.Fatalf("pgtest: creating a directory for the cluster: %v", err)
	}
	t.Cleanup(func() {
		s.stop("immediate")
		if err := os.RemoveAll(s.base); err != nil {
			t.Errorf("pgtest: removing %s: %v", s.base, err)
		}
	})
	began := time.Now()
	if err := s.init(); err != nil {
		t.Fatalf("pgtest: creating a cluster in %s: %v", s.base, err)
	}
	inited := time.Now()
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: %v\n%s", err, s.logTail())
	}
	t.Logf("pgtest: PostgreSQL (%s) on 127.0.0.1:%d in %s; initdb took %v, pg_ctl start %v",
		s.bin, s.port, s.base, inited.Sub(began).Round(time.Millisecond), time.Since(inited).Round(time.Millisecond))
	return s
}

// DSN returns a postgres:// URL for a NEW empty database created for the
// caller on this server (each call creates a distinct database: db1, db2...),
// suitable for pgx, e.g.
// postgres://parley:parley@127.0.0.1:PORT/db3?sslmode=disable
func (s *Server) DSN(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("db%d", s.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connecting to create database %s: %v", name, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	return s.url(name)
}

// Stop stops the server now (fast shutdown); safe to call twice. Used by
// tests that want to see the database vanish.
func (s *Server) Stop() { s.stop("fast") }

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", superuser, password, s.port, db)
}

// init creates the cluster: superuser parley with a password, which TCP
// connections must give (scram-sha-256); only the Unix socket, which lives
// in the data directory, is trusted.
func (s *Server) init() error {
	s.data = filepath.Join(s.base, "data")
	s.log = filepath.Join(s.base, "server.log")
	pwfile := filepath.Join(s.base, "pwfile")
	err := errors.Join(
		os.Chmod(s.base, 0o755), // the postgres user must be able to traverse it
		os.Mkdir(s.data, 0o700),
		os.WriteFile(pwfile, []byte(password+"\n"), 0o600),
		os.WriteFile(s.log, nil, 0o600))
	if err == nil && s.cred != nil {
		uid, gid := int(s.cred.Uid), int(s.cred.Gid)
		err = errors.Join(os.Chown(s.data, uid, gid), os.Chown(s.log, uid, gid), os.Chown(pwfile, uid, gid))
	}
	if err != nil {
		return err
	}
	out, err := s.run("initdb", "-D", s.data, "-U", superuser, "--pwfile="+pwfile,
		"--auth-host=scram-sha-256", "--auth-local=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	os.Remove(pwfile)
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// start starts the server on a free port, trying another port (three tries in
// all) when another process took the one it picked in the meantime.
func (s *Server) start() error {
	var err error
	for try := 1; try <= 3; try++ {
		if s.port, err = freePort(); err != nil {
			return err
		}
		if err = os.Truncate(s.log, 0); err != nil {
			return err
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k '%s' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", s.port, s.data)
		out, runErr := s.run("pg_ctl", "start", "-w", "-t", "120", "-D", s.data, "-l", s.log, "-o", opts)
		if runErr == nil {
			return nil
		}
		err = fmt.Errorf("pg_ctl start on port %d (try %d of 3): %w\n%s", s.port, try, runErr, out)
		if !strings.Contains(s.logTail(), "already in use") {
			break
		}
	}
	return err
}

func (s *Server) stop(mode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err != nil {
		s.stopped = true // never started, or start failed
		return
	}
	out, err := s.run("pg_ctl", "stop", "-w", "-m", mode, "-D", s.data)
	if err != nil {
		s.t.Errorf("pgtest: pg_ctl stop -m %s: %v\n%s\n%s", mode, err, out, s.logTail())
		return
	}
	s.stopped = true
}

// run runs one of the PostgreSQL binaries, as the postgres user when we are
// root, and returns its combined output.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.base // the postgres user may not be able to enter ours
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

// logTail returns the end of the server's log, for failure messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "server log " + s.log + " ends:\n" + string(b)
}

// findBin returns the directory holding initdb, pg_ctl and postgres:
// pg_config --bindir, or else the newest /usr/lib/postgresql/*/bin.
func findBin() (string, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	slices.SortFunc(globbed, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	dirs = append(dirs, globbed...)
	for _, dir := range dirs {
		if !slices.ContainsFunc([]string{"initdb", "pg_ctl", "postgres"}, func(name string) bool {
			_, err := os.Stat(filepath.Join(dir, name))
			return err != nil
		}) {
			return dir, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: " +
		"neither in `pg_config --bindir` (pg_config on PATH?) nor in /usr/lib/postgresql/*/bin")
}

// credential looks up a system user to run the PostgreSQL binaries as.
func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("looking up user %q: %w", name, err)
	}
	var c syscall.Credential
	if _, err := fmt.Sscan(u.Uid+" "+u.Gid, &c.Uid, &c.Gid); err != nil {
		return nil, fmt.Errorf("user %q: uid %q, gid %q: %w", name, u.Uid, u.Gid, err)
	}
	return &c, nil
}

// freePort returns a TCP port of 127.0.0.1 that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// skipOrFatal skips the test for a missing PostgreSQL, except under CI, where
// these tests must run.
func skipOrFatal(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("pgtest: %v.\n"+
		"*** PostgreSQL tests need a local PostgreSQL server installation. ***\n"+
		"*** Install it with: apt-get install postgresql (Debian/Ubuntu)  ***", err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "\n(CI is set: failing instead of skipping)")
	}
	t.Skip("SKIPPING: " + msg)
}
