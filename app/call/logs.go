package call

import (
	"context"

	"parley/app/wire"
)

// GetCallLogs returns page (1-based) of your call log, 20 entries, newest first.
func (e *Engine) GetCallLogs(ctx context.Context, page int) (wire.CallLogPage, error) {
	if page < 1 {
		return wire.CallLogPage{}, wire.BadRequest("The page number starts at 1.")
	}
	var res wire.CallLogPage
	if err := e.send(ctx, wire.TypeCallLogs, wire.CallLogsRequest{Page: page}, &res); err != nil {
		return wire.CallLogPage{}, err
	}
	if res.CallLogs == nil {
		res.CallLogs = []wire.CallLog{}
	}
	return res, nil
}
