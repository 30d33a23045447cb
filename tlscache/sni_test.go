package tlscache_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/tlscache"
)

// TestServerNames: server names a client can send, hostile ones included.
// A name that cannot be a DNS host name is refused with ErrInvalidName
// before the loader sees it, counted, and quoted in the error at most 64
// bytes long; the others reach the loader normalised.
func TestServerNames(t *testing.T) {
	long := func(n int, c byte) string { return strings.Repeat(string(c), n) }
	name253 := strings.Repeat(long(63, 'a')+".", 3) + long(61, 'b') // 253 bytes
	for _, tc := range []struct {
		name string
		sni  string
		load string // what the loader is asked for; "" when refused
	}{
		{"plain", "www.example.com", "www.example.com"},
		{"upper case", "WWW.Example.COM", "www.example.com"},
		{"trailing dot", "www.example.com.", "www.example.com"},
		{"single label", "localhost", "localhost"},
		{"underscore", "_acme.example.com", "_acme.example.com"},
		{"a-label", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"253 bytes", name253, name253},
		{"253 bytes and a dot", name253 + ".", name253},
		{"254 bytes", name253 + "b", ""},
		{"64 KiB", long(64<<10, 'a'), ""},
		{"64 KiB binary", long(64<<10, 0xff), ""},
		{"label of 64", long(64, 'a') + ".example", ""},
		{"label of 63", long(63, 'a') + ".example", long(63, 'a') + ".example"},
		{"u-label", "bücher.example", ""},
		{"NUL", "a\x00.example", ""},
		{"space", "a b.example", ""},
		{"slash", "../etc/passwd", ""},
		{"empty label", "a..example", ""},
		{"leading dot", ".example", ""},
		{"only a dot", ".", ""},
		{"two trailing dots", "example..", ""},
		{"leading hyphen", "-a.example", ""},
		{"trailing hyphen", "a-.example", ""},
		{"wildcard", "*.example.com", ""},
		{"ipv4", "127.0.0.1", ""},
		{"ipv4 short", "127.1", ""},
		{"ipv4 integer", "2130706433", ""},
		{"ipv6", "::1", ""},
		{"ipv6 brackets", "[::1]", ""},
		{"numeric tld", "host.123", ""},
		{"port", "example.com:443", ""},
		{"binary", "\x16\x03\x01\x02\x00", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			var mu sync.Mutex
			cache := mustNew(t, tlscache.LoaderFunc(func(_ context.Context, name string) (*tls.Certificate, error) {
				mu.Lock()
				asked = append(asked, name)
				mu.Unlock()
				return nil, fmt.Errorf("test: %q: %w", name, tlscache.ErrNotFound)
			}))
			defer cache.Close()
			_, err := cache.GetCertificate(hello(tc.sni))
			st := cache.Stats()
			if tc.load == "" {
				if !errors.Is(err, tlscache.ErrInvalidName) {
					t.Errorf("GetCertificate(%s) = %v, want ErrInvalidName", tlscache.QuoteName(tc.sni), err)
				}
				if len(asked) != 0 || st.Misses != 0 || st.NegativeEntries != 0 {
					t.Errorf("GetCertificate(%s): loader asked for %d names, misses %d, negative entries %d; want none",
						tlscache.QuoteName(tc.sni), len(asked), st.Misses, st.NegativeEntries)
				}
				if st.InvalidNames != 1 {
					t.Errorf("Stats().InvalidNames = %d, want 1", st.InvalidNames)
				}
				if msg := err.Error(); len(msg) > 300 {
					t.Errorf("error is %d bytes long, want the name cut to a short prefix: %.300s", len(msg), msg)
				}
				return
			}
			if !errors.Is(err, tlscache.ErrNotFound) || len(asked) != 1 || asked[0] != tc.load {
				t.Errorf("GetCertificate(%q) = %v, loader asked for %q; want ErrNotFound and %q", tc.sni, err, asked, tc.load)
			}
			if st.InvalidNames != 0 {
				t.Errorf("Stats().InvalidNames = %d, want 0", st.InvalidNames)
			}
			// The name appears quoted once in the error, not once per
			// layer that wraps it.
			if n := strings.Count(err.Error(), strconv.Quote(tc.load)); n != 1 {
				t.Errorf("error %q quotes %q %d times, want once", err, tc.load, n)
			}
		})
	}
}

// TestEmptyServerName: a handshake without SNI is not an invalid name: it
// asks the loader for the default name (here none, so "").
func TestEmptyServerName(t *testing.T) {
	ld := newCountingLoader()
	cache := mustNew(t, ld)
	defer cache.Close()
	_, err := cache.GetCertificate(hello(""))
	if !errors.Is(err, tlscache.ErrNotFound) || ld.count("") != 1 || cache.Stats().InvalidNames != 0 {
		t.Errorf("GetCertificate(no SNI) = %v after %d loads of \"\", invalid names %d; want ErrNotFound, 1, 0",
			err, ld.count(""), cache.Stats().InvalidNames)
	}
}

