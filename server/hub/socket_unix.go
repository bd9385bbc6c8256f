//go:build unix

package hub

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// waitReadable returns once raw has bytes to read, its peer closed it or
// it failed, without reading anything and without a buffer (see
// conn.read). Errors are left to the Read that follows.
func waitReadable(raw syscall.RawConn) {
	var one [1]byte
	_ = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return n > 0 || err != syscall.EAGAIN
	})
}

// waitReadableFor is waitReadable for at most d (nc's read deadline). It
// reports whether raw became readable (or failed) in time.
func waitReadableFor(nc net.Conn, raw syscall.RawConn, d time.Duration) bool {
	if nc.SetReadDeadline(time.Now().Add(d)) != nil {
		return true // let the Read that follows fail
	}
	var one [1]byte
	ready := false
	_ = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ready = n > 0 || err != syscall.EAGAIN
		return ready
	})
	if nc.SetReadDeadline(time.Time{}) != nil {
		return true
	}
	return ready
}

// writable reports whether raw's send buffer has room, so that a small
// write returns at once.
func writable(raw syscall.RawConn) bool {
	ok := false
	_ = raw.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(p, 0)
		ok = err == nil && n == 1 && p[0].Revents&unix.POLLOUT != 0 && p[0].Revents&(unix.POLLERR|unix.POLLHUP) == 0
	})
	return ok
}
