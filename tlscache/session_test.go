package tlscache_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
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
