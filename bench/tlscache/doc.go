// Package tlscachebench holds process-level benchmarks for
// [github.com/gotune/gotune/tlscache]: real TLS handshakes on 127.0.0.1
// with the cache against a static tls.Config.Certificates, parsing per
// handshake and a map behind a sync.RWMutex; an SNI flood of random names
// that checks entries and heap stay bounded; and TestServerSNIFlood
// (gated by GOTUNE_TLS_FLOOD=60s), which floods examples/server, run as its
// own process, with handshakes carrying long random server names and
// checks its RSS, a normal client's success rate and the status page.
// Results are recorded in bench/README.md.
package tlscachebench
