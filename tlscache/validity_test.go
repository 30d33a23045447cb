package tlscache_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/tlscache"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestExpiredNeverServedWhenTimerLate: the clock passes a cached
// certificate's NotAfter while no timer runs (a paused VM, a late timer).
// Once the cache has seen the new time, by any miss, a hit must not serve
// the expired certificate.
func TestExpiredNeverServedWhenTimerLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		short := newCert(t, ecdsaKey, clk.Now().Add(time.Hour), "e.test")
		other := yearCert(t, "other.test")
		ld := newCountingLoader()
		ld.set("e.test", short.cert)
		ld.set("other.test", other.cert)
		cache := mustNew(t, ld, tlscache.WithNow(clk.Now), tlscache.WithTTL(24*time.Hour),
			tlscache.WithRefreshAhead(-1))
		defer cache.Close()
		first, err := cache.GetCertificate(hello("e.test"))
		if err != nil {
			t.Fatal(err)
		}
		clk.Jump(2 * time.Hour) // past NotAfter; the expiry timer does not run
		if _, err := cache.GetCertificate(hello("other.test")); err != nil {
			t.Fatal(err)
		}
		for _, sni := range []string{"e.test", "E.test."} {
			got, err := cache.GetCertificate(hello(sni))
			if got == first {
				t.Fatalf("GetCertificate(%q) served the certificate that expired at %v, an hour ago", sni, first.Leaf.NotAfter)
			}
			if !errors.Is(err, tlscache.ErrExpired) {
				t.Errorf("GetCertificate(%q) = %v, want ErrExpired (the loader still returns the expired certificate)", sni, err)
			}
		}
		if st := cache.Stats(); st.Evictions.Expired != 1 || st.Entries != 1 {
			t.Errorf("Stats() expired=%d entries=%d, want 1 and 1 (other.test)", st.Evictions.Expired, st.Entries)
		}
	})
}

// TestExpiredNeverServedByTick: with no miss at all, the cache's own clock
// timer (armed while entries are cached) brings the hit path's clock up to
// date.
func TestExpiredNeverServedByTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		short := newCert(t, ecdsaKey, clk.Now().Add(time.Hour), "e.test")
		ld := newCountingLoader()
		ld.set("e.test", short.cert)
		cache := mustNew(t, ld, tlscache.WithNow(clk.Now), tlscache.WithTTL(24*time.Hour),
			tlscache.WithRefreshAhead(-1), tlscache.WithSkew(time.Second))
		defer cache.Close()
		first, err := cache.GetCertificate(hello("e.test"))
		if err != nil {
			t.Fatal(err)
		}
		// Still servable a minute before NotAfter.
		clk.Advance(59 * time.Minute)
		if got, err := cache.GetCertificate(hello("e.test")); got != first || err != nil {
			t.Fatalf("GetCertificate a minute before NotAfter = %v, want the cached certificate", err)
		}
		clk.Jump(61 * time.Minute)
		clk.Advance(time.Second) // runs the clock timer (and the late expiry timer)
		if got, _ := cache.GetCertificate(hello("e.test")); got == first {
			t.Fatal("GetCertificate served an expired certificate")
		}
	})
}

// TestExpiryStrictlyBeforeNotAfter: a certificate already inside the skew
// window is served, but the cache stops serving it a margin before its
// NotAfter, never at or after it.
func TestExpiryStrictlyBeforeNotAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		notAfter := clk.Now().Add(2 * time.Minute)
		c1 := newCert(t, ecdsaKey, notAfter, "w.test")
		ld := newCountingLoader()
		ld.set("w.test", c1.cert)
		cache := mustNew(t, ld, tlscache.WithNow(clk.Now), tlscache.WithSkew(5*time.Minute),
			tlscache.WithRefreshAhead(-1))
		defer cache.Close()
		first, err := cache.GetCertificate(hello("w.test"))
		if err != nil {
			t.Fatalf("GetCertificate inside the skew window = %v, want the certificate", err)
		}
		clk.Advance(notAfter.Sub(clk.Now()) - time.Second) // 1 s before NotAfter, timers run
		if st := cache.Stats(); st.Entries != 0 || st.Evictions.Expired != 1 {
			t.Errorf("1 s before NotAfter: entries=%d expired=%d, want 0 and 1", st.Entries, st.Evictions.Expired)
		}
		got, err := cache.GetCertificate(hello("w.test"))
		if got == first || !errors.Is(err, tlscache.ErrExpired) {
			t.Errorf("GetCertificate 1 s before NotAfter = %v, want ErrExpired and no certificate", err)
		}
	})
}

