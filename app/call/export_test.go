package call

// SetCreatedHook makes f run when the server has answered a makeCall and
// before the engine takes the reply in, so a test can act in that window.
func SetCreatedHook(e *Engine, f func()) { e.createdHook = f }
