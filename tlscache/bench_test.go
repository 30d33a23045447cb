package tlscache_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gotune/gotune/tlscache"
)

// getter is what a server plugs into tls.Config.GetCertificate.
type getter func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// rwMapGetter is what servers commonly write: a map behind a RWMutex,
// filled on a miss.
func rwMapGetter(certs map[string]testCert) getter {
	var mu sync.RWMutex
	m := map[string]*tls.Certificate{}
	return func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		mu.RLock()
		c := m[h.ServerName]
		mu.RUnlock()
		if c != nil {
			return c, nil
		}
		tc := certs[h.ServerName]
		cert, err := tls.X509KeyPair(tc.certPEM, tc.keyPEM)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		m[h.ServerName] = &cert
		mu.Unlock()
		return &cert, nil
	}
}

// syncMapGetter is the other common choice: a sync.Map filled on a miss.
func syncMapGetter(certs map[string]testCert) getter {
	var m sync.Map
	return func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if c, ok := m.Load(h.ServerName); ok {
			return c.(*tls.Certificate), nil
		}
		tc := certs[h.ServerName]
		cert, err := tls.X509KeyPair(tc.certPEM, tc.keyPEM)
		if err != nil {
			return nil, err
		}
		c, _ := m.LoadOrStore(h.ServerName, &cert)
		return c.(*tls.Certificate), nil
	}
}

// parseGetter parses the PEM pair on every handshake.
func parseGetter(certs map[string]testCert) getter {
	return func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		tc := certs[h.ServerName]
		cert, err := tls.X509KeyPair(tc.certPEM, tc.keyPEM)
		return &cert, err
	}
}

// staticGetter is the cost floor: what crypto/tls does with a single
// tls.Config.Certificates entry.
func staticGetter(c *tls.Certificate) getter {
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c, nil }
}

func cacheGetter(b *testing.B, certs map[string]testCert) (getter, func()) {
	ld := tlscache.NewStatic()
	for name, tc := range certs {
		if err := ld.Add(tc.cert, name); err != nil {
			b.Fatal(err)
		}
	}
	c := mustNew(b, ld, tlscache.WithMaxEntries(len(certs)))
	return c.GetCertificate, func() { c.Close() }
}

