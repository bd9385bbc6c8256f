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

// sendFrame writes f to raw as one WebSocket text frame, as a server sends
// it (unmasked), from byte skip of the frame on the wire on: one system
// call that does not wait. It returns how many bytes it wrote: all that
// were left, none when the socket's buffer is full, or some when it had
// room for some only.
func sendFrame(raw syscall.RawConn, f frame, skip int) (n int, err error) {
	var hdr [4]byte
	iov := frameVecs(f, &hdr, skip)
	werr := raw.Write(func(fd uintptr) bool {
		for {
			n, err = unix.Writev(int(fd), iov)
			if err != unix.EINTR {
				break
			}
		}
		if err == unix.EAGAIN {
			n, err = 0, nil
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return max(n, 0), err
}

// finishFrame writes the rest of f to raw from byte skip of the frame on
// the wire on, waiting for room in the socket's buffer until deadline.
// Nothing else goes to the socket in between: the socket's write lock is
// held throughout.
func finishFrame(nc net.Conn, raw syscall.RawConn, f frame, skip int, deadline time.Time) error {
	if err := nc.SetWriteDeadline(deadline); err != nil {
		return err
	}
	defer nc.SetWriteDeadline(time.Time{})
	var hdr [4]byte
	iov := frameVecs(f, &hdr, skip)
	var err error
	werr := raw.Write(func(fd uintptr) bool {
		for len(iov) > 0 {
			n, e := unix.Writev(int(fd), iov)
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				return false // wait until the socket has room
			case e != nil:
				err = e
				return true
			}
			iov = skipVecs(iov, n)
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return err
}
