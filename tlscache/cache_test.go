package tlscache_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/tlscache"
)

// TestHandshake runs real TLS handshakes on 127.0.0.1 against a cache
// holding ECDSA and RSA certificates, exact and wildcard, over TLS 1.2 and
// 1.3, and checks the client saw the certificate meant for its SNI.
func TestHandshake(t *testing.T) {
	exact := newCert(t, ecdsaKey, time.Now().Add(24*time.Hour), "api.example.com")
	wild := newCert(t, rsaKey, time.Now().Add(24*time.Hour), "*.example.com")
	rsaExact := newCert(t, rsaKey, time.Now().Add(24*time.Hour), "rsa.test")
	ld := tlscache.NewStatic()
	for _, c := range []testCert{exact, wild, rsaExact} {
		if err := ld.AddPEM(c.certPEM, c.keyPEM); err != nil {
			t.Fatal(err)
		}
	}
	roots := x509.NewCertPool()
	for _, c := range []testCert{exact, wild, rsaExact} {
		roots.AppendCertsFromPEM(c.certPEM)
	}
	cache := mustNew(t, ld)
	defer cache.Close()
	addr, stop := serveTLS(t, &tls.Config{GetCertificate: cache.GetCertificate})
	defer stop()

	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, tc := range []struct {
			sni  string
			want testCert
		}{
			{"api.example.com", exact},
			{"API.Example.com", exact},
			{"www.example.com", wild},
			{"other.example.com", wild},
			{"rsa.test", rsaExact},
		} {
			t.Run(fmt.Sprintf("%s/%x", tc.sni, v), func(t *testing.T) {
				cs, err := handshake(t, addr, tc.sni, roots, &tls.Config{MinVersion: v, MaxVersion: v})
				if err != nil {
					t.Fatalf("handshake(%q) = %v", tc.sni, err)
				}
				got := cs.PeerCertificates[0].SerialNumber
				want := tc.want.cert.Certificate[0]
				if !bytesEqual(cs.PeerCertificates[0].Raw, want) {
					t.Errorf("handshake(%q) served serial %v, want the certificate for %v", tc.sni, got, tc.want.cert.Leaf)
				}
			})
		}
	}
	// A name no certificate covers fails the handshake; "*.example.com"
	// covers exactly one label.
	for _, sni := range []string{"a.b.example.com", "example.com", "unknown.test"} {
		if _, err := handshake(t, addr, sni, roots, nil); err == nil {
			t.Errorf("handshake(%q) succeeded, want failure", sni)
		}
	}
	st := cache.Stats()
	// One entry per name served: api, www, other, rsa.test.
	if st.Entries != 4 {
		t.Errorf("Stats().Entries = %d, want 4", st.Entries)
	}
	if st.Hits == 0 {
		t.Errorf("Stats().Hits = 0, want > 0")
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// TestHitSharesParsedLeaf checks hits return one pointer with Leaf parsed,
// and do not allocate.
func TestHitSharesParsedLeaf(t *testing.T) {
	c1 := yearCert(t, "a.test")
	ld := newCountingLoader()
	ld.set("a.test", c1.cert)
	cache := mustNew(t, ld)
	defer cache.Close()
	h := hello("a.test")
	first, err := cache.GetCertificate(h)
	if err != nil {
		t.Fatal(err)
	}
	if first.Leaf == nil {
		t.Fatal("GetCertificate returned a certificate without Leaf")
	}
	if first.Leaf.Subject.CommonName != "a.test" {
		t.Errorf("Leaf.Subject.CommonName = %q, want %q", first.Leaf.Subject.CommonName, "a.test")
	}
	allocs := testing.AllocsPerRun(1000, func() {
		got, err := cache.GetCertificate(h)
		if err != nil || got != first {
			t.Fatalf("GetCertificate(%q) = %p, %v, want %p, nil", h.ServerName, got, err, first)
		}
	})
	if allocs != 0 {
		t.Errorf("hit allocates %v times, want 0", allocs)
	}
	if n := ld.count("a.test"); n != 1 {
		t.Errorf("loads of a.test = %d, want 1", n)
	}
	if st := cache.Stats(); st.Hits < 1000 || st.Misses != 1 {
		t.Errorf("Stats() hits=%d misses=%d, want >=1000 and 1", st.Hits, st.Misses)
	}
}

// TestWildcardSiblings: names covered by one wildcard certificate each get
// an entry sharing the one parsed certificate, and invalidating the
// pattern drops them all.
func TestWildcardSiblings(t *testing.T) {
	wild := yearCert(t, "*.example.com")
	ld := tlscache.NewStatic()
	if err := ld.Add(wild.cert); err != nil {
		t.Fatal(err)
	}
	var loads atomic.Int64
	cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		loads.Add(1)
		return ld.Load(ctx, name)
	}))
	defer cache.Close()
	var first *tls.Certificate
	for _, n := range []string{"a.example.com", "b.example.com", "C.example.com", "a.example.com"} {
		c, err := cache.GetCertificate(hello(n))
		if err != nil {
			t.Fatalf("GetCertificate(%q) = %v", n, err)
		}
		if first == nil {
			first = c
		}
		if c != first {
			t.Errorf("GetCertificate(%q) = %p, want the shared %p", n, c, first)
		}
	}
	if n := loads.Load(); n != 3 {
		t.Errorf("loads = %d, want 3 (one per name)", n)
	}
	for _, n := range []string{"example.com", "a.b.example.com"} {
		if _, err := cache.GetCertificate(hello(n)); !errors.Is(err, tlscache.ErrNotFound) {
			t.Errorf("GetCertificate(%q) = %v, want ErrNotFound", n, err)
		}
	}
	cache.Invalidate("*.Example.com")
	if st := cache.Stats(); st.Entries != 0 || st.Evictions.Invalidated != 3 {
		t.Errorf("after Invalidate(*.example.com): entries=%d invalidated=%d, want 0 and 3", st.Entries, st.Evictions.Invalidated)
	}
}

