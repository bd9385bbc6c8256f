//go:build !unix

package hub

import (
	"net"
	"syscall"
	"time"
)

// waitReadable returns at once: readers wait in the library's Read.
func waitReadable(syscall.RawConn) {}

// waitReadableFor reports true at once.
func waitReadableFor(net.Conn, syscall.RawConn, time.Duration) bool { return true }

// writable reports false: every write has a writer goroutine of its own.
func writable(syscall.RawConn) bool { return false }
