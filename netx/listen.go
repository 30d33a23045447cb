package netx

import (
	"context"
	"errors"
	"net"
)

// ErrUnsupported is returned (wrapped) by [Listen] when an option asks for
// something the operating system does not offer, such as SO_REUSEPORT
// outside Linux.
var ErrUnsupported = errors.New("netx: unsupported on this platform")

// Listen announces on the local network address like [net.Listen], with
// SO_REUSEPORT when [WithReusePort] is given (see its caveat on how the
// kernel spreads connections). ctx bounds only the setup of the socket.
func Listen(ctx context.Context, network, addr string, opts ...Option) (net.Listener, error) {
	c := newConfig(opts)
	lc := net.ListenConfig{}
	if c.reusePort {
		if !reusePortSupported {
			return nil, errorUnsupported("SO_REUSEPORT")
		}
		lc.Control = reusePortControl
	}
	ln, err := lc.Listen(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return ln, nil
}