// TestExactBeatsWildcard: with both an exact and a wildcard certificate
// cached, every spelling of the exact name gets the exact one.
func TestExactBeatsWildcard(t *testing.T) {
	exact := yearCert(t, "a.example.com")
	wild := yearCert(t, "*.example.com")
	ld := tlscache.NewStatic()
	ld.Add(exact.cert)
	ld.Add(wild.cert)
	cache := mustNew(t, ld)
	defer cache.Close()
	for _, n := range []string{"b.example.com", "a.example.com", "A.example.com", "a.example.com.", "B.Example.Com"} {
		got, err := cache.GetCertificate(hello(n))
		want := wild
		if strings.EqualFold(strings.TrimSuffix(n, "."), "a.example.com") {
			want = exact
		}
		if err != nil || !bytesEqual(got.Certificate[0], want.cert.Certificate[0]) {
			t.Errorf("GetCertificate(%q) = %v, want the certificate for %v", n, err, want.cert.Leaf)
		}
	}
}

// TestMissStorm: 10,000 handshakes miss on one name at once; the loader
// runs exactly once and every handshake gets its certificate.
func TestMissStorm(t *testing.T) {
	const n = 10000
	c1 := yearCert(t, "storm.test")
	release := make(chan struct{})
	var loads atomic.Int64
	cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		loads.Add(1)
		<-release
		return c1.cert, nil
	}))
	defer cache.Close()
	var wg sync.WaitGroup
	var bad atomic.Int64
	var ready sync.WaitGroup
	ready.Add(n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			c, err := cache.GetCertificate(hello("storm.test"))
			if err != nil || c == nil || c.Leaf == nil {
				bad.Add(1)
			}
		}()
	}
	ready.Wait()
	// Let every goroutine reach the cache before the load finishes.
	eventually(t, "all handshakes to miss", func() bool { return cache.Stats().Misses+cache.Stats().Hits >= n || cache.Stats().Waits >= n-1 })
	close(release)
	wg.Wait()
	if got := loads.Load(); got != 1 {
		t.Errorf("loads = %d, want 1", got)
	}
	if b := bad.Load(); b != 0 {
		t.Errorf("%d handshakes got no certificate", b)
	}
}

