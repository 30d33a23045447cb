//go:build !linux

package netx

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"syscall"
)

const reusePortSupported = false

func reusePortControl(_, _ string, _ syscall.RawConn) error {
	return errorUnsupported("SO_REUSEPORT")
}

// nofileSoftLimit is not read outside Linux: no default connection limit.
func nofileSoftLimit() uint64 { return 0 }

func errorUnsupported(what string) error {
	return fmt.Errorf("netx: %s on %s: %w", what, runtime.GOOS, errors.ErrUnsupported)
}

// hasPending is not known outside Linux: a connection's unread bytes are
// not seen.
func hasPending(net.Conn) bool { return false }

// sendQueue is not read outside Linux.
func sendQueue(net.Conn) (int64, bool) { return 0, false }

// outOfDescriptors is not told apart outside Linux, where there is no
// default connection limit either.
func outOfDescriptors(error) bool { return false }
