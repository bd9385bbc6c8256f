package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"parley/app/wire"
	"parley/server/hub"
	"parley/server/turn"
)

// turnConfig is the TURN and ICE part of config.
type turnConfig struct {
	addr          string        // -turn-addr: UDP+TCP listen address; empty: no embedded server
	tlsAddr       string        // -turn-tls-addr: TURN over TLS listen address
	publicIP      netip.Addr    // -turn-public-ip: address in relay candidates
	host          string        // -turn-host: host in the turn:/turns: URLs
	portMin       int           // -turn-relay-ports
	portMax       int           //
	secret        string        // -turn-secret; empty: <data>/turn-secret
	urls          []string      // -turn-url: external TURN/STUN servers
	allowPrivate  bool          // -turn-allow-private
	quota         int           // -turn-quota: allocations per user; 0: none
	bandwidth     int64         // -turn-bandwidth: bytes/s per allocation; 0: no cap
	credentialTTL time.Duration // -turn-credential-ttl
	icePolicy     string        // -ice-transport-policy
}

// Defaults of the TURN flags.
const (
	defaultRelayPorts = "49152-65535"
	defaultBandwidth  = "20Mbit"
)

// registerTURNFlags registers the TURN and ICE flags in fs, each with its
// default from the PARLEY_* variable that envOr reads; malformed variables
// are reported to bad.
func registerTURNFlags(fs *flag.FlagSet, envOr func(key, def string) string, tc *turnConfig, bad func(error)) {
	fromEnv := func(key string, v flag.Value, def string) {
		s := envOr(key, def)
		if err := v.Set(s); err != nil {
			if s == def {
				panic(fmt.Sprintf("default of %s: %v", key, err))
			}
			bad(fmt.Errorf("%s=%q: %w", key, s, err))
		}
	}
	fs.StringVar(&tc.addr, "turn-addr", envOr("PARLEY_TURN_ADDR", ""),
		"embedded TURN server's UDP and TCP listen `address`, e.g. :3478; empty: none (PARLEY_TURN_ADDR)")
	fs.StringVar(&tc.tlsAddr, "turn-tls-addr", envOr("PARLEY_TURN_TLS_ADDR", ""),
		"TURN over TLS listen `address`, e.g. :5349, with the HTTPS certificate (PARLEY_TURN_TLS_ADDR)")
	ip := &ipValue{&tc.publicIP}
	fromEnv("PARLEY_TURN_PUBLIC_IP", ip, "")
	fs.Var(ip, "turn-public-ip", "`IP` address put in relay candidates; default: the listen IP, or a detected one (PARLEY_TURN_PUBLIC_IP)")
	fs.StringVar(&tc.host, "turn-host", envOr("PARLEY_TURN_HOST", ""),
		"`host` name in the turn: and turns: URLs given to clients; default: the public IP (PARLEY_TURN_HOST)")
	ports := &portRangeValue{&tc.portMin, &tc.portMax}
	fromEnv("PARLEY_TURN_RELAY_PORTS", ports, defaultRelayPorts)
	fs.Var(ports, "turn-relay-ports", "relay port `range` min-max (PARLEY_TURN_RELAY_PORTS)")
	fs.StringVar(&tc.secret, "turn-secret", envOr("PARLEY_TURN_SECRET", ""),
		"TURN REST API shared `secret` (coturn's static-auth-secret); default: generated into <data>/turn-secret (PARLEY_TURN_SECRET)")
	urls := &listValue{list: &tc.urls}
	fromEnv("PARLEY_TURN_URL", urls, "")
	urls.fromEnv = true
	fs.Var(urls, "turn-url", "external TURN or STUN `URL` offered with credentials signed by the secret; repeatable (PARLEY_TURN_URL, comma-separated)")
	allow := &boolValue{&tc.allowPrivate}
	fromEnv("PARLEY_TURN_ALLOW_PRIVATE", allow, "false")
	fs.Var(allow, "turn-allow-private", "let clients relay to private and loopback addresses: private networks only (PARLEY_TURN_ALLOW_PRIVATE)")
	quota := &intValue{&tc.quota}
	fromEnv("PARLEY_TURN_QUOTA", quota, strconv.Itoa(turn.DefaultMaxAllocationsPerUser))
	fs.Var(quota, "turn-quota", "`number` of live TURN allocations per user; 0: no quota (PARLEY_TURN_QUOTA)")
	bw := &bandwidthValue{&tc.bandwidth}
	fromEnv("PARLEY_TURN_BANDWIDTH", bw, defaultBandwidth)
	fs.Var(bw, "turn-bandwidth", "`rate` cap per allocation and direction: 20Mbit, 512kbit, 2.5MB (per second), bytes/s as a plain number, 0 for none (PARLEY_TURN_BANDWIDTH)")
	ttl := &durationValue{&tc.credentialTTL}
	fromEnv("PARLEY_TURN_CREDENTIAL_TTL", ttl, turn.DefaultCredentialTTL.String())
	fs.Var(ttl, "turn-credential-ttl", "`duration` for which TURN credentials stay valid (PARLEY_TURN_CREDENTIAL_TTL)")
	fs.StringVar(&tc.icePolicy, "ice-transport-policy", envOr("PARLEY_ICE_TRANSPORT_POLICY", wire.ICEPolicyAll),
		"`policy` all, or relay: only relayed candidates, so no participant learns another's IP (PARLEY_ICE_TRANSPORT_POLICY)")
}