// TestWaiterHonoursContext: a waiting handshake whose context ends returns
// at once; the load goes on for the others, on its detached context.
func TestWaiterHonoursContext(t *testing.T) {
	c1 := yearCert(t, "slow.test")
	release := make(chan struct{})
	var loadCtxErr atomic.Value
	cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		<-release
		loadCtxErr.Store(fmt.Sprint(ctx.Err()))
		return c1.cert, nil
	}))
	defer cache.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() {
		cancelled <- handshakeCtx(ctx, cache, "slow.test")
	}()
	other := make(chan error, 1)
	go func() {
		other <- handshakeCtx(context.Background(), cache, "slow.test")
	}()
	eventually(t, "both handshakes to miss", func() bool { return cache.Stats().Misses == 2 })
	cancel()
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled waiter did not return")
	}
	close(release)
	if err := <-other; err != nil {
		t.Errorf("other waiter got %v, want nil", err)
	}
	if got := loadCtxErr.Load(); got != "<nil>" {
		t.Errorf("loader's context error = %v, want <nil> (detached from handshakes)", got)
	}
}

// handshakeCtx runs a server handshake over net.Pipe with ctx, so crypto/tls
// builds a ClientHelloInfo whose Context() is ctx, and returns the error
// GetCertificate gave.
func handshakeCtx(ctx context.Context, cache *tlscache.Cache, sni string) error {
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	var getErr error
	srv := tls.Server(sc, &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := cache.GetCertificate(h)
		getErr = err
		return c, err
	}})
	go func() {
		_ = tls.Client(cc, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
		cc.Close()
	}()
	hctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	_ = srv.HandshakeContext(hctx)
	return getErr
}

func TestLoaderErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		var mode atomic.Value
		mode.Store("error")
		c1 := yearCert(t, "x.test")
		block := make(chan struct{})
		cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
			switch mode.Load() {
			case "error":
				return nil, errBoom
			case "panic":
				panic("loader bug")
			case "hang":
				<-block // ignores ctx on purpose
				return nil, errBoom
			case "nil":
				return nil, nil
			case "garbage":
				return &tls.Certificate{Certificate: [][]byte{[]byte("not DER")}}, nil
			}
			return c1.cert, nil
		}), tlscache.WithNow(clk.Now), tlscache.WithLoadTimeout(50*time.Millisecond),
			tlscache.WithNegativeTTL(time.Second, 8*time.Second))
		defer cache.Close()

		for _, tc := range []struct {
			mode string
			want error
		}{
			{"error", errBoom},
			{"panic", tlscache.ErrLoaderPanic},
			{"hang", tlscache.ErrLoadTimeout},
			{"nil", tlscache.ErrInvalidCertificate},
			{"garbage", tlscache.ErrInvalidCertificate},
		} {
			// No t.Run: a synctest bubble's T cannot run subtests.
			func() {
				mode.Store(tc.mode)
				name := tc.mode + ".test"
				_, err := cache.GetCertificate(hello(name))
				if !errors.Is(err, tc.want) {
					t.Errorf("GetCertificate(%q) = %v, want %v", name, err, tc.want)
					return
				}
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %q", err, name)
				}
				// Remembered: the same error without a second load.
				before := cache.Stats()
				_, err2 := cache.GetCertificate(hello(name))
				after := cache.Stats()
				if !errors.Is(err2, tc.want) || after.Loads != before.Loads || after.NegativeHits != before.NegativeHits+1 {
					t.Errorf("second GetCertificate(%q) = %v with %d new loads, %d new negative hits, want a negative hit",
						name, err2, after.Loads-before.Loads, after.NegativeHits-before.NegativeHits)
				}
			}()
		}
		close(block)
		st := cache.Stats()
		if st.LoadErrors != 5 || st.LoadTimeouts != 1 {
			t.Errorf("Stats() LoadErrors=%d LoadTimeouts=%d, want 5 and 1", st.LoadErrors, st.LoadTimeouts)
		}

		// Backoff: consecutive failures of one name are remembered longer.
		mode.Store("error")
		loadsAfter := func(d time.Duration) uint64 {
			clk.Advance(d)
			cache.GetCertificate(hello("error.test"))
			return cache.Stats().Loads
		}
		l0 := cache.Stats().Loads
		if got := loadsAfter(1300 * time.Millisecond); got != l0+1 { // first TTL ≤ 1.25 s
			t.Errorf("after first negative TTL: loads = %d, want %d", got, l0+1)
		}
		if got := loadsAfter(1300 * time.Millisecond); got != l0+1 { // second TTL ≥ 1.5 s
			t.Errorf("within second negative TTL: loads = %d, want %d", got, l0+1)
		}
		if got := loadsAfter(1300 * time.Millisecond); got != l0+2 { // second TTL ≤ 2.5 s
			t.Errorf("after second negative TTL: loads = %d, want %d", got, l0+2)
		}
		// Success clears the memory of failures.
		mode.Store("ok")
		clk.Advance(10 * time.Second)
		if _, err := cache.GetCertificate(hello("error.test")); err != nil {
			t.Errorf("GetCertificate after recovery = %v", err)
		}
	})
}

func TestExpiredCertificateRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		old := newCert(t, ecdsaKey, clk.Now().Add(time.Minute), "old.test")
		ld := newCountingLoader()
		ld.set("old.test", old.cert)
		cache := mustNew(t, ld, tlscache.WithNow(clk.Now))
		defer cache.Close()
		clk.Advance(2 * time.Minute)
		if _, err := cache.GetCertificate(hello("old.test")); !errors.Is(err, tlscache.ErrExpired) {
			t.Errorf("GetCertificate(%q) = %v, want ErrExpired", "old.test", err)
		}
	})
}

// TestRefreshAhead: with an injected clock, the entry is reloaded in the
// background before it expires while the old certificate keeps serving;
// when refreshes fail it is dropped at expiry, never served after.
func TestRefreshAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		v1 := newCert(t, ecdsaKey, clk.Now().Add(48*time.Hour), "r.test")
		v2 := newCert(t, rsaKey, clk.Now().Add(48*time.Hour), "r.test")
		ld := newCountingLoader()
		ld.set("r.test", v1.cert)
		cache := mustNew(t, ld, tlscache.WithNow(clk.Now), tlscache.WithTTL(time.Hour),
			tlscache.WithRefreshAhead(10*time.Minute), tlscache.WithNegativeTTL(time.Minute, time.Minute))
		defer cache.Close()
		get := func() *tls.Certificate {
			t.Helper()
			c, err := cache.GetCertificate(hello("r.test"))
			if err != nil {
				t.Fatalf("GetCertificate(%q) = %v", "r.test", err)
			}
			return c
		}
		if !bytesEqual(get().Certificate[0], v1.cert.Certificate[0]) {
			t.Fatal("first load did not serve v1")
		}
		ld.set("r.test", v2.cert)
		// Refresh starts 10-15 minutes before expiry at 60 minutes.
		clk.Advance(44 * time.Minute)
		if n := ld.count("r.test"); n != 1 {
			t.Errorf("loads at 44m = %d, want 1 (refresh not due)", n)
		}
		clk.Advance(6 * time.Minute) // 50m: due
		eventually(t, "refresh to land", func() bool { return bytesEqual(get().Certificate[0], v2.cert.Certificate[0]) })
		if st := cache.Stats(); st.Refreshes != 1 || st.Misses != 1 {
			t.Errorf("Stats() refreshes=%d misses=%d, want 1 and 1", st.Refreshes, st.Misses)
		}

		// Now refreshes fail: the old (v2) certificate serves until expiry.
		ld.fail("r.test", errBoom)
		clk.Advance(50 * time.Minute) // 100m: v2 loaded at 50m, refresh due by 100m
		eventually(t, "failed refresh", func() bool { return cache.Stats().RefreshErrors >= 1 })
		if !bytesEqual(get().Certificate[0], v2.cert.Certificate[0]) {
			t.Error("old certificate not served while refresh fails")
		}
		clk.Advance(10 * time.Minute) // 110m: past v2's expiry at 110m
		eventually(t, "expiry", func() bool { return cache.Stats().Evictions.Expired == 1 })
		if _, err := cache.GetCertificate(hello("r.test")); !errors.Is(err, errBoom) {
			t.Errorf("GetCertificate after expiry = %v, want the loader's error", err)
		}
	})
}

// TestExpiryFollowsNotAfter: a certificate that expires before the TTL is
// dropped skew before its NotAfter.
func TestExpiryFollowsNotAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		short := newCert(t, ecdsaKey, clk.Now().Add(30*time.Minute), "s.test")
		ld := newCountingLoader()
		ld.set("s.test", short.cert)
		cache := mustNew(t, ld, tlscache.WithNow(clk.Now), tlscache.WithTTL(24*time.Hour),
			tlscache.WithSkew(5*time.Minute), tlscache.WithRefreshAhead(-1))
		defer cache.Close()
		if _, err := cache.GetCertificate(hello("s.test")); err != nil {
			t.Fatal(err)
		}
		clk.Advance(24*time.Minute + 59*time.Second)
		if st := cache.Stats(); st.Entries != 1 {
			t.Fatalf("entries at 24m59s = %d, want 1", st.Entries)
		}
		clk.Advance(time.Second)
		if st := cache.Stats(); st.Entries != 0 || st.Evictions.Expired != 1 {
			t.Errorf("at 25m: entries=%d expired=%d, want 0 and 1", st.Entries, st.Evictions.Expired)
		}
		if _, err := cache.GetCertificate(hello("s.test")); err != nil {
			t.Fatal(err)
		}
		if n := ld.count("s.test"); n != 2 {
			t.Errorf("loads = %d, want 2", n)
		}
	})
}

