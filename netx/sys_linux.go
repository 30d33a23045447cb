//go:build linux

package netx

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

const reusePortSupported = true

func reusePortControl(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("netx: setsockopt SO_REUSEPORT: %w", serr)
	}
	return nil
}

// nofileSoftLimit returns the RLIMIT_NOFILE soft limit, or 0 if unknown or
// unlimited.
func nofileSoftLimit() uint64 {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil || r.Cur == unix.RLIM_INFINITY {
		return 0
	}
	return r.Cur
}

func errorUnsupported(what string) error {
	return fmt.Errorf("netx: %s: %w", what, errors.ErrUnsupported)
}

// hasPending reports whether bytes wait unread in c's receive queue
// (ioctl FIONREAD), for a connection that looks silent only because the
// server has not read it yet.
func hasPending(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	})
	return n > 0
}

// sendQueue returns the bytes in c's send queue not yet acknowledged by
// the peer (ioctl SIOCOUTQ), and whether it could be read.
func sendQueue(c net.Conn) (int64, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	n, qerr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) {
		n, qerr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	}); err != nil || qerr != nil {
		return 0, false
	}
	return int64(n), true
}

// outOfDescriptors reports whether an accept failed for want of a file
// descriptor (the process's or the system's).
func outOfDescriptors(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)
}