// check validates tc once the flags are parsed.
func (tc *turnConfig) check() error {
	if tc.addr != "" {
		if err := ipHostPort(tc.addr); err != nil {
			return fmt.Errorf("-turn-addr %q: %w", tc.addr, err)
		}
	}
	if tc.tlsAddr != "" {
		if tc.addr == "" {
			return errors.New("-turn-tls-addr needs -turn-addr")
		}
		if err := ipHostPort(tc.tlsAddr); err != nil {
			return fmt.Errorf("-turn-tls-addr %q: %w", tc.tlsAddr, err)
		}
	}
	if tc.host != "" {
		if _, err := netip.ParseAddr(tc.host); err != nil && strings.ContainsAny(tc.host, ":/@?[] ") {
			return fmt.Errorf("-turn-host %q is not a host name or IP address", tc.host)
		}
	}
	if tc.secret != "" && len(tc.secret) < 16 {
		return errors.New("-turn-secret is shorter than 16 characters: too easy to guess")
	}
	for _, u := range tc.urls {
		if err := turn.CheckURL(u); err != nil {
			return fmt.Errorf("-turn-url: %w", err)
		}
	}
	switch {
	case tc.quota < 0:
		return fmt.Errorf("-turn-quota %d is negative", tc.quota)
	case tc.credentialTTL < time.Minute:
		return fmt.Errorf("-turn-credential-ttl %v is under a minute", tc.credentialTTL)
	case tc.icePolicy != wire.ICEPolicyAll && tc.icePolicy != wire.ICEPolicyRelay:
		return fmt.Errorf("-ice-transport-policy %q is neither %q nor %q", tc.icePolicy, wire.ICEPolicyAll, wire.ICEPolicyRelay)
	case tc.icePolicy == wire.ICEPolicyRelay && tc.addr == "" && len(tc.urls) == 0:
		return errors.New("-ice-transport-policy relay needs a TURN server: -turn-addr or -turn-url")
	}
	return nil
}

// ipHostPort checks that a is host:port with an IP address or no host.
func ipHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return errors.New("the host must be an IP address (or empty for all)")
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

// startTURN starts the embedded TURN server if tc.addr is set, and returns
// it (nil if not) with the ICE provider for the hub (nil when there is
// neither an embedded nor an external TURN server). getCert supplies the
// certificate of -turn-tls-addr.
//
// HOOK: serve passes the HTTPS server's GetCertificate here once HTTPS is
// configured (-tls-cert/-tls-key, -acme-domain, -tls self-signed); until
// then -turn-tls-addr is refused with an error saying so.
func startTURN(ctx context.Context, tc turnConfig, dataDir string,
	getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), logger *slog.Logger) (*turn.Server, hub.ICEProvider, error) {
	if tc.addr == "" && len(tc.urls) == 0 {
		return nil, nil, nil
	}
	secret := []byte(tc.secret)
	if len(secret) == 0 {
		var err error
		if secret, err = turn.LoadOrCreateSecret(dataDir); err != nil {
			return nil, nil, err
		}
	}
	signer := turn.Signer{Secret: secret, TTL: tc.credentialTTL}
	var srv *turn.Server
	var urls []string
	if tc.addr != "" {
		if tc.tlsAddr != "" && getCert == nil {
			return nil, nil, errors.New("-turn-tls-addr needs a certificate: configure HTTPS (-tls-cert and -tls-key, or -acme-domain)")
		}
		bandwidth, quota := tc.bandwidth, tc.quota
		if bandwidth == 0 {
			bandwidth = -1 // no cap
		}
		if quota == 0 {
			quota = -1 // no quota
		}
		var err error
		srv, err = turn.New(turn.Config{
			Addr:                   tc.addr,
			TLSAddr:                tc.tlsAddr,
			GetCertificate:         getCert,
			PublicIP:               tc.publicIP,
			PortMin:                tc.portMin,
			PortMax:                tc.portMax,
			Secret:                 secret,
			CredentialTTL:          tc.credentialTTL,
			MaxAllocationsPerUser:  quota,
			BandwidthPerAllocation: bandwidth,
			AllowPrivate:           tc.allowPrivate,
			Logger:                 logger,
		})
		if err != nil {
			return nil, nil, err
		}
		if err := srv.Start(ctx); err != nil {
			return nil, nil, err
		}
		urls = srv.URLs(tc.host)
		logger.Info("turn listening", "addr", srv.Addr(), "public", srv.PublicIP().String(), "tls", srv.TLSAddr(),
			"relayPorts", fmt.Sprintf("%d-%d", tc.portMin, tc.portMax), "allowPrivate", tc.allowPrivate)
		if tc.tlsAddr != "" && tc.host == "" {
			logger.Warn("turns: URL names an IP address, which certificates rarely cover; set -turn-host")
		}
	}
	urls = append(urls, tc.urls...)
	provider, err := turn.NewProvider(signer, urls, tc.icePolicy)
	if err != nil {
		if srv != nil {
			srv.Close()
		}
		return nil, nil, err
	}
	logger.Info("ice servers", "urls", strings.Join(urls, " "), "policy", tc.icePolicy, "credentialTTL", tc.credentialTTL)
	return srv, provider, nil
}

