package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/app/wire"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr string
	}{
		{
			name: "defaults",
			want: config{addr: "localhost:8080", dataDir: "./data", domain: "localhost", ringTimeout: 30 * time.Second, switchTimeout: 20 * time.Second,
				resumeGrace: 15 * time.Second, maxParticipants: 8, meetIdle: time.Hour, sessionTTL: 30 * 24 * time.Hour},
		},
		{
			name: "environment",
			env: map[string]string{"PARLEY_ADDR": ":9000", "PARLEY_DATA": "/var/lib/parley", "PARLEY_DOMAIN": "example.com",
				"PARLEY_RING_TIMEOUT": "45s", "PARLEY_SWITCH_TIMEOUT": "1m", "PARLEY_RESUME_GRACE": "1m", "PARLEY_MAX_PARTICIPANTS": "4",
				"PARLEY_ALLOWED_ORIGINS": " app.example.com, *.example.org ,,", "PARLEY_MEET_IDLE_TIMEOUT": "2h", "PARLEY_SESSION_TTL": "168h"},
			want: config{addr: ":9000", dataDir: "/var/lib/parley", domain: "example.com", ringTimeout: 45 * time.Second, switchTimeout: time.Minute,
				resumeGrace: time.Minute, maxParticipants: 4, allowedOrigins: []string{"app.example.com", "*.example.org"}, meetIdle: 2 * time.Hour, sessionTTL: 7 * 24 * time.Hour},
		},
		{
			name: "flags override environment",
			args: []string{"-addr", "127.0.0.1:0", "-data", "/tmp/x", "-domain", "chat.test", "-ring-timeout", "5s", "-switch-timeout", "7s",
				"-resume-grace=2s", "-max-participants", "3", "-allowed-origins", "a.test", "-meet-idle-timeout", "5m", "-session-ttl", "2h"},
			env: map[string]string{"PARLEY_ADDR": ":9000", "PARLEY_RING_TIMEOUT": "45s", "PARLEY_MAX_PARTICIPANTS": "4",
				"PARLEY_ALLOWED_ORIGINS": "b.test"},
			want: config{addr: "127.0.0.1:0", dataDir: "/tmp/x", domain: "chat.test", ringTimeout: 5 * time.Second, switchTimeout: 7 * time.Second,
				resumeGrace: 2 * time.Second, maxParticipants: 3, allowedOrigins: []string{"a.test"}, meetIdle: 5 * time.Minute, sessionTTL: 2 * time.Hour},
		},
		{name: "bad env duration", env: map[string]string{"PARLEY_RING_TIMEOUT": "soon"}, wantErr: "PARLEY_RING_TIMEOUT"},
		{name: "bad env number", env: map[string]string{"PARLEY_MAX_PARTICIPANTS": "many"}, wantErr: "PARLEY_MAX_PARTICIPANTS"},
		{name: "bad env overridden by flag is still an error", args: []string{"-ring-timeout", "1s"},
			env: map[string]string{"PARLEY_RING_TIMEOUT": "soon"}, wantErr: "PARLEY_RING_TIMEOUT"},
		{name: "bad flag", args: []string{"-ring-timeout", "soon"}, wantErr: "ring-timeout"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "nope"},
		{name: "extra argument", args: []string{"serve"}, wantErr: "unexpected"},
		{name: "negative grace", args: []string{"-resume-grace", "-1s"}, wantErr: "resume-grace"},
		{name: "zero ring", args: []string{"-ring-timeout", "0"}, wantErr: "ring-timeout"},
		{name: "negative switch", args: []string{"-switch-timeout", "-1s"}, wantErr: "switch-timeout"},
		{name: "one participant", args: []string{"-max-participants", "1"}, wantErr: "max-participants"},
		{name: "bad domain", args: []string{"-domain", "a@b"}, wantErr: "domain"},
		{name: "tiny session ttl", args: []string{"-session-ttl", "1s"}, wantErr: "session-ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseCase(t, tc.args, tc.env, tc.wantErr)
			if !ok {
				return
			}
			if got.addr != tc.want.addr || got.dataDir != tc.want.dataDir || got.domain != tc.want.domain ||
				got.ringTimeout != tc.want.ringTimeout || got.switchTimeout != tc.want.switchTimeout || got.resumeGrace != tc.want.resumeGrace ||
				got.maxParticipants != tc.want.maxParticipants || !slices.Equal(got.allowedOrigins, tc.want.allowedOrigins) {
				t.Errorf("config = %+v\nwant     %+v", got, tc.want)
			}
		})
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	if err := run([]string{"-max-participants", "0"}, envFrom(nil)); err == nil {
		t.Error("run accepted -max-participants 0")
	}
}

