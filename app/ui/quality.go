package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"parley/app/call/event"
)

// qualityIndicator is the three bars on a tile showing how good the line to
// that participant is; nothing before the first report.
func qualityIndicator(elemID string, q event.CallQuality) app.UI {
	lit := qualityBars(q)
	if lit == 0 {
		return app.Text("")
	}
	bars := make([]app.UI, 3)
	for i := range bars {
		cls := "qbar"
		if i < lit {
			cls += " qbar-on"
		}
		bars[i] = app.Span().Class(cls)
	}
	return app.Span().ID("quality-"+elemID).Class("quality quality-"+q.Quality).
		Attr("role", "img").Aria("label", qualityLabel(q)).Title("%s", qualityTitle(q)).
		DataSet("quality", q.Quality).Body(bars...)
}
