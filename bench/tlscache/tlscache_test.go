package tlscachebench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/tlscache"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type pair struct {
	certPEM, keyPEM []byte
	pool            *x509.CertPool
}

func newPair(tb testing.TB, names ...string) pair {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	p := pair{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pool:    x509.NewCertPool(),
	}
	p.pool.AppendCertsFromPEM(p.certPEM)
	return p
}

// serverConfigs returns the server-side setups compared, all serving p.
func serverConfigs(tb testing.TB, p pair) (map[string]*tls.Config, func()) {
	static, err := tls.X509KeyPair(p.certPEM, p.keyPEM)
	if err != nil {
		tb.Fatal(err)
	}
	ld, err := tlscache.StaticPEM(p.certPEM, p.keyPEM)
	if err != nil {
		tb.Fatal(err)
	}
	cache, err := tlscache.New(ld)
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.RWMutex
	m := map[string]*tls.Certificate{}
	rw := func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		mu.RLock()
		c := m[h.ServerName]
		mu.RUnlock()
		if c != nil {
			return c, nil
		}
		cert, err := tls.X509KeyPair(p.certPEM, p.keyPEM)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		m[h.ServerName] = &cert
		mu.Unlock()
		return &cert, nil
	}
	parse := func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert, err := tls.X509KeyPair(p.certPEM, p.keyPEM)
		return &cert, err
	}
	base := func() *tls.Config { return &tls.Config{SessionTicketsDisabled: true} }
	cfgs := map[string]*tls.Config{}
	cfgs["static-certificates"] = base()
	cfgs["static-certificates"].Certificates = []tls.Certificate{static}
	cfgs["tlscache"] = base()
	cfgs["tlscache"].GetCertificate = cache.GetCertificate
	cfgs["rwmutex-map"] = base()
	cfgs["rwmutex-map"].GetCertificate = rw
	cfgs["parse-per-handshake"] = base()
	cfgs["parse-per-handshake"].GetCertificate = parse
	return cfgs, func() { cache.Close() }
}

// server accepts connections on 127.0.0.1, completes the handshake, sends
// one byte and closes.
func server(tb testing.TB, cfg *tls.Config) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(conn, cfg)
				if tc.Handshake() == nil {
					tc.Write([]byte{1})
				}
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close(); wg.Wait() }
}

func dialOnce(addr, sni string, pool *x509.CertPool) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(conn, &tls.Config{ServerName: sni, RootCAs: pool})
	if err := tc.Handshake(); err != nil {
		return err
	}
	var b [1]byte
	_, err = io.ReadFull(tc, b[:])
	return err
}

var impls = []string{"static-certificates", "tlscache", "rwmutex-map", "parse-per-handshake"}

