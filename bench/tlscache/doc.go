// Package tlscachebench holds process-level benchmarks for
// [github.com/gotune/gotune/tlscache]: real TLS handshakes on 127.0.0.1
// with the cache against a static tls.Config.Certificates, parsing per
// handshake and a map behind a sync.RWMutex, and an SNI flood of random
// names that checks entries and heap stay bounded. Results are recorded in
// bench/README.md.
package tlscachebench
