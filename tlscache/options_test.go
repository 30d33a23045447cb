package tlscache_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/tlscache"
)

// TestNewRefusesInvalidOptions: a value New cannot honour is an error that
// names the option and the value, never a silent default.
func TestNewRefusesInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  tlscache.Option
		want string
	}{
		{"negative max entries", tlscache.WithMaxEntries(-1), "WithMaxEntries(-1)"},
		{"absurd max entries", tlscache.WithMaxEntries(tlscache.MaxEntriesLimit + 1), "WithMaxEntries(16777217)"},
		{"negative max negative bytes", tlscache.WithMaxNegativeBytes(-5), "WithMaxNegativeBytes(-5)"},
		{"negative load timeout", tlscache.WithLoadTimeout(-time.Second), "WithLoadTimeout(-1s)"},
		{"negative max loads", tlscache.WithMaxConcurrentLoads(-2), "WithMaxConcurrentLoads(-2)"},
		{"negative negative TTL", tlscache.WithNegativeTTL(-time.Second, 0), "WithNegativeTTL(-1s, 0s)"},
		{"negative TTL max below base", tlscache.WithNegativeTTL(time.Minute, time.Second), "WithNegativeTTL(1m0s, 1s)"},
		{"negative TTL over a day", tlscache.WithNegativeTTL(0, 48*time.Hour), "WithNegativeTTL(0s, 48h0m0s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tlscache.New(tlscache.NewStatic(), tc.opt)
			if err == nil {
				c.Close()
				t.Fatalf("New(%s) = nil error, want one", tc.want)
			}
			if c != nil {
				t.Errorf("New(%s) returned a cache with its error", tc.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "tlscache: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("New(%s) = %q, want an error prefixed tlscache: that names %s", tc.want, msg, tc.want)
			}
		})
	}
	if _, err := tlscache.New(nil); err == nil || !strings.Contains(err.Error(), "nil Loader") {
		t.Errorf("New(nil) = %v, want an error naming the nil Loader", err)
	}
}

// TestZeroOptionsMeanDefaults: zero is the documented default everywhere.
func TestZeroOptionsMeanDefaults(t *testing.T) {
	c := mustNew(t, tlscache.NewStatic(), tlscache.WithMaxEntries(0), tlscache.WithMaxNegativeEntries(0),
		tlscache.WithMaxNegativeBytes(0), tlscache.WithMaxConcurrentLoads(0), tlscache.WithTTL(0),
		tlscache.WithRefreshAhead(0), tlscache.WithSkew(0), tlscache.WithNegativeTTL(0, 0), tlscache.WithLoadTimeout(0))
	defer c.Close()
	st := c.Stats()
	if st.MaxEntries != tlscache.DefaultMaxEntries || st.MaxNegativeEntries != tlscache.DefaultMaxNegativeEntries ||
		st.MaxNegativeBytes != tlscache.DefaultMaxNegativeBytes || st.MaxConcurrentLoads != tlscache.DefaultMaxConcurrentLoads {
		t.Errorf("Stats() with zero options = %+v, want the defaults", st)
	}
}

// TestNoNegativeCache: switched off, a failing name reaches the loader on
// every handshake and nothing is remembered.
func TestNoNegativeCache(t *testing.T) {
	ld := newCountingLoader()
	ld.fail("f.test", errBoom)
	c := mustNew(t, ld, tlscache.WithMaxNegativeEntries(tlscache.NoNegativeCache))
	defer c.Close()
	for range 3 {
		if _, err := c.GetCertificate(hello("f.test")); !errors.Is(err, errBoom) {
			t.Fatalf("GetCertificate(%q) = %v, want %v", "f.test", err, errBoom)
		}
	}
	if n, st := ld.count("f.test"), c.Stats(); n != 3 || st.NegativeEntries != 0 || st.NegativeHits != 0 || st.NegativeEvictions != 0 {
		t.Errorf("loads = %d, Stats() = %+v, want 3 loads and no negative entries, hits or evictions", n, st)
	}
}

// TestNoTTL: with NoTTL an entry lives until NotAfter − skew, however far
// off, where the default TTL would have reloaded it after an hour.
func TestNoTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c1 := newCert(t, ecdsaKey, time.Now().Add(3*time.Hour), "t.test")
		ld := newCountingLoader()
		ld.set("t.test", c1.cert)
		c := mustNew(t, ld, tlscache.WithTTL(tlscache.NoTTL), tlscache.WithRefreshAhead(tlscache.NoRefreshAhead),
			tlscache.WithSkew(tlscache.NoSkew))
		defer c.Close()
		if _, err := c.GetCertificate(hello("t.test")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3*time.Hour - 6*time.Second) // NoSkew: served until 5 s before NotAfter
		synctest.Wait()
		if _, err := c.GetCertificate(hello("t.test")); err != nil || ld.count("t.test") != 1 {
			t.Errorf("GetCertificate 6 s before NotAfter = %v after %d loads, want a hit after 1", err, ld.count("t.test"))
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if st := c.Stats(); st.Entries != 0 || st.Evictions.Expired != 1 {
			t.Errorf("4 s before NotAfter: entries=%d expired=%d, want 0 and 1", st.Entries, st.Evictions.Expired)
		}
	})
}