// BenchmarkHandshake measures full (non-resumed) TLS 1.3 handshakes over
// loopback TCP, client and server in this process, with each way of
// choosing the server certificate. ns/op is per handshake; compare the
// impl=tlscache row with impl=static-certificates.
func BenchmarkHandshake(b *testing.B) {
	p := newPair(b, "bench.test")
	cfgs, done := serverConfigs(b, p)
	defer done()
	for _, impl := range impls {
		b.Run("impl="+impl, func(b *testing.B) {
			addr, stop := server(b, cfgs[impl])
			defer stop()
			if err := dialOnce(addr, "bench.test", p.pool); err != nil { // warm the caches
				b.Fatal(err)
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := dialOnce(addr, "bench.test", p.pool); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkHandshakePaired interleaves the setups: each iteration runs one
// full handshake against each, in an order that rotates, and times each
// handshake on its own. Machine-wide drift (other processes, frequency)
// then hits every setup alike, and medians ignore the handshakes a busy
// scheduler stalled, so the reported ratios are far tighter than comparing
// separate sub-benchmarks on a shared machine. Metrics: <impl>-ns/median
// (the median handshake) and <impl>/static (its ratio to a static
// tls.Config.Certificates).
func BenchmarkHandshakePaired(b *testing.B) {
	p := newPair(b, "bench.test")
	cfgs, done := serverConfigs(b, p)
	defer done()
	addrs := make([]string, len(impls))
	for i, impl := range impls {
		addr, stop := server(b, cfgs[impl])
		defer stop()
		if err := dialOnce(addr, "bench.test", p.pool); err != nil {
			b.Fatal(err)
		}
		addrs[i] = addr
	}
	samples := make([][]time.Duration, len(impls))
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		for k := range impls {
			i := (n + k) % len(impls)
			start := time.Now()
			if err := dialOnce(addrs[i], "bench.test", p.pool); err != nil {
				b.Fatal(err)
			}
			samples[i] = append(samples[i], time.Since(start))
		}
	}
	medians := make([]float64, len(impls))
	for i, impl := range impls {
		slices.Sort(samples[i])
		medians[i] = float64(samples[i][len(samples[i])/2])
		b.ReportMetric(medians[i], impl+"-ns/median")
		if i > 0 {
			b.ReportMetric(medians[i]/medians[0], impl+"/static")
		}
	}
}

// TestHandshakeSmoke keeps the harness working in CI: one handshake per
// setup.
func TestHandshakeSmoke(t *testing.T) {
	p := newPair(t, "bench.test")
	cfgs, done := serverConfigs(t, p)
	defer done()
	for _, impl := range impls {
		addr, stop := server(t, cfgs[impl])
		if err := dialOnce(addr, "bench.test", p.pool); err != nil {
			t.Errorf("handshake with %s: %v", impl, err)
		}
		stop()
	}
}

// flood sends n random SNI names through get and returns the largest
// entry count seen and the live heap growth after a GC.
func flood(n int, get func(*tls.ClientHelloInfo) (*tls.Certificate, error), entries func() int) (maxEntries int, heapGrowth int64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := int64(ms.HeapAlloc)
	h := &tls.ClientHelloInfo{}
	for i := range n {
		h.ServerName = fmt.Sprintf("%016x.flood.test", mrand.Uint64())
		get(h)
		if i%4096 == 0 {
			maxEntries = max(maxEntries, entries())
		}
	}
	maxEntries = max(maxEntries, entries())
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return maxEntries, int64(ms.HeapAlloc) - before
}

const floodBound = 10000

type floodCase struct {
	name string
	run  func(n int) (maxEntries int, heap int64, done func())
}

func floodCases(cert *tls.Certificate) []floodCase {
	okLoader := tlscache.LoaderFunc(func(context.Context, string) (*tls.Certificate, error) { return cert, nil })
	failLoader := tlscache.LoaderFunc(func(_ context.Context, name string) (*tls.Certificate, error) {
		return nil, fmt.Errorf("no tenant %q: %w", name, tlscache.ErrNotFound)
	})
	cacheCase := func(ld tlscache.Loader) func(n int) (int, int64, func()) {
		return func(n int) (int, int64, func()) {
			c, err := tlscache.New(ld, tlscache.WithMaxEntries(floodBound), tlscache.WithMaxNegativeEntries(floodBound))
			if err != nil {
				panic(err) // constant, valid options
			}
			m, heap := flood(n, c.GetCertificate, func() int { s := c.Stats(); return s.Entries + s.NegativeEntries })
			return m, heap, func() { c.Close() }
		}
	}
	return []floodCase{
		{"loader=ok/impl=tlscache", cacheCase(okLoader)},
		{"loader=notfound/impl=tlscache", cacheCase(failLoader)},
		{"loader=ok/impl=rwmutex-map", func(n int) (int, int64, func()) {
			// What naive code does: cache whatever the loader returned,
			// keyed by SNI, without a bound.
			var mu sync.RWMutex
			m := map[string]*tls.Certificate{}
			get := func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
				mu.RLock()
				c := m[h.ServerName]
				mu.RUnlock()
				if c != nil {
					return c, nil
				}
				mu.Lock()
				m[h.ServerName] = cert
				mu.Unlock()
				return cert, nil
			}
			me, heap := flood(n, get, func() int { mu.RLock(); defer mu.RUnlock(); return len(m) })
			return me, heap, func() { clear(m) }
		}},
	}
}

// BenchmarkSNIFlood sends b.N random names (run it with
// -benchtime=1000000x for the million-name flood) and reports the most
// entries held (positive + negative for tlscache, bound 10,000 each) and
// the live heap growth in bytes after a GC.
func BenchmarkSNIFlood(b *testing.B) {
	p := newPair(b, "flood.test")
	cert, err := tls.X509KeyPair(p.certPEM, p.keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	for _, fc := range floodCases(&cert) {
		b.Run(fc.name, func(b *testing.B) {
			b.ReportAllocs()
			maxE, heap, done := fc.run(b.N)
			b.StopTimer()
			done()
			b.ReportMetric(float64(maxE), "max-entries")
			b.ReportMetric(float64(heap), "heap-bytes")
		})
	}
}

// TestSNIFloodBounded is the CI-sized flood: 30,000 names against bounds
// of 10,000.
func TestSNIFloodBounded(t *testing.T) {
	p := newPair(t, "flood.test")
	cert, _ := tls.X509KeyPair(p.certPEM, p.keyPEM)
	for _, fc := range floodCases(&cert)[:2] {
		maxE, _, done := fc.run(3 * floodBound)
		done()
		if maxE > floodBound {
			t.Errorf("%s: %d entries held, bound %d", fc.name, maxE, floodBound)
		}
		if maxE < floodBound/2 {
			t.Errorf("%s: only %d entries held; the flood did not reach the cache", fc.name, maxE)
		}
	}
}
