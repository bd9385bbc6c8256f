package ui

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
)

// TestQualityBars: callQualityListener puts bars on the participant's tile,
// three for good down to one for poor, with an accessible label and the
// numbers in the tooltip; nothing shows before the first report.
func TestQualityBars(t *testing.T) {
	h := inVoiceCall(t)
	s := h.s
	bob := "bob@localhost"
	tile := func() string {
		c := (&Shell{s: s}).inCall().(*InCall)
		if len(c.Remotes) != 1 {
			t.Fatalf("remotes %+v", c.Remotes)
		}
		return app.HTMLString(c.renderRemote(c.Remotes[0]))
	}
	if html := tile(); strings.Contains(html, "quality-") {
		t.Fatalf("bars before any report: %s", html)
	}
	for _, c := range []struct {
		q    event.CallQuality
		lit  int
		want []string
	}{
		{event.CallQuality{UserJID: bob, Quality: "good", RTT: 12.3, Loss: 0, Jitter: 2.1, Width: 640, Height: 480, FPS: 30, SentScale: 1},
			3, []string{`aria-label="Connection: good"`, `role="img"`, "round trip 12 ms", "loss 0.0 %", "video 640×480 at 30 fps"}},
		{event.CallQuality{UserJID: bob, Quality: "fair", RTT: 250, Loss: 0.03, SentScale: 1},
			2, []string{`aria-label="Connection: fair"`, "round trip 250 ms", "loss 3.0 %"}},
		{event.CallQuality{UserJID: bob, Quality: "poor", RTT: -1, Loss: 0.25, Jitter: 40, SentScale: 4, SentScaleReason: event.SentScaleLine},
			1, []string{`aria-label="Connection: poor"`, "loss 25.0 %", "sending video at 1/4 size for this line"}},
		{event.CallQuality{UserJID: bob, Quality: "good", RTT: 3, SentScale: 2, SentScaleReason: event.SentScaleCallSize},
			3, []string{`aria-label="Connection: good"`, "sending video at 1/2 size as in every call of four or more"}},
	} {
		h.f.sink(c.q)
		h.settle(1)
		html := tile()
		if n := strings.Count(html, "qbar-on"); n != c.lit {
			t.Errorf("%s: %d bars lit, want %d: %s", c.q.Quality, n, c.lit, html)
		}
		if !strings.Contains(html, `id="quality-bob_localhost"`) {
			t.Errorf("%s: no bars with the tile's id: %s", c.q.Quality, html)
		}
		for _, w := range c.want {
			if !strings.Contains(html, w) {
				t.Errorf("%s: tile lacks %q: %s", c.q.Quality, w, html)
			}
		}
	}
	if strings.Contains(tile(), "round trip -1") {
		t.Error("an unknown round trip is shown")
	}
	h.render()
}
