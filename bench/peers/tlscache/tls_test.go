package tlspeers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/gotune/gotune/tlscache"
	"go.uber.org/zap"
)

// newCert makes a self-signed P-256 certificate for name, valid for a
// year, with its Leaf parsed.
func newCert(tb testing.TB, name string) *tls.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

type getter func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// rwMap is what servers commonly write: a map behind a RWMutex.
func rwMap(certs map[string]*tls.Certificate) getter {
	var mu sync.RWMutex
	m := map[string]*tls.Certificate{}
	for n, c := range certs {
		m[n] = c
	}
	return func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		mu.RLock()
		c := m[h.ServerName]
		mu.RUnlock()
		if c == nil {
			return nil, fmt.Errorf("no certificate for %q", h.ServerName)
		}
		return c, nil
	}
}

func newTLSCache(tb testing.TB, certs map[string]*tls.Certificate) (getter, func()) {
	ld := tlscache.NewStatic()
	for n, c := range certs {
		if err := ld.Add(c, n); err != nil {
			tb.Fatal(err)
		}
	}
	c, err := tlscache.New(ld, tlscache.WithMaxEntries(len(certs)))
	if err != nil {
		tb.Fatal(err)
	}
	return c.GetCertificate, func() { c.Close() }
}

// newCertmagic is certmagic with its own cache, preloaded through
// CacheUnmanagedTLSCertificate (no ACME, no storage reads on a hit), and a
// silent logger so both sides log nothing.
func newCertmagic(tb testing.TB, certs map[string]*tls.Certificate, od *certmagic.OnDemandConfig) (getter, func()) {
	var cfg *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return cfg, nil },
		Logger:           zap.NewNop(),
	})
	cfg = certmagic.New(cache, certmagic.Config{
		Logger:   zap.NewNop(),
		Storage:  &certmagic.FileStorage{Path: tb.TempDir()},
		OnDemand: od,
	})
	for _, c := range certs {
		if _, err := cfg.CacheUnmanagedTLSCertificate(context.Background(), *c, nil); err != nil {
			tb.Fatal(err)
		}
	}
	return cfg.GetCertificate, cache.Stop
}

func hello(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{ServerName: name, SupportedVersions: []uint16{tls.VersionTLS13}}
}

