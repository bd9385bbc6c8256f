package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"parley/server/hub"
)

// limitsConfig holds the flags that bound what a client may create (see
// hub.Config): meet links, rings and registrations.
type limitsConfig struct {
	meetLinksPerUser int
	meetLinksPerIP   int
	ringsPerMinute   int
	pairRingBurst    int
	pairRingInterval time.Duration
	registerBurst    int
	registerInterval time.Duration
}

// registerLimitFlags defines the limit flags on fs, with defaults from the
// PARLEY_* environment (envOr); a bad environment value is passed to bad.
func registerLimitFlags(fs *flag.FlagSet, envOr func(key, def string) string, lc *limitsConfig, bad func(error)) {
	def := func(name, key string, v flag.Value, deflt, usage string) {
		if s := envOr(key, deflt); s != deflt {
			if err := v.Set(s); err != nil {
				bad(fmt.Errorf("%s=%q: %w", key, s, err))
			}
		} else if err := v.Set(deflt); err != nil {
			panic(fmt.Sprintf("default of %s: %v", key, err))
		}
		fs.Var(v, name, usage+" ("+key+")")
	}
	def("max-meet-links-per-user", "PARLEY_MAX_MEET_LINKS_PER_USER", &positiveInt{&lc.meetLinksPerUser},
		strconv.Itoa(hub.DefaultMaxMeetLinksPerUser), "live call links (createMeetLink) one account may have")
	def("max-meet-links-per-ip", "PARLEY_MAX_MEET_LINKS_PER_IP", &positiveInt{&lc.meetLinksPerIP},
		strconv.Itoa(hub.DefaultMaxMeetLinksPerIP), "live call links made from one remote address")
	def("rings-per-minute", "PARLEY_RINGS_PER_MINUTE", &positiveInt{&lc.ringsPerMinute},
		strconv.Itoa(hub.DefaultRingsPerMinute), "users one caller may ring (calls and invites) per minute, also the burst")
	def("pair-ring-burst", "PARLEY_PAIR_RING_BURST", &positiveInt{&lc.pairRingBurst},
		strconv.Itoa(hub.DefaultPairRingBurst), "rings from one caller to one callee in a burst")
	def("pair-ring-interval", "PARLEY_PAIR_RING_INTERVAL", &positiveDuration{&lc.pairRingInterval},
		hub.DefaultPairRingInterval.String(), "after the burst, one ring from one caller to one callee per this `duration`")
	def("register-burst", "PARLEY_REGISTER_BURST", &positiveInt{&lc.registerBurst},
		strconv.Itoa(hub.DefaultRegisterBurst), "accounts one remote address may register in a burst")
	def("register-interval", "PARLEY_REGISTER_INTERVAL", &positiveDuration{&lc.registerInterval},
		hub.DefaultRegisterInterval.String(), "after the burst, one registration per remote address per this `duration`")
}

// apply copies the limits into cfg.
func (lc limitsConfig) apply(cfg *hub.Config) {
	cfg.MaxMeetLinksPerUser = lc.meetLinksPerUser
	cfg.MaxMeetLinksPerIP = lc.meetLinksPerIP
	cfg.RingsPerMinute = lc.ringsPerMinute
	cfg.PairRingBurst = lc.pairRingBurst
	cfg.PairRingInterval = lc.pairRingInterval
	cfg.RegisterBurst = lc.registerBurst
	cfg.RegisterInterval = lc.registerInterval
}

// positiveInt is a flag.Value of an int of at least 1.
type positiveInt struct{ n *int }

func (v *positiveInt) String() string {
	if v.n == nil {
		return "0"
	}
	return strconv.Itoa(*v.n)
}

func (v *positiveInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return errors.New("not a whole number of at least 1")
	}
	*v.n = n
	return nil
}

// positiveDuration is a flag.Value of a duration longer than zero.
type positiveDuration struct{ d *time.Duration }

func (v *positiveDuration) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

func (v *positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return errors.New("not a positive duration like 20s")
	}
	*v.d = d
	return nil
}
