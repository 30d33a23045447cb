package tlscache

import "github.com/prometheus/client_golang/prometheus"

// NewCollector returns a Prometheus collector that reads c.Stats() on each
// scrape. name, if not empty, becomes a constant "name" label so several
// caches can be registered; no label ever carries a server name.
//
// Metrics (all prefixed gotune_tlscache_):
//
//	hits_total, misses_total, negative_hits_total, waits_total   counters
//	overloaded_total                                              counter
//	refused_total{reason="invalid_name"}                          counter
//	loads_total, load_errors_total, load_timeouts_total          counters
//	loader_panics_total                                           counter
//	refreshes_total, refresh_errors_total                         counters
//	evictions_total{reason="capacity|expired|invalidated|negative_capacity"}
//	load_duration_seconds                                         histogram
//	entries, max_entries, negative_entries, loads_in_flight       gauges
//	negative_bytes, max_negative_bytes                            gauges
func NewCollector(c *Cache, name string) prometheus.Collector {
	col := &collector{c: c}
	var cl prometheus.Labels
	if name != "" {
		cl = prometheus.Labels{"name": name}
	}
	d := func(n, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("gotune_tlscache_"+n, help, labels, cl)
	}
	col.hits = d("hits_total", "Handshakes served from the certificate cache.")
	col.misses = d("misses_total", "Handshakes not served from the certificate cache.")
	col.negHits = d("negative_hits_total", "Misses answered by a remembered failed load.")
	col.waits = d("waits_total", "Misses that waited for a load already in progress.")
	col.overloaded = d("overloaded_total", "Misses refused because the maximum number of loads was running.")
	col.refused = d("refused_total", "Handshakes refused before any lookup, by reason (invalid_name: the server name cannot be a DNS host name).", "reason")
	col.panics = d("loader_panics_total", "Loader calls that panicked or called runtime.Goexit.")
	col.loads = d("loads_total", "Loader calls, including background refreshes.")
	col.loadErrors = d("load_errors_total", "Loader calls that failed.")
	col.loadTimeouts = d("load_timeouts_total", "Loader calls ended by the load timeout.")
	col.refreshes = d("refreshes_total", "Background refreshes started ahead of expiry.")
	col.refreshErrors = d("refresh_errors_total", "Background refreshes that failed while the old certificate kept serving.")
	col.evictions = d("evictions_total", "Entries removed, by reason.", "reason")
	col.loadDur = d("load_duration_seconds", "Duration of loader calls.")
	col.entries = d("entries", "Cached certificates.")
	col.maxEntries = d("max_entries", "Configured bound on cached certificates.")
	col.negEntries = d("negative_entries", "Remembered failed loads.")
	col.inFlight = d("loads_in_flight", "Loads running now.")
	col.negBytes = d("negative_bytes", "Memory charged to remembered failed loads.")
	col.maxNegBytes = d("max_negative_bytes", "Configured bound on the memory of remembered failed loads.")
	return col
}

type collector struct {
	c                                            *Cache
	hits, misses, negHits, waits, overloaded     *prometheus.Desc
	loads, loadErrors, loadTimeouts              *prometheus.Desc
	refreshes, refreshErrors, evictions, loadDur *prometheus.Desc
	entries, maxEntries, negEntries, inFlight    *prometheus.Desc
	refused, panics, negBytes, maxNegBytes       *prometheus.Desc
}

func (col *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{col.hits, col.misses, col.negHits, col.waits, col.overloaded,
		col.loads, col.loadErrors, col.loadTimeouts, col.refreshes, col.refreshErrors,
		col.evictions, col.loadDur, col.entries, col.maxEntries, col.negEntries, col.inFlight,
		col.refused, col.panics, col.negBytes, col.maxNegBytes} {
		ch <- d
	}
}

func (col *collector) Collect(ch chan<- prometheus.Metric) {
	s := col.c.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter(col.hits, s.Hits)
	counter(col.misses, s.Misses)
	counter(col.negHits, s.NegativeHits)
	counter(col.waits, s.Waits)
	counter(col.overloaded, s.Overloaded)
	counter(col.refused, s.InvalidNames, "invalid_name")
	counter(col.panics, s.LoaderPanics)
	counter(col.loads, s.Loads)
	counter(col.loadErrors, s.LoadErrors)
	counter(col.loadTimeouts, s.LoadTimeouts)
	counter(col.refreshes, s.Refreshes)
	counter(col.refreshErrors, s.RefreshErrors)
	counter(col.evictions, s.Evictions.Capacity, "capacity")
	counter(col.evictions, s.Evictions.Expired, "expired")
	counter(col.evictions, s.Evictions.Invalidated, "invalidated")
	counter(col.evictions, s.NegativeEvictions, "negative_capacity")
	buckets := make(map[float64]uint64, len(s.LoadDuration.Buckets))
	for _, b := range s.LoadDuration.Buckets {
		buckets[b.UpperBound] = b.Count
	}
	ch <- prometheus.MustNewConstHistogram(col.loadDur, s.LoadDuration.Count, s.LoadDuration.Sum, buckets)
	gauge(col.entries, s.Entries)
	gauge(col.maxEntries, s.MaxEntries)
	gauge(col.negEntries, s.NegativeEntries)
	gauge(col.inFlight, s.InFlight)
	gauge(col.negBytes, s.NegativeBytes)
	gauge(col.maxNegBytes, s.MaxNegativeBytes)
}

// NewSessionCollector returns a Prometheus collector for a [SessionCache]:
// gotune_tlscache_session_hits_total, _session_misses_total,
// _session_puts_total, _session_evictions_total and the gauge
// _session_entries. name, if not empty, becomes a constant "name" label.
func NewSessionCollector(s *SessionCache, name string) prometheus.Collector {
	var cl prometheus.Labels
	if name != "" {
		cl = prometheus.Labels{"name": name}
	}
	d := func(n, help string) *prometheus.Desc {
		return prometheus.NewDesc("gotune_tlscache_session_"+n, help, nil, cl)
	}
	return &sessionCollector{
		s:         s,
		hits:      d("hits_total", "Client session cache lookups that found a session to resume."),
		misses:    d("misses_total", "Client session cache lookups that found none (full handshake)."),
		puts:      d("puts_total", "Sessions stored in the client session cache."),
		evictions: d("evictions_total", "Sessions dropped from the client session cache to make room."),
		entries:   d("entries", "Sessions in the client session cache."),
	}
}

type sessionCollector struct {
	s                                      *SessionCache
	hits, misses, puts, evictions, entries *prometheus.Desc
}

func (c *sessionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hits
	ch <- c.misses
	ch <- c.puts
	ch <- c.evictions
	ch <- c.entries
}

func (c *sessionCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(c.puts, prometheus.CounterValue, float64(st.Puts))
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(st.Evictions))
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(st.Entries))
}
