//go:build !(js && wasm)

package call_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app/call"
	"parley/app/call/event"
	"parley/server/hub"
	"parley/server/store"
)

// TestBenchReconnectAfterRestart measures how fast signed-in clients come
// back when the server process is killed (SIGKILL) and started again on the
// same address and store file. The server is this test binary run as another
// process (TestBenchServerProcess), so that its CPU time is its own; the
// clients are full call engines with the real reconnection policy, in this
// process. It reports, from the moment the new process listens, when each
// client heard CONNECTED again (median, p99, worst), and the new server
// process's CPU time (user+system from /proc/<pid>/stat) from listening until
// the last client was back.
//
//	PARLEY_BENCH=1 go test -count=1 -v -run TestBenchReconnectAfterRestart ./app/call
//
// PARLEY_BENCH_CLIENTS (default 1000) and PARLEY_BENCH_DOWN (how long the
// server stays away, default 3s) tune it.
func TestBenchReconnectAfterRestart(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("measurement: set PARLEY_BENCH=1")
	}
	n := 1000
	if v := os.Getenv("PARLEY_BENCH_CLIENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("PARLEY_BENCH_CLIENTS=%q", v)
		}
	}
	down := 3 * time.Second
	if v := os.Getenv("PARLEY_BENCH_DOWN"); v != "" {
		var err error
		if down, err = time.ParseDuration(v); err != nil {
			t.Fatalf("PARLEY_BENCH_DOWN=%q", v)
		}
	}

	// The accounts and their sign-in tokens, written before any server runs.
	db := filepath.Join(t.TempDir(), "parley.db")
	st, err := store.Open(db, store.WithPasswordParams(cheapPasswords))
	if err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, n)
	for i := range tokens {
		u, err := st.Register(context.Background(), fmt.Sprintf("user%04d", i), "password-x", "")
		if err != nil {
			t.Fatal(err)
		}
		if tokens[i], err = st.NewSession(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	proc, _ := startServerProcess(t, addr, db)

	// n engines signed in; each notes when it hears CONNECTED.
	type mark struct {
		mu        sync.Mutex
		connected []time.Time
		reconn    bool
	}
	marks := make([]*mark, n)
	engines := make([]*call.Engine, n)
	for i := range engines {
		m := &mark{}
		marks[i] = m
		engines[i] = call.New(call.Config{ServerURL: "http://" + addr, OnEvent: func(ev event.Event) {
			if v, ok := ev.(event.ConnectionStatus); ok {
				m.mu.Lock()
				switch v.Status {
				case event.Connected:
					m.connected = append(m.connected, time.Now())
				case event.Reconnecting:
					m.reconn = true
				}
				m.mu.Unlock()
			}
		}})
		t.Cleanup(engines[i].Close)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, e := range engines {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := e.ConnectToken(context.Background(), tokens[i]); err != nil {
				t.Errorf("client %d signs in: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d clients signed in", n)

	// Kill -9, stay away, start again on the same address and store.
	if err := proc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = proc.Wait()
	waitAll := func(what string, ok func(*mark) bool, limit time.Duration) {
		deadline := time.Now().Add(limit)
		for {
			left := 0
			for _, m := range marks {
				m.mu.Lock()
				if !ok(m) {
					left++
				}
				m.mu.Unlock()
			}
			if left == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d clients not %s after %v", left, n, what, limit)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitAll("reconnecting", func(m *mark) bool { return m.reconn }, 30*time.Second)
	time.Sleep(down) // the outage; the clients keep trying meanwhile
	proc2, listening := startServerProcess(t, addr, db)
	cpu0 := procCPU(t, proc2.Process.Pid)
	waitAll("back", func(m *mark) bool { return len(m.connected) >= 2 }, 60*time.Second)
	cpu1 := procCPU(t, proc2.Process.Pid)

	back := make([]time.Duration, 0, n)
	var last time.Time
	for _, m := range marks {
		back = append(back, m.connected[1].Sub(listening))
		if m.connected[1].After(last) {
			last = m.connected[1]
		}
	}
	slices.Sort(back)
	t.Logf("%d clients, server away %v: back after the new process listened: median %v, p99 %v, worst %v (first %v); "+
		"all back %v after listening; server CPU (user+system) in that window %v",
		n, down, back[n/2].Round(time.Millisecond), back[n*99/100].Round(time.Millisecond), back[n-1].Round(time.Millisecond),
		back[0].Round(time.Millisecond), last.Sub(listening).Round(time.Millisecond), cpu1-cpu0)
}

// startServerProcess runs this test binary as a Parley server
// (TestBenchServerProcess) on addr with the store file db, stopped when the
// test ends, and returns it with the time it said it was listening.
func startServerProcess(t *testing.T, addr, db string) (*exec.Cmd, time.Time) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServerProcess$", "-test.timeout=15m")
	cmd.Env = append(os.Environ(), "PARLEY_BENCH_SERVE_ADDR="+addr, "PARLEY_BENCH_SERVE_DB="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "listening ") {
			at := time.Now()
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, at
		}
	}
	t.Fatalf("the server process exited before listening: %v", sc.Err())
	return nil, time.Time{}
}

// procCPU is the user+system CPU time process pid has used so far, from
// /proc/<pid>/stat (in clock ticks of 10 ms, Linux's USER_HZ).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("read the server's CPU time: %v", err)
	}
	// The command name may hold spaces: fields count from after its ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parse /proc/%d/stat: %q", pid, b)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// TestBenchServerProcess is the server side of TestBenchReconnectAfterRestart:
// run by it as another process, it serves on PARLEY_BENCH_SERVE_ADDR with the
// store PARLEY_BENCH_SERVE_DB until killed.
func TestBenchServerProcess(t *testing.T) {
	addr, db := os.Getenv("PARLEY_BENCH_SERVE_ADDR"), os.Getenv("PARLEY_BENCH_SERVE_DB")
	if addr == "" || db == "" {
		t.Skip("the server process of TestBenchReconnectAfterRestart")
	}
	s := &testServer{path: db, addr: addr, cfg: hub.Config{Domain: "localhost", MaxConnectionsPerIP: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	s.start(t)
	fmt.Println("listening", s.addr)
	select {} // until killed
}
