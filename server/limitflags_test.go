package main

import (
	"testing"
	"time"

	"parley/server/hub"
)

// TestLimitFlags: the abuse-limit flags default to the hub's defaults, take
// PARLEY_* values, are overridden by flags, reach hub.Config, and refuse
// zero, negative and malformed values.
func TestLimitFlags(t *testing.T) {
	defaults := limitsConfig{
		meetLinksPerUser: hub.DefaultMaxMeetLinksPerUser, meetLinksPerIP: hub.DefaultMaxMeetLinksPerIP,
		ringsPerMinute: hub.DefaultRingsPerMinute, pairRingBurst: hub.DefaultPairRingBurst,
		pairRingInterval: hub.DefaultPairRingInterval, registerBurst: hub.DefaultRegisterBurst,
		registerInterval: hub.DefaultRegisterInterval,
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    limitsConfig
		wantErr string
	}{
		{name: "defaults", want: defaults},
		{
			name: "environment",
			env: map[string]string{"PARLEY_MAX_MEET_LINKS_PER_USER": "5", "PARLEY_MAX_MEET_LINKS_PER_IP": "7",
				"PARLEY_RINGS_PER_MINUTE": "9", "PARLEY_PAIR_RING_BURST": "2", "PARLEY_PAIR_RING_INTERVAL": "1m",
				"PARLEY_REGISTER_BURST": "4", "PARLEY_REGISTER_INTERVAL": "10m"},
			want: limitsConfig{5, 7, 9, 2, time.Minute, 4, 10 * time.Minute},
		},
		{
			name: "flags override environment",
			args: []string{"-max-meet-links-per-user", "1", "-register-burst=1000", "-pair-ring-interval", "1s"},
			env:  map[string]string{"PARLEY_MAX_MEET_LINKS_PER_USER": "5", "PARLEY_REGISTER_BURST": "4"},
			want: func() limitsConfig {
				l := defaults
				l.meetLinksPerUser, l.registerBurst, l.pairRingInterval = 1, 1000, time.Second
				return l
			}(),
		},
		{name: "zero", args: []string{"-rings-per-minute", "0"}, wantErr: "rings-per-minute"},
		{name: "negative", args: []string{"-max-meet-links-per-ip", "-1"}, wantErr: "max-meet-links-per-ip"},
		{name: "zero interval", args: []string{"-register-interval", "0s"}, wantErr: "register-interval"},
		{name: "bad env", env: map[string]string{"PARLEY_PAIR_RING_BURST": "lots"}, wantErr: "PARLEY_PAIR_RING_BURST"},
		{name: "bad env duration", env: map[string]string{"PARLEY_PAIR_RING_INTERVAL": "0"}, wantErr: "PARLEY_PAIR_RING_INTERVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseCase(t, tc.args, tc.env, tc.wantErr)
			if !ok {
				return
			}
			if got.limits != tc.want {
				t.Fatalf("limits = %+v\nwant     %+v", got.limits, tc.want)
			}
			var hc hub.Config
			got.limits.apply(&hc)
			if hc.MaxMeetLinksPerUser != tc.want.meetLinksPerUser || hc.RegisterInterval != tc.want.registerInterval ||
				hc.PairRingBurst != tc.want.pairRingBurst || hc.RingsPerMinute != tc.want.ringsPerMinute {
				t.Fatalf("hub.Config = %+v from %+v", hc, got.limits)
			}
		})
	}
}
