package netx

import (
	"context"
	"net"
)

// ListenReusePort announces on the local network address like
// [net.Listen], with SO_REUSEPORT set so that several processes can listen
// on one port. The kernel spreads connections by a hash of the address
// pair, not by load, so a slow process keeps receiving its share; use it
// for zero-downtime restarts and per-core processes, not as a load
// balancer. ctx bounds only the setup of the socket. Linux only; elsewhere
// it returns an error wrapping [errors.ErrUnsupported].
func ListenReusePort(ctx context.Context, network, addr string) (net.Listener, error) {
	if !reusePortSupported {
		return nil, errorUnsupported("SO_REUSEPORT")
	}
	lc := net.ListenConfig{Control: reusePortControl}
	return lc.Listen(ctx, network, addr)
}
