package call

// Logger receives the engine's diagnostics: a message and alternating keys
// and values, as log/slog takes them. *slog.Logger is one.
//
// The engine does not import log/slog itself: in the browser nothing logs,
// and slog would be 100 KB of the wasm every page downloads.
type Logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// discard is the Logger of an engine configured without one.
type discard struct{}

func (discard) Debug(string, ...any) {}
func (discard) Info(string, ...any)  {}
func (discard) Warn(string, ...any)  {}
func (discard) Error(string, ...any) {}
