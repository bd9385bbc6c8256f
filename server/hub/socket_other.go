//go:build !unix

package hub

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// waitReadable returns at once: readers wait in the library's Read.
func waitReadable(syscall.RawConn) {}

// waitReadableFor reports true at once.
func waitReadableFor(net.Conn, syscall.RawConn, time.Duration) bool { return true }

// sendFrame writes nothing: every write has a writer goroutine of its own.
func sendFrame(syscall.RawConn, frame, int) (int, error) { return 0, nil }

// finishFrame is not called (sendFrame writes nothing).
func finishFrame(net.Conn, syscall.RawConn, frame, int, time.Time) error {
	return errors.ErrUnsupported
}