// BenchmarkGetCertificate measures the per-handshake certificate lookup for
// hits, against what servers use otherwise, in the same run.
func BenchmarkGetCertificate(b *testing.B) {
	for _, nNames := range []int{1, 1000} {
		certs := map[string]testCert{}
		names := make([]string, nNames)
		shared := yearCert(b, "shared.test")
		for i := range names {
			names[i] = fmt.Sprintf("host%d.example.test", i)
			tc := shared
			if i < 4 || nNames == 1 {
				tc = yearCert(b, names[i])
			}
			certs[names[i]] = testCert{cert: tc.cert, certPEM: tc.certPEM, keyPEM: tc.keyPEM}
		}
		cg, closeCache := cacheGetter(b, certs)
		impls := []struct {
			name string
			get  getter
		}{
			{"impl=tlscache", cg},
			{"impl=rwmutex-map", rwMapGetter(certs)},
			{"impl=sync-map", syncMapGetter(certs)},
			{"impl=static", staticGetter(certs[names[0]].cert)},
		}
		if nNames == 1 {
			impls = append(impls, struct {
				name string
				get  getter
			}{"impl=parse-per-handshake", parseGetter(certs)})
		}
		hellos := make([]*tls.ClientHelloInfo, len(names))
		for i, n := range names {
			hellos[i] = hello(n)
		}
		for _, impl := range impls {
			for _, h := range hellos { // warm
				if _, err := impl.get(h); err != nil {
					b.Fatal(err)
				}
			}
			b.Run(fmt.Sprintf("names=%d/%s", nNames, impl.name), func(b *testing.B) {
				var seed atomic.Uint64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := seed.Add(7919)
					for pb.Next() {
						i++
						if _, err := impl.get(hellos[i%uint64(len(hellos))]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
		closeCache()
	}
}

// BenchmarkGetCertificatePaired times chunks of 1,000 hits of each
// implementation in rotating order on one goroutine and reports the median
// chunk per implementation (ns per hit) and its ratio to the RWMutex map.
// On a shared machine this is far steadier than separate sub-benchmarks,
// which other processes' load shifts by tens of percent between runs.
func BenchmarkGetCertificatePaired(b *testing.B) {
	const chunk = 1000
	certs := map[string]testCert{}
	names := make([]string, 1000)
	shared := yearCert(b, "shared.test")
	for i := range names {
		names[i] = fmt.Sprintf("host%d.example.test", i)
		certs[names[i]] = shared
	}
	cg, closeCache := cacheGetter(b, certs)
	defer closeCache()
	impls := []struct {
		name string
		get  getter
	}{
		{"rwmutex-map", rwMapGetter(certs)},
		{"tlscache", cg},
		{"sync-map", syncMapGetter(certs)},
		{"static", staticGetter(shared.cert)},
	}
	hellos := make([]*tls.ClientHelloInfo, len(names))
	for i, n := range names {
		hellos[i] = hello(n)
	}
	for _, impl := range impls {
		for _, h := range hellos {
			impl.get(h)
		}
	}
	for _, names := range []int{1, 1000} {
		b.Run(fmt.Sprintf("names=%d", names), func(b *testing.B) {
			samples := make([][]time.Duration, len(impls))
			j := 0
			for n := 0; b.Loop(); n++ {
				for k := range impls {
					i := (n + k) % len(impls)
					get := impls[i].get
					start := time.Now()
					for range chunk {
						j++
						if j >= names {
							j = 0
						}
						get(hellos[j])
					}
					samples[i] = append(samples[i], time.Since(start))
				}
			}
			med := make([]float64, len(impls))
			for i, impl := range impls {
				slices.Sort(samples[i])
				med[i] = float64(samples[i][len(samples[i])/2]) / chunk
				b.ReportMetric(med[i], impl.name+"-ns/hit")
				if i > 0 {
					b.ReportMetric(med[i]/med[0], impl.name+"/rwmutex-map")
				}
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkMissStorm starts 10,000 concurrent lookups of one uncached name
// per iteration and reports how many loads each storm caused (target: 1).
func BenchmarkMissStorm(b *testing.B) {
	const storm = 10000
	c1 := yearCert(b, "storm.test")
	var loads atomic.Int64
	ld := tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		loads.Add(1)
		return c1.cert, nil
	})
	var storms int64
	for b.Loop() {
		b.StopTimer()
		cache := mustNew(b, ld)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range storm {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := cache.GetCertificate(hello("storm.test")); err != nil {
					b.Error(err)
				}
			}()
		}
		b.StartTimer()
		close(start)
		wg.Wait()
		b.StopTimer()
		cache.Close()
		storms++
		b.StartTimer()
	}
	b.ReportMetric(float64(loads.Load())/float64(storms), "loads/storm")
}

// BenchmarkSessionCache compares the counting session cache with
// crypto/tls's own LRU.
func BenchmarkSessionCache(b *testing.B) {
	for _, impl := range []struct {
		name string
		c    tls.ClientSessionCache
	}{
		{"impl=tlscache", tlscache.NewSessionCache(64)},
		{"impl=crypto-tls-lru", tls.NewLRUClientSessionCache(64)},
	} {
		keys := make([]string, 64)
		for i := range keys {
			keys[i] = fmt.Sprintf("host%d:443", i)
			impl.c.Put(keys[i], &tls.ClientSessionState{})
		}
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					impl.c.Get(keys[i%len(keys)])
				}
			})
		})
	}
}

// BenchmarkSessionCachePut stores sessions for more hosts than the cache
// holds, so every Put evicts: the path whose allocations the LRU decides.
func BenchmarkSessionCachePut(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("host%d:443", i)
	}
	for _, impl := range []struct {
		name string
		c    tls.ClientSessionCache
	}{
		{"impl=tlscache", tlscache.NewSessionCache(64)},
		{"impl=crypto-tls-lru", tls.NewLRUClientSessionCache(64)},
	} {
		b.Run(impl.name, func(b *testing.B) {
			cs := &tls.ClientSessionState{}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				impl.c.Put(keys[i%len(keys)], cs)
				i++
			}
		})
	}
}
