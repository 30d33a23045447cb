package tlscache_test

import (
	"strings"
	"testing"

	"github.com/gotune/gotune/tlscache"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollector(t *testing.T) {
	c1 := yearCert(t, "m.test")
	ld := newCountingLoader()
	ld.set("m.test", c1.cert)
	cache := mustNew(t, ld, tlscache.WithMaxEntries(5))
	defer cache.Close()
	for range 3 {
		cache.GetCertificate(hello("m.test"))
	}
	cache.GetCertificate(hello("missing.test"))
	cache.GetCertificate(hello("missing.test"))
	cache.GetCertificate(hello("bad name"))

	col := tlscache.NewCollector(cache, "main")
	if problems, err := testutil.CollectAndLint(col); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint = %v, %v", problems, err)
	}
	want := `
# HELP gotune_tlscache_hits_total Handshakes served from the certificate cache.
# TYPE gotune_tlscache_hits_total counter
gotune_tlscache_hits_total{name="main"} 2
# HELP gotune_tlscache_loads_total Loader calls, including background refreshes.
# TYPE gotune_tlscache_loads_total counter
gotune_tlscache_loads_total{name="main"} 2
# HELP gotune_tlscache_negative_hits_total Misses answered by a remembered failed load.
# TYPE gotune_tlscache_negative_hits_total counter
gotune_tlscache_negative_hits_total{name="main"} 1
# HELP gotune_tlscache_refused_total Handshakes refused before any lookup, by reason (invalid_name: the server name cannot be a DNS host name).
# TYPE gotune_tlscache_refused_total counter
gotune_tlscache_refused_total{name="main",reason="invalid_name"} 1
# HELP gotune_tlscache_entries Cached certificates.
# TYPE gotune_tlscache_entries gauge
gotune_tlscache_entries{name="main"} 1
# HELP gotune_tlscache_max_entries Configured bound on cached certificates.
# TYPE gotune_tlscache_max_entries gauge
gotune_tlscache_max_entries{name="main"} 5
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(want),
		"gotune_tlscache_hits_total", "gotune_tlscache_loads_total", "gotune_tlscache_negative_hits_total",
		"gotune_tlscache_entries", "gotune_tlscache_max_entries", "gotune_tlscache_refused_total"); err != nil {
		t.Error(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(col); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(tlscache.NewSessionCollector(tlscache.NewSessionCache(4), "main")); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "gotune_tlscache_") {
			t.Errorf("metric %q lacks the gotune_tlscache_ prefix", mf.GetName())
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "name" && l.GetName() != "reason" {
					t.Errorf("metric %q has label %q; only bounded labels are allowed", mf.GetName(), l.GetName())
				}
			}
		}
	}
	if n := testutil.CollectAndCount(col, "gotune_tlscache_evictions_total"); n != 4 {
		t.Errorf("evictions_total series = %d, want 4 reasons", n)
	}
}

func TestSessionCollectorLabel(t *testing.T) {
	s := tlscache.NewSessionCache(4)
	s.Get("a")
	want := `
# HELP gotune_tlscache_session_misses_total Client session cache lookups that found none (full handshake).
# TYPE gotune_tlscache_session_misses_total counter
gotune_tlscache_session_misses_total{name="client"} 1
`
	if err := testutil.CollectAndCompare(tlscache.NewSessionCollector(s, "client"), strings.NewReader(want),
		"gotune_tlscache_session_misses_total"); err != nil {
		t.Error(err)
	}
}