// TestErrorQuotesNameOnce: the ready loaders' errors through the cache
// quote the name once (the issue saw `tlscache: load "x": tlscache:
// static: "x": ...`), and a loader whose error does not name it gets the
// name added.
func TestErrorQuotesNameOnce(t *testing.T) {
	c1 := yearCert(t, "known.test")
	static, err := tlscache.StaticPEM(c1.certPEM, c1.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for lname, ld := range map[string]tlscache.Loader{
		"static": static,
		"dir":    tlscache.NewDir(t.TempDir()),
		"plain":  tlscache.LoaderFunc(func(context.Context, string) (*tls.Certificate, error) { return nil, errBoom }),
	} {
		cache := mustNew(t, ld)
		for _, name := range []string{"unknown.test", strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + ".test"} {
			_, err := cache.GetCertificate(hello(name))
			if n := strings.Count(err.Error(), strings.Repeat("a", 40)) + strings.Count(err.Error(), `"unknown.test"`); n != 1 {
				t.Errorf("%s: error %q quotes the name %d times, want once", lname, err, n)
			}
		}
		cache.Close()
	}
}

func TestCheckServerName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", ""},
		{strings.Repeat("a", 254), "longer than 253 bytes"},
		{"a..b", "empty label"},
		{strings.Repeat("a", 64), "label longer than 63 bytes"},
		{"-a", "label starts or ends with a hyphen"},
		{"a\xffb", "byte 0xff at offset 1 is not allowed in a host name"},
		{"10.0.0.1", "an IP address or a numeric top-level label"},
	} {
		if got := tlscache.CheckServerName(tc.in); got != tc.want {
			t.Errorf("checkServerName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestQuoteName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a.test", `"a.test"`},
		{"\x00", `"\x00"`},
		{strings.Repeat("a", 64), `"` + strings.Repeat("a", 64) + `"`},
		{strings.Repeat("a", 65), `"` + strings.Repeat("a", 64) + `"... (65 bytes)`},
		{strings.Repeat("\xff", 1<<16), `"` + strings.Repeat(`\xff`, 64) + `"... (65536 bytes)`},
	} {
		if got := tlscache.QuoteName(tc.in); got != tc.want {
			t.Errorf("quoteName(%.20q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestNegativeCacheBytes: failures with long names and long messages are
// bounded by bytes, not only by count.
func TestNegativeCacheBytes(t *testing.T) {
	const maxBytes = 64 << 10
	msg := strings.Repeat("x", 2000)
	cache := mustNew(t, tlscache.LoaderFunc(func(_ context.Context, name string) (*tls.Certificate, error) {
		return nil, fmt.Errorf("%s: %w", msg, tlscache.ErrNotFound)
	}), tlscache.WithMaxNegativeBytes(maxBytes), tlscache.WithMaxNegativeEntries(10000))
	defer cache.Close()
	for i := range 1000 {
		cache.GetCertificate(hello(fmt.Sprintf("%s.n%d.test", strings.Repeat("a", 60), i)))
	}
	st := cache.Stats()
	if st.NegativeBytes > maxBytes || st.MaxNegativeBytes != maxBytes {
		t.Errorf("Stats() negative bytes %d (max %d), want at most %d", st.NegativeBytes, st.MaxNegativeBytes, maxBytes)
	}
	// Each entry is charged at least twice its 2,000-byte message.
	if st.NegativeEntries > maxBytes/4000 || st.NegativeEntries == 0 {
		t.Errorf("Stats().NegativeEntries = %d, want 1 to %d", st.NegativeEntries, maxBytes/4000)
	}
	if want := uint64(1000 - st.NegativeEntries); st.NegativeEvictions != want {
		t.Errorf("Stats().NegativeEvictions = %d, want %d", st.NegativeEvictions, want)
	}
}

// TestNegativeCacheFreed: remembered failures are freed once their time
// has passed (a backoff d to answer, another d to remember the count),
// without a later failure to overwrite them, and the backoff still grows
// for a name that keeps failing.
func TestNegativeCacheFreed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var loads atomic.Int64
		cache := mustNew(t, tlscache.LoaderFunc(func(context.Context, string) (*tls.Certificate, error) {
			loads.Add(1)
			return nil, tlscache.ErrNotFound
		}), tlscache.WithNegativeTTL(time.Second, 4*time.Second))
		defer cache.Close()
		for i := range 100 {
			cache.GetCertificate(hello(fmt.Sprintf("n%d.test", i)))
		}
		if st := cache.Stats(); st.NegativeEntries != 100 || st.NegativeBytes == 0 {
			t.Fatalf("Stats() negative entries %d, bytes %d, want 100 and > 0", st.NegativeEntries, st.NegativeBytes)
		}
		// Backoff ≤ 1.25 s, kept ≤ 2.5 s, swept within 1 s after that.
		time.Sleep(3600 * time.Millisecond)
		synctest.Wait()
		if st := cache.Stats(); st.NegativeEntries != 0 || st.NegativeBytes != 0 {
			t.Errorf("Stats() after every failure lapsed: negative entries %d, bytes %d, want 0 and 0", st.NegativeEntries, st.NegativeBytes)
		}
	})
}

// TestTrimNegative: the pressure remedy frees the remembered failures past
// their backoff and keeps those still answering handshakes (the loader is
// not called for them again).
func TestTrimNegative(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var loads atomic.Int64
		cache := mustNew(t, tlscache.LoaderFunc(func(context.Context, string) (*tls.Certificate, error) {
			loads.Add(1)
			return nil, tlscache.ErrNotFound
		}), tlscache.WithNegativeTTL(time.Second, time.Minute))
		defer cache.Close()
		for i := range 50 {
			cache.GetCertificate(hello(fmt.Sprintf("old%d.test", i)))
		}
		time.Sleep(1500 * time.Millisecond) // past the first backoff (≤ 1.25 s), not yet forgotten
		for i := range 30 {
			cache.GetCertificate(hello(fmt.Sprintf("new%d.test", i)))
		}
		before := cache.Stats()
		if before.NegativeEntries != 80 {
			t.Fatalf("Stats().NegativeEntries = %d before the trim, want 80", before.NegativeEntries)
		}
		if n := cache.TrimNegative(); n != 50 {
			t.Errorf("TrimNegative() = %d, want the 50 lapsed failures", n)
		}
		after := cache.Stats()
		if after.NegativeEntries != 30 || after.NegativeBytes >= before.NegativeBytes {
			t.Errorf("after the trim: %d entries, %d bytes (before %d); want 30 and fewer bytes", after.NegativeEntries, after.NegativeBytes, before.NegativeBytes)
		}
		l := loads.Load()
		for i := range 30 {
			cache.GetCertificate(hello(fmt.Sprintf("new%d.test", i)))
		}
		if got := loads.Load() - l; got != 0 {
			t.Errorf("%d loads for names whose failure still answers handshakes, want 0", got)
		}
		if n := cache.TrimNegative(); n != 0 {
			t.Errorf("second TrimNegative() = %d, want 0", n)
		}
	})
}