// builtWithRace reports whether this test binary was built with -race.
func builtWithRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// TestProcess builds the server, runs it on an ephemeral port, checks
// /healthz and /ws, and stops it with SIGTERM.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "parley")
	args := []string{"build", "-o", bin, "-ldflags", "-X main.version=test-1.2.3"}
	if builtWithRace() {
		args = append(args, "-race") // reuses the packages this test binary was built from
	}
	build := exec.Command(goBin, append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	data := filepath.Join(dir, "data", "nested")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", data)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var logs strings.Builder
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		for sc.Scan() {
			line := sc.Text()
			logs.WriteString(line + "\n")
			if m := re.FindStringSubmatch(line); m != nil {
				addrc <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })

	var addr string
	select {
	case addr = <-addrc:
	case err := <-exited:
		t.Fatalf("server exited early: %v", err)
	case <-time.After(2 * time.Minute): // a hang guard: the race-built binary took over 30 s to start beside the browser tests (CI12)
		t.Fatal("server did not log its address")
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("/healthz = %d %q", resp.StatusCode, body)
	}

	// The WebSocket endpoint answers, and the shutdown closes it with 4010.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, b, err := ws.Read(ctx); err != nil || !strings.Contains(string(b), `"type":"result"`) {
		t.Fatalf("ping reply %q, %v", b, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// First the closing notice, for clients that cannot read close codes.
	if _, b, err := ws.Read(ctx); err != nil || !strings.Contains(string(b), `"type":"closing","data":{"code":4010`) {
		t.Errorf("closing notice %q, %v", b, err)
	}
	_, _, err = ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != wire.CloseShutdown {
		t.Errorf("websocket closed with %v (%v), want %d", code, err, wire.CloseShutdown)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server exit: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), "version=test-1.2.3") {
		t.Errorf("version not set by -ldflags:\n%s", logs.String())
	}
	// The data directory and the database (password and token hashes) are
	// the owner's alone.
	for path, want := range map[string]os.FileMode{data: 0o700 | os.ModeDir, filepath.Join(data, "parley.db"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		} else if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode(), want)
		}
	}
}

// parseCase parses args over env. When wantErr is set it checks that parsing
// fails with an error mentioning it and returns false; otherwise parsing
// must succeed.
func parseCase(t *testing.T, args []string, env map[string]string, wantErr string) (config, bool) {
	t.Helper()
	cfg, err := parseConfig(args, envFrom(env), io.Discard)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want one mentioning %q", err, wantErr)
		}
		return cfg, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, true
}

// syncBuffer is a log sink the test reads while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestParseConnLimits: the connection limits' flags, their PARLEY_* twins
// and defaults reach the config; nonsense is refused.
func TestParseConnLimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    connLimits
		wantErr string
	}{
		{name: "defaults", want: connLimits{10000, 500, 20, 256 << 20, 256 << 20}},
		{name: "environment", env: map[string]string{"PARLEY_MAX_CONNECTIONS": "50", "PARLEY_MAX_CONNECTIONS_PER_IP": "5",
			"PARLEY_MAX_SESSIONS_PER_USER": "3", "PARLEY_MAX_QUEUED_BYTES": "2097152", "PARLEY_MAX_REPLAY_BYTES": "3145728"}, want: connLimits{50, 5, 3, 2 << 20, 3 << 20}},
		{name: "flags override environment", args: []string{"-max-connections", "7", "-max-connections-per-ip", "6",
			"-max-sessions-per-user", "2", "-max-queued-bytes", "4194304", "-max-replay-bytes", "5242880"},
			env: map[string]string{"PARLEY_MAX_CONNECTIONS": "50", "PARLEY_MAX_REPLAY_BYTES": "3145728"}, want: connLimits{7, 6, 2, 4 << 20, 5 << 20}},
		{name: "bad env", env: map[string]string{"PARLEY_MAX_QUEUED_BYTES": "lots"}, wantErr: "PARLEY_MAX_QUEUED_BYTES"},
		{name: "zero connections", args: []string{"-max-connections", "0"}, wantErr: "max-connections"},
		{name: "zero per ip", args: []string{"-max-connections-per-ip", "0"}, wantErr: "max-connections-per-ip"},
		{name: "zero sessions", args: []string{"-max-sessions-per-user", "0"}, wantErr: "max-sessions-per-user"},
		{name: "tiny budget", args: []string{"-max-queued-bytes", "1000"}, wantErr: "max-queued-bytes"},
		{name: "tiny replay budget", args: []string{"-max-replay-bytes", "1000"}, wantErr: "max-replay-bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseCase(t, tc.args, tc.env, tc.wantErr)
			if ok && got.conns != tc.want {
				t.Errorf("limits = %+v, want %+v", got.conns, tc.want)
			}
		})
	}
}

// TestTrustedProxiesFlag: -trusted-proxies and PARLEY_TRUSTED_PROXIES reach
// the config as prefixes; a bad entry is refused naming the flag.
func TestTrustedProxiesFlag(t *testing.T) {
	got, ok := parseCase(t, nil, map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}, "")
	if !ok {
		return
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}; !slices.Equal(got.trustedProxies, want) {
		t.Errorf("from the environment: %v, want %v", got.trustedProxies, want)
	}
	got, ok = parseCase(t, []string{"-trusted-proxies", "::1"}, map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.0/8"}, "")
	if ok && (len(got.trustedProxies) != 1 || got.trustedProxies[0] != netip.MustParsePrefix("::1/128")) {
		t.Errorf("flag over environment: %v", got.trustedProxies)
	}
	if got, ok := parseCase(t, nil, nil, ""); ok && got.trustedProxies != nil {
		t.Errorf("default: %v, want none", got.trustedProxies)
	}
	parseCase(t, []string{"-trusted-proxies", "proxy.example"}, nil, "trusted-proxies")
}
