package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"

	"parley/server/push"
)

// pushConfig holds the Web Push flags: ringing users whose app is closed.
type pushConfig struct {
	enabled      bool
	keyFile      string // "" is <data>/vapid.pem
	subject      string // "" is mailto:admin@<domain>
	insecureHTTP bool
	whenHidden   bool
}

// registerPushFlags defines the push flags on fs, with defaults from the
// PARLEY_* environment (envOr); a bad environment value is passed to bad.
func registerPushFlags(fs *flag.FlagSet, envOr func(key, def string) string, pc *pushConfig, bad func(error)) {
	boolEnv := func(key string, def bool) bool {
		v := envOr(key, strconv.FormatBool(def))
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(fmt.Errorf("%s=%q: not a boolean", key, v))
			return def
		}
		return b
	}
	fs.BoolVar(&pc.enabled, "push", boolEnv("PARLEY_PUSH", true),
		"ring users whose app is closed by Web Push (PARLEY_PUSH)")
	fs.StringVar(&pc.keyFile, "vapid-key", envOr("PARLEY_VAPID_KEY", ""),
		"PEM `file` of the VAPID private key, generated if missing; remove it to rotate the keys (PARLEY_VAPID_KEY, default <data>/vapid.pem)")
	fs.StringVar(&pc.subject, "vapid-subject", envOr("PARLEY_VAPID_SUBJECT", ""),
		"mailto: or https: `URL` push services may contact the operator at (PARLEY_VAPID_SUBJECT, default mailto:admin@<domain>)")
	fs.BoolVar(&pc.insecureHTTP, "push-allow-http", boolEnv("PARLEY_PUSH_ALLOW_HTTP", false),
		"accept plain http:// push endpoints on loopback and private addresses, for tests with a local push service (PARLEY_PUSH_ALLOW_HTTP)")
	fs.BoolVar(&pc.whenHidden, "push-when-hidden", boolEnv("PARLEY_PUSH_WHEN_HIDDEN", false),
		"also ring by push a user whose open tabs are all hidden (PARLEY_PUSH_WHEN_HIDDEN)")
}

// sender returns the Web Push sender, its keys loaded from (or generated
// into) the key file; nil when push is off.
func (pc pushConfig) sender(dataDir, domain string) (*push.Sender, error) {
	if !pc.enabled {
		return nil, nil
	}
	path := pc.keyFile
	if path == "" {
		path = filepath.Join(dataDir, "vapid.pem")
	}
	keys, err := push.LoadOrCreateKeys(path)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	sub := pc.subject
	if sub == "" {
		sub = "mailto:admin@" + domain
	}
	return push.New(push.Config{Keys: keys, Subject: sub, AllowPrivate: pc.insecureHTTP}), nil
}
