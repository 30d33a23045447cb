package tlscache_test

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/tlscache"
)

// A certificate's life, as the cache meets it: loaded or refreshed while
// not yet valid, inside the skew window before NotAfter, while it expires
// in the cache, and after it expired. Each case runs on synctest's fake
// clock with both ready loaders, steps time through the certificate's
// life, calls GetCertificate at every step and checks that no certificate
// is ever served outside [NotBefore, NotAfter) and that the expected one
// is served, or refused, at each checkpoint. A panic anywhere (the load
// goroutine included) kills the test binary, which is the failure this
// table was written for: rand.Int64N panicked in Cache.installLocked when
// a certificate was installed inside its skew window.

// lifeLoader is a ready loader with a way to change what it returns for
// "life.test".
type lifeLoader struct {
	tlscache.Loader
	set func(t *testing.T, c testCert)
}

func lifeLoaders() map[string]func(t *testing.T) lifeLoader {
	return map[string]func(t *testing.T) lifeLoader{
		"static": func(t *testing.T) lifeLoader {
			s := tlscache.NewStatic()
			return lifeLoader{s, func(t *testing.T, c testCert) {
				if err := s.AddPEM(c.certPEM, c.keyPEM, "life.test"); err != nil {
					t.Fatal(err)
				}
			}}
		},
		"dir": func(t *testing.T) lifeLoader {
			dir := t.TempDir()
			var mu sync.Mutex
			gen := 0
			return lifeLoader{tlscache.NewDir(dir), func(t *testing.T, c testCert) {
				mu.Lock()
				gen++
				// A distinct modification time per version, so Dir sees
				// the change even where two writes share a coarse mtime.
				mt := time.Unix(1e9+int64(gen), 0)
				mu.Unlock()
				writePair(t, dir, "life.test", c)
				for _, ext := range []string{".crt", ".key"} {
					if err := os.Chtimes(filepath.Join(dir, "life.test"+ext), mt, mt); err != nil {
						t.Fatal(err)
					}
				}
			}}
		},
	}
}

// lifeSpan is a certificate's validity relative to the start of a case.
type lifeSpan struct{ notBefore, notAfter time.Duration }

// lifeWant expects, for every step in [from, to], either the certificate
// with the given label served, or (label "") a refusal wrapping err.
type lifeWant struct {
	from, to time.Duration
	label    string
	err      error
}

type lifeCase struct {
	name  string
	opts  []tlscache.Option
	certs map[string]lifeSpan // by label
	// swaps: at each time (the first at 0), the loader starts returning
	// the certificate with that label.
	swaps   []lifeSwap
	horizon time.Duration
	step    time.Duration
	want    []lifeWant
}

type lifeSwap struct {
	at    time.Duration
	label string
}

const sec = time.Second

