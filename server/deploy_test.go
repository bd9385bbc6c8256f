package main

import (
	"bytes"
	"errors"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The files in deploy/ name flags, settings, paths and ports of this binary;
// these tests keep them in step with parseConfig.

var envName = regexp.MustCompile(`PARLEY_[A-Z0-9_]+`)

// knownSettings returns every PARLEY_* variable the binary reads, from its
// usage text.
func knownSettings(t *testing.T) []string {
	t.Helper()
	var usage bytes.Buffer
	if _, err := parseConfig([]string{"-h"}, envFrom(nil), &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	names := envName.FindAllString(usage.String(), -1)
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) < 10 {
		t.Fatalf("only %d PARLEY_* settings in the usage text:\n%s", len(names), usage.String())
	}
	return names
}

func readDeploy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// directives returns the Key=Value lines of a systemd unit, by key.
func directives(unit string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = append(out[k], v)
		}
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	unit := readDeploy(t, "parley.service")
	d := directives(unit)
	exec := strings.Fields(d["ExecStart"][0])
	if len(d["ExecStart"]) != 1 || !filepath.IsAbs(exec[0]) {
		t.Fatalf("ExecStart %q", d["ExecStart"])
	}
	cfg, err := parseConfig(exec[1:], envFrom(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("ExecStart flags %q: %v", exec[1:], err)
	}
	if want := "/var/lib/" + d["StateDirectory"][0]; cfg.dataDir != want {
		t.Errorf("-data %q is not the StateDirectory %s", cfg.dataDir, want)
	}
	for k, want := range map[string]string{
		"DynamicUser": "yes", "StateDirectory": "parley", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
		"ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
		"SystemCallFilter": "@system-service", "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
		"AmbientCapabilities": "CAP_NET_BIND_SERVICE", "Restart": "on-failure", "EnvironmentFile": "-/etc/parley/parley.env",
	} {
		if !slices.Contains(d[k], want) {
			t.Errorf("%s=%s missing (have %q)", k, want, d[k])
		}
	}
	// The stop timeout leaves room for the graceful shutdown.
	if got := d["TimeoutStopSec"]; len(got) != 1 || got[0] != "30s" || shutdownTimeout.Seconds() >= 30 {
		t.Errorf("TimeoutStopSec %q with a %v shutdown", got, shutdownTimeout)
	}
}

// TestSystemdVerify runs systemd-analyze verify on the unit, with a binary
// that exists standing in for /usr/local/bin/parley.
func TestSystemdVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil || runtime.GOOS != "linux" {
		t.Skip("systemd-analyze not available")
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true binary")
	}
	unit := strings.ReplaceAll(readDeploy(t, "parley.service"), "/usr/local/bin/parley", truePath)
	path := filepath.Join(t.TempDir(), "parley.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestEnvExample(t *testing.T) {
	example := readDeploy(t, "parley.env.example")
	known := knownSettings(t)
	env := map[string]string{}
	for _, line := range strings.Split(example, "\n") {
		kv := strings.TrimPrefix(strings.TrimSpace(line), "#")
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !envName.MatchString(k) || envName.FindString(k) != k {
			continue
		}
		if !slices.Contains(known, k) {
			t.Errorf("the example sets %s, which the binary does not read", k)
		}
		env[k] = v
	}
	for _, k := range known {
		if _, ok := env[k]; !ok {
			t.Errorf("the example does not list %s", k)
		}
	}
	// Every value shown (they are the defaults) is accepted.
	if _, err := parseConfig(nil, envFrom(env), &bytes.Buffer{}); err != nil {
		t.Errorf("the example's values: %v", err)
	}
}

func TestContainerfile(t *testing.T) {
	cf := readDeploy(t, "Containerfile")
	known := knownSettings(t)
	env := map[string]string{}
	var expose, volumes []string
	var entrypoint string
	stages := 0
	// Join continuation lines, then read the instructions.
	for _, line := range strings.Split(strings.ReplaceAll(cf, "\\\n", " "), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			stages++
		case "ENV":
			for _, kv := range fields[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "PARLEY_") {
					if !slices.Contains(known, k) {
						t.Errorf("ENV %s: not a setting of the binary", k)
					}
					env[k] = v
				}
			}
		case "EXPOSE":
			expose = append(expose, fields[1:]...)
		case "VOLUME":
			volumes = append(volumes, strings.Trim(strings.Join(fields[1:], ""), `[]"`))
		case "ENTRYPOINT", "CMD":
			entrypoint = strings.Join(fields[1:], " ")
		case "RUN":
			if strings.Contains(line, "make") && !strings.Contains(line, "make build") {
				t.Errorf("the image is built with something else than the Makefile's build target: %s", line)
			}
		}
	}
	if stages < 2 {
		t.Errorf("%d stages, want a build stage and a runtime stage", stages)
	}
	if !strings.Contains(cf, "make build") || !strings.Contains(cf, "USER 65532") {
		t.Error("the Containerfile must build with `make build` and run as a non-root user")
	}
	if entrypoint != `["/parley"]` {
		t.Errorf("ENTRYPOINT %s", entrypoint)
	}
	cfg, err := parseConfig(nil, envFrom(env), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("the image's settings %v: %v", env, err)
	}
	if !slices.Contains(volumes, cfg.dataDir) {
		t.Errorf("the data directory %s is not a VOLUME (%v)", cfg.dataDir, volumes)
	}
	host, port, err := net.SplitHostPort(cfg.addr)
	if err != nil || host != "" {
		t.Errorf("PARLEY_ADDR %q must listen on every interface of the container", cfg.addr)
	}
	if !slices.Contains(expose, port+"/tcp") {
		t.Errorf("the listen port %s is not exposed (%v)", port, expose)
	}
}