// TestSNIFlood sends random names, some loadable and some not, and checks
// entries and remembered failures stay within their bounds while a busy
// name stays cached.
func TestSNIFlood(t *testing.T) {
	const maxE, maxN, names = 200, 300, 10000
	good := yearCert(t, "*.good.test")
	var loads atomic.Int64
	cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		loads.Add(1)
		if strings.HasSuffix(name, ".ok.test") || name == "hot.test" {
			return good.cert, nil // does not cover the name: cached under the exact name
		}
		return nil, tlscache.ErrNotFound
	}), tlscache.WithMaxEntries(maxE), tlscache.WithMaxNegativeEntries(maxN))
	defer cache.Close()
	for i := range names {
		if i%10 == 0 {
			if _, err := cache.GetCertificate(hello("hot.test")); err != nil {
				t.Fatal(err)
			}
		}
		suffix := ".bad.test"
		if i%2 == 0 {
			suffix = ".ok.test"
		}
		cache.GetCertificate(hello(fmt.Sprintf("%x%s", rand.Uint64(), suffix)))
		if i%1000 == 0 {
			if st := cache.Stats(); st.Entries > maxE || st.NegativeEntries > maxN {
				t.Fatalf("after %d names: entries=%d negative=%d, bounds %d and %d", i, st.Entries, st.NegativeEntries, maxE, maxN)
			}
		}
	}
	st := cache.Stats()
	if st.Entries != maxE || st.NegativeEntries != maxN {
		t.Errorf("entries=%d negative=%d, want both full at %d and %d", st.Entries, st.NegativeEntries, maxE, maxN)
	}
	if st.Evictions.Capacity < names/2-maxE || st.NegativeEvictions < names/2-maxN {
		t.Errorf("evictions capacity=%d negative=%d, want ≥ %d and ≥ %d", st.Evictions.Capacity, st.NegativeEvictions, names/2-maxE, names/2-maxN)
	}
	// SIEVE keeps the name hit between one-off names.
	if got, want := loads.Load(), int64(names+1); got != want {
		t.Errorf("loads = %d, want %d (one per random name, one for hot.test)", got, want)
	}
}

func TestInvalidate(t *testing.T) {
	v1 := yearCert(t, "i.test")
	v2 := yearCert(t, "i.test")
	ld := newCountingLoader()
	ld.set("i.test", v1.cert)
	cache := mustNew(t, ld)
	defer cache.Close()
	got, _ := cache.GetCertificate(hello("i.test"))
	if !bytesEqual(got.Certificate[0], v1.cert.Certificate[0]) {
		t.Fatal("not v1")
	}
	ld.set("i.test", v2.cert)
	cache.Invalidate("I.test.")
	got, _ = cache.GetCertificate(hello("i.test"))
	if !bytesEqual(got.Certificate[0], v2.cert.Certificate[0]) {
		t.Error("Invalidate did not cause a reload")
	}
	ld.fail("i.test", errBoom)
	cache.Invalidate("i.test")
	cache.GetCertificate(hello("i.test"))
	ld.set("i.test", v1.cert)
	cache.Invalidate("i.test") // also forgets the failure
	if _, err := cache.GetCertificate(hello("i.test")); err != nil {
		t.Errorf("GetCertificate after Invalidate of a failure = %v", err)
	}
}

func TestDefaultName(t *testing.T) {
	c1 := yearCert(t, "default.test")
	ld := newCountingLoader()
	ld.set("default.test", c1.cert)
	cache := mustNew(t, ld, tlscache.WithDefaultName("Default.Test"))
	defer cache.Close()
	if _, err := cache.GetCertificate(hello("")); err != nil {
		t.Errorf("GetCertificate(no SNI) = %v", err)
	}
}

