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