func lifeCases() []lifeCase {
	noRefresh := tlscache.WithRefreshAhead(-1)
	fastNeg := tlscache.WithNegativeTTL(sec, sec)
	return []lifeCase{
		{
			name:    "load/not-yet-valid",
			opts:    []tlscache.Option{fastNeg},
			certs:   map[string]lifeSpan{"a": {10 * sec, time.Hour}},
			swaps:   []lifeSwap{{0, "a"}},
			horizon: 20 * sec, step: sec / 2,
			want: []lifeWant{
				{0, 9 * sec, "", tlscache.ErrInvalidCertificate},
				{12 * sec, 20 * sec, "a", nil},
			},
		},
		{
			// The first reproduction: valid 8 s at the first
			// handshake, default options (skew 5 min).
			name:    "load/inside-skew-window",
			certs:   map[string]lifeSpan{"a": {-time.Hour, 8 * sec}},
			swaps:   []lifeSwap{{0, "a"}},
			horizon: 20 * sec, step: sec / 4,
			want: []lifeWant{
				{0, 2 * sec, "a", nil},
				{4 * sec, 20 * sec, "", tlscache.ErrExpired},
			},
		},
		{
			// The third: valid 40 s, TTL 10 s, skew 15 s; reloads at
			// 10 s and 20 s, then inside the window from 25 s.
			name:    "load/inside-skew-window-ttl",
			opts:    []tlscache.Option{tlscache.WithTTL(10 * sec), tlscache.WithSkew(15 * sec)},
			certs:   map[string]lifeSpan{"a": {-time.Hour, 40 * sec}},
			swaps:   []lifeSwap{{0, "a"}},
			horizon: 50 * sec, step: sec / 4,
			want: []lifeWant{
				{0, 34 * sec, "a", nil},
				{36 * sec, 50 * sec, "", tlscache.ErrExpired},
			},
		},
		{
			// The second: valid 5 min 30 s, default options; the
			// background refreshes run into the skew window.
			name:    "refresh/inside-skew-window",
			certs:   map[string]lifeSpan{"a": {-time.Hour, 5*time.Minute + 30*sec}},
			swaps:   []lifeSwap{{0, "a"}},
			horizon: 6 * time.Minute, step: sec / 2,
			want: []lifeWant{
				{0, 5*time.Minute + 24*sec, "a", nil},
				{5*time.Minute + 26*sec, 6 * time.Minute, "", tlscache.ErrExpired},
			},
		},
		{
			// A renewal pipeline replaces the certificate inside the
			// skew window: no handshake fails across the change.
			name: "refresh/renewed-inside-skew-window",
			certs: map[string]lifeSpan{
				"a": {-time.Hour, 5*time.Minute + 30*sec},
				"b": {-time.Hour, 2 * time.Hour},
			},
			swaps:   []lifeSwap{{0, "a"}, {5*time.Minute + 10*sec, "b"}},
			horizon: 7 * time.Minute, step: sec / 2,
			want: []lifeWant{
				{0, 5*time.Minute + 9*sec, "a", nil},
				{5*time.Minute + 26*sec, 7 * time.Minute, "b", nil},
			},
		},
		{
			// Expiring while cached, refresh on (default TTL 1 h equals
			// the lifetime): refreshes keep returning the same
			// certificate into its skew window.
			name:    "expiring-while-cached/refresh",
			certs:   map[string]lifeSpan{"a": {-time.Hour, time.Hour}},
			swaps:   []lifeSwap{{0, "a"}},
			horizon: time.Hour + 10*sec, step: sec,
			want: []lifeWant{
				{0, time.Hour - 6*sec, "a", nil},
				{time.Hour - 3*sec, time.Hour + 10*sec, "", tlscache.ErrExpired},
			},
		},
		{
			// Expiring while cached, refresh off: the timer drops it at
			// NotAfter − skew, and the next handshakes load it again
			// inside the window.
			name:    "expiring-while-cached/no-refresh",
			opts:    []tlscache.Option{tlscache.WithTTL(24 * time.Hour), noRefresh},
			certs:   map[string]lifeSpan{"a": {-time.Hour, time.Hour}},
			swaps:   []lifeSwap{{0, "a"}},
			horizon: time.Hour + 10*sec, step: sec,
			want: []lifeWant{
				{0, time.Hour - 6*sec, "a", nil},
				{time.Hour - 3*sec, time.Hour + 10*sec, "", tlscache.ErrExpired},
			},
		},
		{
			name:    "load/expired",
			certs:   map[string]lifeSpan{"a": {-time.Hour, -sec}},
			swaps:   []lifeSwap{{0, "a"}},
			horizon: 10 * sec, step: sec / 2,
			want: []lifeWant{{0, 10 * sec, "", tlscache.ErrExpired}},
		},
		{
			// Valid for less than the cache's margin before NotAfter.
			name:    "load/expires-within-margin",
			certs:   map[string]lifeSpan{"a": {-time.Hour, 3 * sec}},
			swaps:   []lifeSwap{{0, "a"}},
			horizon: 10 * sec, step: sec / 2,
			want: []lifeWant{{0, 10 * sec, "", tlscache.ErrExpired}},
		},
		{
			// A refresh returns a certificate not valid yet: the cached
			// one serves until its TTL, the new one once it is valid.
			name: "refresh/not-yet-valid",
			opts: []tlscache.Option{tlscache.WithTTL(20 * sec), fastNeg},
			certs: map[string]lifeSpan{
				"a": {-time.Hour, time.Hour},
				"b": {60 * sec, 2 * time.Hour},
			},
			swaps:   []lifeSwap{{0, "a"}, {5 * sec, "b"}},
			horizon: 70 * sec, step: sec / 2,
			want: []lifeWant{
				{0, 19 * sec, "a", nil},
				{21 * sec, 59 * sec, "", tlscache.ErrInvalidCertificate},
				{63 * sec, 70 * sec, "b", nil},
			},
		},
		{
			// A refresh returns an expired certificate: never served.
			name: "refresh/expired",
			opts: []tlscache.Option{tlscache.WithTTL(20 * sec)},
			certs: map[string]lifeSpan{
				"a": {-time.Hour, time.Hour},
				"b": {-2 * time.Hour, -time.Minute},
			},
			swaps:   []lifeSwap{{0, "a"}, {5 * sec, "b"}},
			horizon: 40 * sec, step: sec / 2,
			want: []lifeWant{
				{0, 19 * sec, "a", nil},
				{21 * sec, 40 * sec, "", tlscache.ErrExpired},
			},
		},
		{
			// A refresh returns a certificate inside its skew window
			// while a longer-lived one is cached: the loader is the
			// source of truth (the old one may have been revoked), so
			// the new one serves, until the margin before its NotAfter.
			name: "refresh/shorter-inside-skew-window",
			opts: []tlscache.Option{tlscache.WithTTL(20 * sec)},
			certs: map[string]lifeSpan{
				"a": {-time.Hour, time.Hour},
				"b": {-time.Hour, 60 * sec},
			},
			swaps:   []lifeSwap{{0, "a"}, {5 * sec, "b"}},
			horizon: 70 * sec, step: sec / 2,
			want: []lifeWant{
				{0, 4 * sec, "a", nil},
				{21 * sec, 54 * sec, "b", nil},
				{56 * sec, 70 * sec, "", tlscache.ErrExpired},
			},
		},
	}
}

