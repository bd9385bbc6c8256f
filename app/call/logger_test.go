package call_test

import (
	"log/slog"

	"parley/app/call"
)

// A *slog.Logger is a call.Logger: native callers hand theirs in as before.
var _ call.Logger = (*slog.Logger)(nil)
