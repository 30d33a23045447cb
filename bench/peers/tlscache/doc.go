// Package tlspeers compares tlscache.Cache with caddyserver/certmagic (its
// Config.GetCertificate over a cache preloaded with the same certificates,
// no ACME) and with a map behind a sync.RWMutex, in the same run: the cost
// of a hit at 1 and 2 threads (-cpu 1,2) and the loads caused by 10,000
// handshakes missing one name at once. The results are in bench/README.md.
package tlspeers
