// Package netxpeers compares netx's client with hashicorp/go-cleanhttp's
// pooled transport and http.DefaultTransport, in the same run: a burst of
// 512 concurrent requests to one slow loopback backend (pool wait, new
// connections, latency percentiles), and a backend that accepts a request
// and never answers (time to error). The results are in bench/README.md.
package netxpeers