// TestLoaderAttacks: loaders that panic (on a miss and on a background
// refresh), call runtime.Goexit, return nothing, or a certificate without
// its key. Each ends as an error to the handshake, is counted, and leaves
// the cache working: its load slot is freed and nothing crashes.
func TestLoaderAttacks(t *testing.T) {
	var noKey tls.Certificate // set in the bubble, whose clock certificates must follow
	for _, tc := range []struct {
		name string
		load func() (*tls.Certificate, error)
		want error
	}{
		{"panic", func() (*tls.Certificate, error) { panic("loader bug") }, tlscache.ErrLoaderPanic},
		{"panic nil error", func() (*tls.Certificate, error) { var err error; panic(err) }, tlscache.ErrLoaderPanic},
		{"goexit", func() (*tls.Certificate, error) { runtime.Goexit(); return nil, nil }, tlscache.ErrLoaderPanic},
		{"nil nil", func() (*tls.Certificate, error) { return nil, nil }, tlscache.ErrInvalidCertificate},
		{"empty chain", func() (*tls.Certificate, error) { return &tls.Certificate{}, nil }, tlscache.ErrInvalidCertificate},
		{"no key", func() (*tls.Certificate, error) { return &noKey, nil }, tlscache.ErrInvalidCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c1 := yearCert(t, "ok.test")
				noKey = *c1.cert
				noKey.PrivateKey = nil
				var bad atomic.Bool
				bad.Store(true)
				cache := mustNew(t, tlscache.LoaderFunc(func(_ context.Context, name string) (*tls.Certificate, error) {
					if bad.Load() {
						return tc.load()
					}
					return c1.cert, nil
				}), tlscache.WithMaxConcurrentLoads(1), tlscache.WithTTL(time.Minute),
					tlscache.WithNegativeTTL(time.Second, time.Second))
				defer cache.Close()
				_, err := cache.GetCertificate(hello("ok.test"))
				if !errors.Is(err, tc.want) {
					t.Fatalf("GetCertificate = %v, want %v", err, tc.want)
				}
				// The only load slot is free again.
				bad.Store(false)
				if _, err := cache.GetCertificate(hello("other.test")); err != nil {
					t.Fatalf("GetCertificate(other.test) after the bad load = %v, want a certificate", err)
				}
				// Now a background refresh meets the bad loader: the
				// cached certificate keeps serving until its TTL.
				bad.Store(true)
				time.Sleep(50 * time.Second)
				synctest.Wait()
				if _, err := cache.GetCertificate(hello("other.test")); err != nil {
					t.Errorf("GetCertificate while refreshes fail = %v, want the cached certificate", err)
				}
				st := cache.Stats()
				if st.RefreshErrors == 0 {
					t.Errorf("Stats().RefreshErrors = 0, want the failed refresh counted")
				}
				if errors.Is(tc.want, tlscache.ErrLoaderPanic) && st.LoaderPanics < 2 {
					t.Errorf("Stats().LoaderPanics = %d, want ≥ 2 (the miss and the refresh)", st.LoaderPanics)
				}
				if st.InFlight != 0 {
					t.Errorf("Stats().InFlight = %d, want 0", st.InFlight)
				}
			})
		})
	}
}