// BenchmarkHit is a certificate lookup that hits, from GOMAXPROCS
// goroutines (-cpu 1,2), over 1 and 1,000 names, each its own certificate.
func BenchmarkHit(b *testing.B) {
	for _, n := range []int{1, 1000} {
		certs := map[string]*tls.Certificate{}
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("host%d.example.test", i)
			certs[names[i]] = newCert(b, names[i])
		}
		hellos := make([]*tls.ClientHelloInfo, n)
		for i, nm := range names {
			hellos[i] = hello(nm)
		}
		tc, closeTC := newTLSCache(b, certs)
		cm, closeCM := newCertmagic(b, certs, nil)
		impls := []struct {
			name string
			get  getter
		}{{"tlscache", tc}, {"certmagic", cm}, {"rwmutex-map", rwMap(certs)}}
		for _, impl := range impls {
			for _, h := range hellos { // warm, and check every name is served
				c, err := impl.get(h)
				if err != nil || c == nil || c.Leaf.DNSNames[0] != h.ServerName {
					b.Fatalf("%s: GetCertificate(%q) = %v, %v", impl.name, h.ServerName, c, err)
				}
			}
			b.Run(fmt.Sprintf("names=%d/impl=%s", n, impl.name), func(b *testing.B) {
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
		closeTC()
		closeCM()
	}
}

// manager is certmagic's hook for certificates it does not manage itself
// (OnDemandConfig.Managers): the counterpart of tlscache's Loader.
type manager struct{ load func() *tls.Certificate }

func (m manager) GetCertificate(context.Context, *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return m.load(), nil
}

const stormSize = 10000

// storm runs stormSize concurrent lookups of one uncached name and
// returns the loads it caused and how many lookups failed.
func storm(get getter, loads *atomic.Int64) (int64, int64) {
	before := loads.Load()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range stormSize {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if c, err := get(hello("storm.test")); err != nil || c == nil {
				failed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return loads.Load() - before, failed.Load()
}

// stormCase builds a fresh lookup whose loader counts its calls. The
// RWMutex map fills itself on a miss, as servers write it.
// A load takes delay (0: returns at once; a read from disk or a secret
// store takes milliseconds).
func stormCase(tb testing.TB, impl string, cert *tls.Certificate, loads *atomic.Int64, delay time.Duration) (getter, func()) {
	load := func() *tls.Certificate {
		loads.Add(1)
		if delay > 0 {
			time.Sleep(delay)
		}
		return cert
	}
	switch impl {
	case "tlscache":
		c, err := tlscache.New(tlscache.LoaderFunc(func(context.Context, string) (*tls.Certificate, error) {
			return load(), nil
		}))
		if err != nil {
			tb.Fatal(err)
		}
		return c.GetCertificate, func() { c.Close() }
	case "certmagic":
		return newCertmagic(tb, nil, &certmagic.OnDemandConfig{Managers: []certmagic.Manager{manager{load}}})
	case "rwmutex-map":
		var mu sync.RWMutex
		m := map[string]*tls.Certificate{}
		return func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			mu.RLock()
			c := m[h.ServerName]
			mu.RUnlock()
			if c != nil {
				return c, nil
			}
			c = load()
			mu.Lock()
			m[h.ServerName] = c
			mu.Unlock()
			return c, nil
		}, func() {}
	}
	tb.Fatalf("unknown impl %q", impl)
	return nil, nil
}

// BenchmarkMissStorm is 10,000 goroutines looking up one uncached name at
// once, per iteration, on a fresh cache, with a loader that returns at
// once (load=0) or after 1 ms (load=1ms); loads/storm is how many times
// the loader (certmagic: its external Manager) ran, then-loads/storm how
// many more a second storm on the same, now warm, cache caused.
func BenchmarkMissStorm(b *testing.B) {
	cert := newCert(b, "storm.test")
	for _, delay := range []time.Duration{0, time.Millisecond} {
		for _, impl := range []string{"tlscache", "certmagic", "rwmutex-map"} {
			benchStorm(b, impl, cert, delay)
		}
	}
}

func benchStorm(b *testing.B, impl string, cert *tls.Certificate, delay time.Duration) {
	b.Run(fmt.Sprintf("load=%v/impl=%s", delay, impl), func(b *testing.B) {
		var loads atomic.Int64
		var first, second, failed int64
		for b.Loop() {
			b.StopTimer()
			get, stop := stormCase(b, impl, cert, &loads, delay)
			b.StartTimer()
			l, f := storm(get, &loads)
			b.StopTimer()
			l2, f2 := storm(get, &loads)
			stop()
			first += l
			second += l2
			failed += f + f2
			b.StartTimer()
		}
		n := float64(b.N)
		b.ReportMetric(float64(first)/n, "loads/storm")
		b.ReportMetric(float64(second)/n, "then-loads/storm")
		b.ReportMetric(float64(failed)/n, "failed/storm")
	})
}

// TestStormLoads checks the storm setup of every implementation and that
// tlscache loads once per storm (the others are measured, not asserted).
func TestStormLoads(t *testing.T) {
	cert := newCert(t, "storm.test")
	for _, impl := range []string{"tlscache", "certmagic", "rwmutex-map"} {
		var loads atomic.Int64
		get, stop := stormCase(t, impl, cert, &loads, 0)
		l, f := storm(get, &loads)
		stop()
		t.Logf("%s: %d loads, %d failed lookups in a storm of %d", impl, l, f, stormSize)
		if f != 0 {
			t.Errorf("%s: %d of %d lookups failed", impl, f, stormSize)
		}
		if impl == "tlscache" && l != 1 {
			t.Errorf("tlscache: a storm of %d caused %d loads, want 1", stormSize, l)
		}
	}
}