// TestNotYetValidRefused: a certificate whose NotBefore is in the future is
// neither cached nor served, and the error quotes NotBefore.
func TestNotYetValidRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		early := yearCert(t, "early.test") // NotBefore: an hour ago, real time
		ld := newCountingLoader()
		ld.set("early.test", early.cert)
		clk.Jump(-2 * time.Hour) // an hour before NotBefore
		cache := mustNew(t, ld, tlscache.WithNow(clk.Now), tlscache.WithNegativeTTL(time.Second, time.Second))
		defer cache.Close()
		got, err := cache.GetCertificate(hello("early.test"))
		if got != nil || !errors.Is(err, tlscache.ErrInvalidCertificate) {
			t.Fatalf("GetCertificate(not yet valid) returned a certificate: %v, error %v, want none and ErrInvalidCertificate", got != nil, err)
		}
		leaf, perr := x509.ParseCertificate(early.cert.Certificate[0])
		if perr != nil {
			t.Fatal(perr)
		}
		if nb := leaf.NotBefore.UTC().String(); !strings.Contains(err.Error(), nb) || !strings.Contains(err.Error(), "early.test") {
			t.Errorf("error %q does not quote NotBefore %s and the name", err, nb)
		}
		if st := cache.Stats(); st.Entries != 0 {
			t.Errorf("Stats().Entries = %d, want 0", st.Entries)
		}
		// Once valid, it loads.
		clk.Advance(3 * time.Hour)
		if _, err := cache.GetCertificate(hello("early.test")); err != nil {
			t.Errorf("GetCertificate once valid = %v", err)
		}
	})
}

// TestMaxConcurrentLoads: a flood of distinct names against a loader that
// blocks and ignores its context creates at most max loads; the rest fail
// fast with ErrOverloaded, while a miss on a name already loading still
// waits for it. Goroutines stay bounded, and Close ends cleanly once the
// loader returns.
func TestMaxConcurrentLoads(t *testing.T) {
	const maxLoads, names = 8, 500
	c1 := yearCert(t, "*.flood.test")
	release := make(chan struct{})
	var started atomic.Int64
	cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		started.Add(1)
		<-release // ignores ctx on purpose
		return c1.cert, nil
	}), tlscache.WithMaxConcurrentLoads(maxLoads), tlscache.WithLoadTimeout(10*time.Millisecond))
	base := runtime.NumGoroutine()

	// Fill the load slots; these misses time out (the loader ignores ctx)
	// but their loader calls keep running and keep their slots.
	for i := range maxLoads {
		name := fmt.Sprintf("n%d.flood.test", i)
		if _, err := cache.GetCertificate(hello(name)); !errors.Is(err, tlscache.ErrLoadTimeout) {
			t.Fatalf("GetCertificate(%q) = %v, want ErrLoadTimeout", name, err)
		}
	}
	for i := maxLoads; i < names; i++ {
		name := fmt.Sprintf("n%d.flood.test", i)
		_, err := cache.GetCertificate(hello(name))
		if !errors.Is(err, tlscache.ErrOverloaded) {
			t.Fatalf("GetCertificate(%q) with %d loads running = %v, want ErrOverloaded", name, maxLoads, err)
		}
		if i == maxLoads && !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %q", err, name)
		}
	}
	if got := started.Load(); got != maxLoads {
		t.Errorf("loader calls = %d, want %d", got, maxLoads)
	}
	// The flights have ended at their timeout; the loader calls remain,
	// one goroutine each.
	eventually(t, "goroutines to settle", func() bool { return runtime.NumGoroutine() <= base+maxLoads })
	st := cache.Stats()
	if st.Overloaded != names-maxLoads || st.MaxConcurrentLoads != maxLoads {
		t.Errorf("Stats() overloaded=%d max=%d, want %d and %d", st.Overloaded, st.MaxConcurrentLoads, names-maxLoads, maxLoads)
	}
	close(release)
	eventually(t, "loader calls to return", func() bool {
		_, err := cache.GetCertificate(hello("late.flood.test"))
		return err == nil
	})
	if err := cache.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMaxConcurrentLoadsPeak: while loads run (no timeout yet), the cache