// TestSNIFloodHeap: 100,000 server names of every length up to 64 KiB
// (random host-name bytes, random binary, and well-formed names the loader
// does not know) hold less than 32 MiB of live heap, the bound the README
// states. Names are fresh allocations, as each handshake's is.
func TestSNIFloodHeap(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 20_000
	}
	c1 := yearCert(t, "known.test")
	static, err := tlscache.StaticPEM(c1.certPEM, c1.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cache := mustNew(t, static)
	defer cache.Close()
	src := make([]byte, 128<<10)
	const hostBytes = "abcdefghijklmnopqrstuvwxyz0123456789-_."
	for i := range src {
		if i < len(src)/2 {
			src[i] = hostBytes[rand.IntN(len(hostBytes))]
		} else {
			src[i] = byte(rand.Uint32())
		}
	}
	name := func(r *rand.Rand) string {
		switch r.IntN(3) {
		case 0: // host-name bytes, any length up to 64 KiB
			l := 1 + r.IntN(64<<10)
			off := r.IntN(len(src)/2 - l + 1)
			return string(src[off : off+l])
		case 1: // binary, any length up to 64 KiB
			l := 1 + r.IntN(64<<10)
			off := len(src)/2 + r.IntN(len(src)/2-l+1)
			return string(src[off : off+l])
		default: // a well-formed name up to 253 bytes
			var b strings.Builder
			for b.Len() < 190 {
				l := 1 + r.IntN(63)
				for range l {
					b.WriteByte(hostBytes[r.IntN(36)])
				}
				b.WriteByte('.')
			}
			b.WriteString("test")
			return b.String()
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const workers = 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range n / workers {
				cache.GetCertificate(hello(name(r)))
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	st := cache.Stats()
	t.Logf("%d names: live heap growth %.1f MiB; invalid %d, misses %d, negative entries %d (%d KiB), entries %d",
		n, float64(growth)/(1<<20), st.InvalidNames, st.Misses, st.NegativeEntries, st.NegativeBytes>>10, st.Entries)
	if growth >= 32<<20 {
		t.Errorf("live heap grew by %d bytes after %d random server names, want < 32 MiB", growth, n)
	}
	if st.NegativeBytes > st.MaxNegativeBytes {
		t.Errorf("Stats().NegativeBytes = %d, over the bound %d", st.NegativeBytes, st.MaxNegativeBytes)
	}
	if st.InvalidNames == 0 || st.Misses == 0 {
		t.Errorf("Stats() invalid %d misses %d: want both kinds of name exercised", st.InvalidNames, st.Misses)
	}
	runtime.KeepAlive(cache)
}

// TestLoaderCallsBack: a loader that calls back into its cache (the same
// name, another name, Invalidate, Stats) does not deadlock it: a wait on
// its own load ends at the load timeout, and the cache works afterwards.
func TestLoaderCallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1 := yearCert(t, "ok.test")
		var cache *tlscache.Cache
		cache = mustNew(t, tlscache.LoaderFunc(func(ctx context.Context, name string) (*tls.Certificate, error) {
			if name == "self.test" {
				cache.Stats()
				cache.Invalidate("ok.test")
				if _, err := cache.GetCertificate(hello("ok.test")); err != nil {
					return nil, err
				}
				return cache.GetCertificate(hello("self.test")) // waits for itself
			}
			return c1.cert, nil
		}), tlscache.WithLoadTimeout(time.Second))
		defer cache.Close()
		_, err := cache.GetCertificate(hello("self.test"))
		if !errors.Is(err, tlscache.ErrLoadTimeout) {
			t.Errorf("GetCertificate of a name whose loader waits for itself = %v, want ErrLoadTimeout", err)
		}
		synctest.Wait()
		if _, err := cache.GetCertificate(hello("ok.test")); err != nil {
			t.Errorf("GetCertificate(ok.test) afterwards = %v", err)
		}
	})
}
