//go:build linux

package netx

import (
	"errors"
	"fmt"
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