func TestCertificateLife(t *testing.T) {
	for _, tc := range lifeCases() {
		for lname, newLoader := range lifeLoaders() {
			t.Run(tc.name+"/"+lname, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { runLifeCase(t, tc, newLoader(t)) })
			})
		}
	}
}

func runLifeCase(t *testing.T, tc lifeCase, ld lifeLoader) {
	start := time.Now()
	certs := map[string]testCert{}
	leaves := map[string]string{} // DER to label
	for label, span := range tc.certs {
		c := newCertBetween(t, ecdsaKey, start.Add(span.notBefore), start.Add(span.notAfter), "life.test")
		certs[label] = c
		leaves[string(c.cert.Certificate[0])] = label
	}
	cache := mustNew(t, ld, tc.opts...)
	defer cache.Close()
	swaps := tc.swaps
	for at := time.Duration(0); at <= tc.horizon; at += tc.step {
		if d := time.Until(start.Add(at)); d > 0 {
			time.Sleep(d)
		}
		for len(swaps) > 0 && swaps[0].at <= at {
			ld.set(t, certs[swaps[0].label])
			swaps = swaps[1:]
		}
		got, err := cache.GetCertificate(hello("life.test"))
		synctest.Wait() // let any load or refresh started here land
		now := time.Now()
		label := ""
		if got != nil {
			label = leaves[string(got.Certificate[0])]
			leaf, perr := x509.ParseCertificate(got.Certificate[0])
			if perr != nil {
				t.Fatal(perr)
			}
			if !now.Before(leaf.NotAfter) || now.Before(leaf.NotBefore) {
				t.Fatalf("at %v: GetCertificate served %q, valid [%v, %v): outside its validity",
					at, label, leaf.NotBefore.Sub(start), leaf.NotAfter.Sub(start))
			}
			if err != nil {
				t.Fatalf("at %v: GetCertificate returned a certificate and error %v", at, err)
			}
		} else if err == nil {
			t.Fatalf("at %v: GetCertificate returned neither a certificate nor an error", at)
		}
		for _, w := range tc.want {
			if at < w.from || at > w.to {
				continue
			}
			if label != w.label {
				t.Errorf("at %v: GetCertificate served %q (error %v), want %q", at, label, err, w.label)
			} else if w.err != nil && !errors.Is(err, w.err) {
				t.Errorf("at %v: GetCertificate error = %v, want %v", at, err, w.err)
			}
		}
	}
}

// TestCertificateLifeRealTime runs a few seconds on the real clock: a
// certificate valid 8 s, loaded inside the skew window, served by many
// handshakes from several goroutines while refreshes and expiry run on
// real timers. No certificate may be served at or past its NotAfter, and
// nothing may panic.
func TestCertificateLifeRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 s of real time")
	}
	c := newCert(t, ecdsaKey, time.Now().Add(8*time.Second), "rt.test")
	ld := newCountingLoader()
	ld.set("rt.test", c.cert)
	cache := mustNew(t, ld, tlscache.WithTTL(time.Second), tlscache.WithRefreshAhead(500*time.Millisecond),
		tlscache.WithNegativeTTL(100*time.Millisecond, 100*time.Millisecond))
	defer cache.Close()
	notAfter := c.cert.Leaf
	if notAfter == nil {
		leaf, err := x509.ParseCertificate(c.cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		notAfter = leaf
	}
	stop := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	served, refused := 0, 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				got, err := cache.GetCertificate(hello("rt.test"))
				now := time.Now()
				mu.Lock()
				if got != nil {
					served++
					if !now.Before(notAfter.NotAfter) {
						t.Errorf("served a certificate %v past its NotAfter", now.Sub(notAfter.NotAfter))
					}
				} else {
					refused++
					if !errors.Is(err, tlscache.ErrExpired) {
						t.Errorf("GetCertificate = %v, want a certificate or ErrExpired", err)
					}
				}
				mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if served == 0 || refused == 0 {
		t.Errorf("served %d, refused %d: want both (valid 3 s of the 4 s run)", served, refused)
	}
}
