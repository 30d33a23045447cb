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
//   - refuses, before any lookup, server names that cannot be DNS host
//     names (over 253 bytes, a label over 63, a byte other than a letter,
//     digit, hyphen or underscore after lower-casing, IP literals), with
//     [ErrInvalidName], counted apart (refused_total{reason="invalid_name"});
//     errors quote at most the first 64 bytes of such a name;
//   - normalises names (lower case, no trailing dot) and caches by exact
//     name, so an exact certificate always wins over a wildcard; the ready
//     loaders match wildcards by the RFC 6125 rule only ("*.example.com"
//     covers "a.example.com" but not "example.com" or "a.b.example.com"),
//     and the names one wildcard serves share one parsed certificate;
//   - loads each name once however many handshakes miss on it at once; the
//     waiters honour their hello.Context(), and the load runs on a context
//     of its own with a timeout ([WithLoadTimeout]), so one client that
//     hangs up does not fail the others;
//   - remembers failed loads in a separate negative cache, bounded in
//     entries and in bytes ([WithMaxNegativeEntries],
//     [WithMaxNegativeBytes]), for a short time that is jittered and backs
//     off ([WithNegativeTTL]), after which the entry is freed;
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
// # A certificate's life
//
// What the cache does with a certificate a loader returns depends on where
// it is in its validity period when it is loaded or refreshed:
//
//   - not yet valid (before NotBefore): refused with [ErrInvalidCertificate]
//     and remembered as a failure; a refresh that returns one keeps the
//     cached certificate serving until that expires;
//   - valid: cached until the earlier of load time + TTL and NotAfter −
//     skew, and refreshed in the background ahead of that;
//   - inside the skew window (NotAfter − skew has passed, NotAfter is more
//     than a few seconds away): served, until a margin of 5 s before
//     NotAfter, and refreshed meanwhile in case the loader has a newer one;
//   - expiring while cached: dropped by the cache's timer at the end of
//     that window, and, should the timer be late or the VM paused, by the
//     first handshake that sees the clock past it;
//   - expired, or within the margin of NotAfter: refused with [ErrExpired].
//
// No certificate is served at or after its NotAfter, whatever the loader
// returns, and a loader that panics, calls runtime.Goexit, hangs, or
// returns nothing ends as an error to the handshakes waiting for it
// ([ErrLoaderPanic], [ErrLoadTimeout], [ErrInvalidCertificate]).
//
// # What a flood of names costs
//
// A name refused as invalid costs nothing beyond the handshake's own
// memory. A well-formed unknown name costs one load and a negative entry
// (at most [DefaultMaxNegativeBytes], 4 MiB, for all of them); a name the
// loader serves costs a cache entry (its name, at most 253 bytes, and
// about 200 bytes of bookkeeping; the certificate is shared), at most
// [WithMaxEntries] of them. With the defaults, 100,000 handshakes with
// random names of every length up to 64 KiB leave the live heap less than
// 32 MiB larger (TestSNIFloodHeap measures about 4 MiB).
//
// [Cache.Invalidate] drops a name, [Cache.Close] stops the background work
// and waits for it, and [Cache.Stats] returns counters that
// [NewCollector] exports to Prometheus (no label ever carries a name).
//
// # Options and their values
//
// Every option follows the rule shared by gotune's packages: zero means the
// documented default (the Default constants); a negative value means "off"
// where an option can be switched off, and has a name there ([NoTTL],
// [NoRefreshAhead], [NoSkew], [NoNegativeCache]); any other value the cache
// cannot honour (a negative bound on entries, bytes or concurrent loads, a
// negative load timeout, a bound over [MaxEntriesLimit], a negative TTL
// maximum below its base) makes [New] return an error that names the
// option and the value. [NewSessionCache], which returns no error, takes
// zero for [DefaultSessionCapacity] and panics on a negative capacity.
//
// The cache reads the time with time.Now and waits with time.AfterFunc,
// so tests drive it with testing/synctest; it exports no clock.
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
//	certs, err := tlscache.New(loader,
//		tlscache.WithMaxEntries(50_000),
//		tlscache.WithTTL(10*time.Minute),   // pick up renewed files within minutes
//		tlscache.WithDefaultName("example.com"),
//		tlscache.WithLogger(slog.Default()),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
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
