package tlscache_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"

	"github.com/gotune/gotune/tlscache"
)

func TestSessionCacheLRU(t *testing.T) {
	s := tlscache.NewSessionCache(2)
	s1, s2, s3 := &tls.ClientSessionState{}, &tls.ClientSessionState{}, &tls.ClientSessionState{}
	s.Put("a", s1)
	s.Put("b", s2)
	if got, ok := s.Get("a"); !ok || got != s1 { // a is now most recent
		t.Fatalf("Get(%q) = %p, %v, want %p, true", "a", got, ok, s1)
	}
	s.Put("c", s3) // evicts b
	for _, tc := range []struct {
		key  string
		want *tls.ClientSessionState
	}{{"a", s1}, {"b", nil}, {"c", s3}} {
		got, ok := s.Get(tc.key)
		if got != tc.want || ok != (tc.want != nil) {
			t.Errorf("Get(%q) = %p, %v, want %p", tc.key, got, ok, tc.want)
		}
	}
	s.Put("a", nil) // removal
	if _, ok := s.Get("a"); ok {
		t.Error("Get after Put(nil) found the session")
	}
	st := s.Stats()
	want := tlscache.SessionStats{Entries: 1, Capacity: 2, Hits: 3, Misses: 2, Puts: 3, Evictions: 1}
	if st != want {
		t.Errorf("Stats() = %+v, want %+v", st, want)
	}
	if c := tlscache.NewSessionCache(0).Stats().Capacity; c != tlscache.DefaultSessionCapacity {
		t.Errorf("NewSessionCache(0) capacity = %d, want %d", c, tlscache.DefaultSessionCapacity)
	}
}

// TestSessionResumption: over real loopback handshakes, the second
// connection resumes the session the first stored (TLS 1.2 and 1.3).
func TestSessionResumption(t *testing.T) {
	c := yearCert(t, "resume.test")
	ld := tlscache.NewStatic()
	if err := ld.Add(c.cert); err != nil {
		t.Fatal(err)
	}
	cache := mustNew(t, ld)
	defer cache.Close()
	addr, stop := serveTLS(t, &tls.Config{GetCertificate: cache.GetCertificate})
	defer stop()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.certPEM)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(fmt.Sprintf("%x", v), func(t *testing.T) {
			sessions := tlscache.NewSessionCache(8)
			cfg := &tls.Config{ClientSessionCache: sessions, MinVersion: v, MaxVersion: v}
			var resumed []bool
			for range 3 {
				cs, err := handshake(t, addr, "resume.test", roots, cfg)
				if err != nil {
					t.Fatal(err)
				}
				resumed = append(resumed, cs.DidResume)
			}
			if resumed[0] || !resumed[1] || !resumed[2] {
				t.Errorf("DidResume per connection = %v, want [false true true]", resumed)
			}
			st := sessions.Stats()
			if st.Misses != 1 || st.Hits != 2 || st.Entries != 1 {
				t.Errorf("Stats() = %+v, want 1 miss, 2 hits, 1 entry", st)
			}
		})
	}
}

// TestNewSessionCacheNegativePanics: NewSessionCache returns no error, so
// a negative capacity is a documented panic that names the value.
func TestNewSessionCacheNegativePanics(t *testing.T) {
	defer func() {
		if r := fmt.Sprint(recover()); !strings.Contains(r, "NewSessionCache(-1)") {
			t.Errorf("NewSessionCache(-1) panicked with %q, want a panic naming the call and value", r)
		}
	}()
	tlscache.NewSessionCache(-1)
}

// TestSessionCacheChurn: more hosts than room, with removals between,
// keeps the bound and the counts straight.
func TestSessionCacheChurn(t *testing.T) {
	s := tlscache.NewSessionCache(8)
	cs := &tls.ClientSessionState{}
	for i := range 100 {
		s.Put(fmt.Sprintf("h%d", i), cs)
		if i%3 == 0 {
			s.Put(fmt.Sprintf("h%d", i), nil)
		}
	}
	st := s.Stats()
	// Worked by hand (and by an ordered-dict model): h99 was put over a
	// full cache and then removed, leaving 7 of the 8 slots.
	if st.Entries != 7 || st.Puts != 100 || st.Evictions != 59 {
		t.Errorf("Stats() = %+v, want 7 entries, 100 puts, 59 evictions", st)
	}
	for i := 99; i >= 86; i-- {
		_, ok := s.Get(fmt.Sprintf("h%d", i))
		if want := i%3 != 0 && i >= 89; ok != want {
			t.Errorf("Get(h%d) found = %v, want %v", i, ok, want)
		}
	}
}