// runs one goroutine per load, and a flood of new names adds none.
func TestMaxConcurrentLoadsPeak(t *testing.T) {
	const maxLoads, names = 16, 1000
	c1 := yearCert(t, "*.flood.test")
	release := make(chan struct{})
	cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		<-release
		return c1.cert, nil
	}), tlscache.WithMaxConcurrentLoads(maxLoads), tlscache.WithLoadTimeout(time.Hour))
	base := runtime.NumGoroutine()
	done := make(chan error, maxLoads)
	for i := range maxLoads {
		go func() {
			_, err := cache.GetCertificate(hello(fmt.Sprintf("w%d.flood.test", i)))
			done <- err
		}()
	}
	eventually(t, "loads to start", func() bool { return cache.Stats().InFlight == maxLoads })
	limit := base + maxLoads + maxLoads // the waiters, and one per load
	if g := runtime.NumGoroutine(); g > limit {
		t.Errorf("goroutines with %d loads running = %d, want at most %d (base %d + %d waiters + 1 per load)", maxLoads, g, limit, base, maxLoads)
	}
	for i := range names {
		name := fmt.Sprintf("n%d.flood.test", i)
		if _, err := cache.GetCertificate(hello(name)); !errors.Is(err, tlscache.ErrOverloaded) {
			t.Fatalf("GetCertificate(%q) = %v, want ErrOverloaded", name, err)
		}
	}
	if g := runtime.NumGoroutine(); g > limit {
		t.Errorf("goroutines after %d refused names = %d, want at most %d", names, g, limit)
	}
	close(release)
	for range maxLoads {
		if err := <-done; err != nil {
			t.Errorf("waiter got %v, want nil", err)
		}
	}
	if err := cache.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMaxConcurrentLoadsJoin: with every slot taken, a miss on a name whose
// load is running joins it instead of failing.
func TestMaxConcurrentLoadsJoin(t *testing.T) {
	c1 := yearCert(t, "j.test")
	release := make(chan struct{})
	cache := mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
		<-release
		return c1.cert, nil
	}), tlscache.WithMaxConcurrentLoads(1))
	defer cache.Close()
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := cache.GetCertificate(hello("j.test"))
			done <- err
		}()
	}
	eventually(t, "both to miss", func() bool { return cache.Stats().Misses == 2 })
	if _, err := cache.GetCertificate(hello("other.test")); !errors.Is(err, tlscache.ErrOverloaded) {
		t.Errorf("GetCertificate(other) with the only slot taken = %v, want ErrOverloaded", err)
	}
	want := `
# HELP gotune_tlscache_overloaded_total Misses refused because the maximum number of loads was running.
# TYPE gotune_tlscache_overloaded_total counter
gotune_tlscache_overloaded_total 1
`
	if err := testutil.CollectAndCompare(tlscache.NewCollector(cache, ""), strings.NewReader(want), "gotune_tlscache_overloaded_total"); err != nil {
		t.Error(err)
	}
	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("waiter joined to the running load got %v, want nil", err)
		}
	}
}

// TestExpiredNeverServedBusy: after a jump in which no timer ran and no
// name missed, a busy cache's hits alone bring its clock up to date
// within a bounded number of hits (a sampled clock read per P).
func TestExpiredNeverServedBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newTestClock()
		short := newCert(t, ecdsaKey, clk.Now().Add(time.Hour), "b.test")
		ld := newCountingLoader()
		ld.set("b.test", short.cert)
		cache := mustNew(t, ld, tlscache.WithNow(clk.Now), tlscache.WithTTL(24*time.Hour),
			tlscache.WithRefreshAhead(-1))
		defer cache.Close()
		first, err := cache.GetCertificate(hello("b.test"))
		if err != nil {
			t.Fatal(err)
		}
		clk.Jump(2 * time.Hour)
		// The hit counter has a stripe per P (a power of two, at most 1024);
		// each samples the clock every 1024 hits.
		stripes := 1
		for stripes < min(max(runtime.GOMAXPROCS(0), runtime.NumCPU()), 1024) {
			stripes *= 2
		}
		limit := 1024*stripes + 1
		for i := range limit {
			got, _ := cache.GetCertificate(hello("b.test"))
			if got != first {
				t.Logf("stopped serving the expired certificate after %d hits", i)
				return
			}
		}
		t.Fatalf("GetCertificate still served the expired certificate after %d hits", limit)
	})
}