// ipValue is a flag.Value for an IP address; empty for none.
type ipValue struct{ ip *netip.Addr }

func (v *ipValue) String() string {
	if v.ip == nil || !v.ip.IsValid() {
		return ""
	}
	return v.ip.String()
}

func (v *ipValue) Set(s string) error {
	if s == "" {
		*v.ip = netip.Addr{}
		return nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return errors.New("not an IP address")
	}
	if ip.IsUnspecified() || ip.IsMulticast() {
		return errors.New("not a unicast address")
	}
	*v.ip = ip.Unmap()
	return nil
}

// portRangeValue is a flag.Value for "min-max".
type portRangeValue struct{ min, max *int }

func (v *portRangeValue) String() string {
	if v.min == nil {
		return ""
	}
	return fmt.Sprintf("%d-%d", *v.min, *v.max)
}

func (v *portRangeValue) Set(s string) error {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil {
		return errors.New("want a port range like 49152-65535")
	}
	if a < 1024 || b > 65535 || a > b {
		return errors.New("want 1024 <= min <= max <= 65535")
	}
	*v.min, *v.max = a, b
	return nil
}

// listValue is a repeatable flag.Value; from the environment it splits on
// commas, and the first command-line value replaces the environment's.
type listValue struct {
	list    *[]string
	fromEnv bool
}

func (v *listValue) String() string {
	if v.list == nil {
		return ""
	}
	return strings.Join(*v.list, ",")
}

func (v *listValue) Set(s string) error {
	if v.fromEnv {
		*v.list, v.fromEnv = nil, false
	}
	*v.list = append(*v.list, splitList(s)...)
	return nil
}

// boolValue is a boolean flag.Value whose default can come from text.
type boolValue struct{ b *bool }

func (v *boolValue) String() string   { return strconv.FormatBool(v.b != nil && *v.b) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*v.b = b
	return nil
}

// intValue is an int flag.Value whose default can come from text.
type intValue struct{ n *int }

func (v *intValue) String() string {
	if v.n == nil {
		return "0"
	}
	return strconv.Itoa(*v.n)
}

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a number")
	}
	*v.n = n
	return nil
}

// durationValue is a time.Duration flag.Value whose default can come from
// text.
type durationValue struct{ d *time.Duration }

func (v *durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration like 12h")
	}
	*v.d = d
	return nil
}

// bandwidthValue is a rate in bytes per second, written as a number with
// an optional unit: bit, kbit, Mbit, Gbit (bits) or B, kB, MB, GB (bytes),
// decimal multiples, "/s" optional; a plain number is bytes/s; 0 is no cap.
type bandwidthValue struct{ bps *int64 }

func (v *bandwidthValue) String() string {
	switch {
	case v.bps == nil || *v.bps == 0:
		return "0"
	case *v.bps%125_000 == 0:
		return strconv.FormatInt(*v.bps/125_000, 10) + "Mbit"
	case *v.bps%125 == 0:
		return strconv.FormatInt(*v.bps/125, 10) + "kbit"
	}
	return strconv.FormatInt(*v.bps, 10) + "B"
}

// bandwidthUnits maps units to bytes; longest suffixes are tried first.
var bandwidthUnits = []struct {
	suffix string
	bytes  float64
}{
	{"Gbit", 1e9 / 8}, {"Mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8},
	{"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}, {"B", 1},
}

func (v *bandwidthValue) Set(s string) error {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/s")
	mult := 1.0
	for _, u := range bandwidthUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.bytes
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*mult > math.MaxInt64/2 {
		return errors.New("want a rate like 20Mbit, 2.5MB or 2500000 (bytes/s), or 0 for no cap")
	}
	bps := int64(f * mult)
	if f > 0 && bps < 2000 {
		return errors.New("under 2000 bytes/s, too low to carry a call")
	}
	*v.bps = bps
	return nil
}
