package ui

import (
	"fmt"
	"strings"

	"parley/app/call/event"
)

// Line quality: callQualityListener grades the line to each other
// participant (see package call), and their tile shows it as three bars.

// onQuality handles callQualityListener.
func (s *session) onQuality(ev event.CallQuality) {
	if s.phase == phaseInCall {
		s.media.quality[ev.UserJID] = ev
	}
}

// qualityBars is how many of the three bars a line lights: 3 good, 2 fair,
// 1 poor, 0 before the first report.
func qualityBars(q event.CallQuality) int {
	switch q.Quality {
	case event.QualityGood:
		return 3
	case event.QualityFair:
		return 2
	case event.QualityPoor:
		return 1
	default:
		return 0
	}
}

// qualityLabel is the bars' accessible name, e.g. "Connection: good".
func qualityLabel(q event.CallQuality) string { return "Connection: " + q.Quality }

// qualityTitle is the bars' tooltip: the numbers behind the grade.
func qualityTitle(q event.CallQuality) string {
	var parts []string
	if q.RTT >= 0 {
		parts = append(parts, fmt.Sprintf("round trip %.0f ms", q.RTT))
	}
	parts = append(parts, fmt.Sprintf("loss %.1f %%", q.Loss*100), fmt.Sprintf("jitter %.0f ms", q.Jitter))
	if q.Width > 0 && q.Height > 0 {
		parts = append(parts, fmt.Sprintf("video %d×%d at %.0f fps", q.Width, q.Height, q.FPS))
	}
	if q.SentScale > 1 {
		why := ""
		switch q.SentScaleReason {
		case event.SentScaleLine:
			why = " for this line"
		case event.SentScaleCallSize:
			why = " as in every call of four or more"
		}
		parts = append(parts, fmt.Sprintf("sending video at 1/%.0f size%s", q.SentScale, why))
	}
	return qualityLabel(q) + " (" + strings.Join(parts, ", ") + ")"
}
