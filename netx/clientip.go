package netx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// KeyByClientIP returns a key function for [WithRateLimit] that keys each
// request by its client's address, so that each client gets its own token
// bucket. IPv6 clients are keyed by their /64 network, the block one host
// usually gets, so that an attacker cannot take a fresh bucket per address.
//
// With no arguments the key is the address of the peer (the TCP connection),
// which no header can change: use it when clients connect directly.
// Behind proxies or load balancers, name their addresses: when the peer is
// one of trustedProxies, the client is the rightmost X-Forwarded-For entry
// that is not itself a trusted proxy (entries to its left were written by
// the client and may be forged). Without trustedProxies, X-Forwarded-For
// is never read, so a client cannot pick its own key. A request whose
// addresses cannot be parsed gets the empty key, which is not limited;
// see WithRateLimit.
//
// The returned function is safe for concurrent use.
func KeyByClientIP(trustedProxies ...netip.Prefix) func(*http.Request) string {
	trusted := append([]netip.Prefix(nil), trustedProxies...)
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer, ok := parseAddr(r.RemoteAddr)
		if !ok {
			return ""
		}
		client := peer
		if len(trusted) > 0 && isTrusted(peer) {
			client = forwardedClient(r.Header.Values("X-Forwarded-For"), peer, isTrusted)
		}
		return ipKey(client)
	}
}

// forwardedClient walks X-Forwarded-For from the right (the entry the
// nearest proxy wrote) past trusted proxies to the first untrusted address.
// If every entry is trusted, the leftmost is the client; an entry that does
// not parse ends the walk at the last good address.
func forwardedClient(values []string, peer netip.Addr, isTrusted func(netip.Addr) bool) netip.Addr {
	client := peer
	for i := len(values) - 1; i >= 0; i-- {
		parts := strings.Split(values[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parseAddr(strings.TrimSpace(parts[j]))
			if !ok {
				return client
			}
			client = a
			if !isTrusted(a) {
				return a
			}
		}
	}
	return client
}

// parseAddr reads "ip", "ip:port" or "[ipv6]:port".
func parseAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func ipKey(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
