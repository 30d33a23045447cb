// Package tlscache provides a certificate cache for
// [tls.Config.GetCertificate] and a client session cache for
// [tls.Config.ClientSessionCache].
//
// # Why
//
// A server that picks its certificate by SNI either parses a key pair on
// every handshake (tens to hundreds of microseconds, several percent of a
// full handshake) or caches with lazy expiry, so that when an entry expires
// a burst of handshakes all miss and all reload at once. And because the
// client chooses SNI, a cache keyed on it without a bound is a memory leak
// that any client can drive.
//
// # The certificate cache
//
// [New] builds a [Cache] over a [Loader]. [Cache.GetCertificate]:
//
//   - serves hits without locks or allocations, returning the same
//     *tls.Certificate with its Leaf parsed once;
//   - normalises names (lower case, no trailing dot) and caches by exact
//     name, so an exact certificate always wins over a wildcard; the ready
//     loaders match wildcards by the RFC 6125 rule only ("*.example.com"
//     covers "a.example.com" but not "example.com" or "a.b.example.com"),
//     and the names one wildcard serves share one parsed certificate;
//   - loads each name once however many handshakes miss on it at once; the
//     waiters honour their hello.Context(), and the load runs on a context
//     of its own with a timeout ([WithLoadTimeout]), so one client that
//     hangs up does not fail the others;
//   - remembers failed loads in a separate bounded negative cache, for a
//     short time that is jittered and backs off ([WithNegativeTTL]);
//   - holds at most [WithMaxEntries] certificates, evicting by SIEVE, an
//     LRU approximation that also drops names seen once (a random-SNI flood)
//     before names in use;
//   - expires an entry at the earlier of its load time + [WithTTL] and its
//     certificate's NotAfter − [WithSkew], and reloads it in the background
//     ahead of that ([WithRefreshAhead], jittered) while the old certificate
//     keeps serving;
//   - never serves a certificate past its NotAfter, nor one whose NotBefore
//     is still ahead: every hit compares NotAfter, less a margin of a few
//     seconds, with a coarse clock, so a late timer or a paused VM cannot
//     leave an expired certificate in service;
//   - bounds the loads running at once ([WithMaxConcurrentLoads]); a miss
//     beyond that fails fast with [ErrOverloaded], so a flood of new names
//     or a loader that hangs cannot pile up goroutines.
//
// [Cache.Invalidate] drops a name, [Cache.Close] stops the background work
// and waits for it, and [Cache.Stats] returns counters that
// [NewCollector] exports to Prometheus (no label ever carries a name).
//
// # Loaders
//
// A [Loader] is one method, Load(ctx, name); [LoaderFunc] adapts a
// function. Two are ready: [Static] serves PEM key pairs held in memory
// (for example a self-signed certificate generated at start-up), and [Dir]
// reads "name.crt"/"name.key" files from a directory and parses them again
// when they change.
//
// # A multi-tenant server
//
//	loader := tlscache.NewDir("/etc/certs") // tenant-a.example.com.crt, _.example.com.crt, ...
//	certs := tlscache.New(loader,
//		tlscache.WithMaxEntries(50_000),
//		tlscache.WithTTL(10*time.Minute),   // pick up renewed files within minutes
//		tlscache.WithDefaultName("example.com"),
//		tlscache.WithLogger(slog.Default()),
//	)
//	defer certs.Close()
//	prometheus.MustRegister(tlscache.NewCollector(certs, "tenants"))
//
//	srv := &http.Server{
//		Addr:              ":443",
//		ReadHeaderTimeout: 10 * time.Second,
//		TLSConfig: &tls.Config{
//			MinVersion:     tls.VersionTLS12,
//			GetCertificate: certs.GetCertificate,
//		},
//	}
//	log.Fatal(srv.ListenAndServeTLS("", ""))
//
// # The session cache
//
// [NewSessionCache] returns an LRU [tls.ClientSessionCache] that counts
// hits (resumed sessions) and misses (full handshakes), so a client can see
// whether resumption works; [NewSessionCollector] exports the counts.
//
// # Concurrency
//
// Every exported type is safe for concurrent use. [New] starts no
// goroutines: each load runs in one goroutine that ends with the loader
// call (their number bounded by [WithMaxConcurrentLoads]), and two timers, one for
// expiry and refresh and one that keeps the hit path's clock current once a
// second, are armed only while entries are cached. [Cache.Close] stops them
// and waits for them.
package tlscache