func TestClose(t *testing.T) {
	c1 := yearCert(t, "c.test")
	ld := newCountingLoader()
	ld.set("c.test", c1.cert)
	started := make(chan struct{})
	cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		if name == "block.test" {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return ld.Load(ctx, name)
	}))
	if _, err := cache.GetCertificate(hello("c.test")); err != nil {
		t.Fatal(err)
	}
	waiter := make(chan error, 1)
	go func() {
		_, err := cache.GetCertificate(hello("block.test"))
		waiter <- err
	}()
	<-started
	if err := cache.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waiter; !errors.Is(err, tlscache.ErrClosed) {
		t.Errorf("waiter during Close got %v, want ErrClosed", err)
	}
	for _, n := range []string{"c.test", "new.test"} {
		if _, err := cache.GetCertificate(hello(n)); !errors.Is(err, tlscache.ErrClosed) {
			t.Errorf("GetCertificate(%q) after Close = %v, want ErrClosed", n, err)
		}
	}
	cache.Close()
	cache.Invalidate("c.test")
}

func TestStatsJSON(t *testing.T) {
	c1 := yearCert(t, "j.test")
	ld := newCountingLoader()
	ld.set("j.test", c1.cert)
	cache := mustNew(t, ld)
	defer cache.Close()
	cache.GetCertificate(hello("j.test"))
	b, err := json.Marshal(cache.Stats())
	if err != nil {
		t.Fatal(err)
	}
	var back tlscache.Stats
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Entries != 1 || back.Loads != 1 || back.LoadDuration.Count != 1 || len(back.LoadDuration.Buckets) == 0 {
		t.Errorf("Stats round trip = %s", b)
	}
}

// TestRefreshJitter: entries loaded together refresh at spread-out times,
// all inside the refresh window, so a fleet of names does not reload at
// once.
func TestRefreshJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 40
		clk := newTestClock()
		c1 := newCert(t, ecdsaKey, clk.Now().Add(48*time.Hour), "j.test")
		var loads atomic.Int64
		var deadlineOK atomic.Bool
		deadlineOK.Store(true)
		cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
			loads.Add(1)
			if d, ok := ctx.Deadline(); !ok || time.Until(d) > 3*time.Second {
				deadlineOK.Store(false)
			}
			return c1.cert, nil
		}), tlscache.WithNow(clk.Now), tlscache.WithTTL(time.Hour), tlscache.WithRefreshAhead(10*time.Minute),
			tlscache.WithLoadTimeout(3*time.Second))
		defer cache.Close()
		for i := range n {
			if _, err := cache.GetCertificate(hello(fmt.Sprintf("n%d.test", i))); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(45*time.Minute - 30*time.Second)
		if got := cache.Stats().Refreshes; got != 0 {
			t.Fatalf("refreshes before the window = %d, want 0", got)
		}
		steps := 0
		for range 11 { // 44m30s .. 50m, in 30 s steps
			before := cache.Stats().Refreshes
			clk.Advance(30 * time.Second)
			if cache.Stats().Refreshes > before {
				steps++
			}
		}
		eventually(t, "refreshes to finish", func() bool { return cache.Stats().InFlight == 0 })
		if got := cache.Stats().Refreshes; got != n {
			t.Errorf("refreshes by 50m = %d, want %d", got, n)
		}
		if steps < 4 {
			t.Errorf("refreshes fell in %d of 11 half-minute steps, want them spread over at least 4", steps)
		}
		if !deadlineOK.Load() {
			t.Error("loader context lacked the load timeout's deadline")
		}
	})
}

// TestLogger: unknown names (ErrNotFound, the client's doing) stay below
// Info so a random-SNI flood cannot flood the log; broken loads warn.
func TestLogger(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	ld := newCountingLoader()
	ld.fail("broken.test", errBoom)
	cache := mustNew(t, ld, tlscache.WithLogger(logger))
	defer cache.Close()
	for i := range 20 {
		cache.GetCertificate(hello(fmt.Sprintf("r%d.test", i)))
	}
	mu.Lock()
	if buf.Len() != 0 {
		t.Errorf("unknown names logged at Info or above:\n%s", buf.String())
	}
	mu.Unlock()
	cache.GetCertificate(hello("broken.test"))
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "broken.test") {
		t.Errorf("broken loader logged %q, want a WARN naming broken.test", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
