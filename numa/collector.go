package numa

import (
	"errors"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gotune/gotune/internal/sysnode"
)

// numastatNames are the numastat counters exported, a fixed set so the
// stat label stays bounded whatever a future kernel adds.
var numastatNames = []string{"numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node"}

// Collector is a [prometheus.Collector] for per-node memory and numastat
// counters of the host and this process's memory residency per node. It
// reads the files under its [Topology]'s Root when scraped, at most once per
// [WithMinInterval], and serves cached values in between. It is safe for
// concurrent use.
//
// The host-wide metrics are named gotune_numa_host_*; node_exporter
// exports similar data as node_memory_numa_*, and the names do not clash.
type Collector struct {
	root        string // "" for a nil Topology: the collector exports nothing
	minInterval time.Duration
	now         func() time.Time // time.Now; tests replace it (export_test.go)
	logger      *slog.Logger
	maxMapLines int

	mu    sync.Mutex
	snap  snapshot
	stats CollectorStats

	numastat, memTotal, memFree, resident, pinnedNode, reads, readErrors *prometheus.Desc
}

type snapshot struct {
	nodes    []nodeSnap
	resident map[int]uint64
}

type nodeSnap struct {
	id       string
	mem      sysnode.NodeMem
	hasMem   bool
	numastat sysnode.Numastat
	hasStat  bool
}

// CollectorStats is a snapshot of a [Collector]'s own work.
type CollectorStats struct {
	// Reads counts rereads of the files; Scrapes counts Collect calls,
	// including those served from the cache.
	Reads   uint64 `json:"reads_total"`
	Scrapes uint64 `json:"scrapes_total"`
	// ReadErrors counts rereads in which some file could not be read.
	ReadErrors uint64 `json:"read_errors_total"`
	// LastRead is when the files were last read; LastError the last
	// error, empty after a clean read.
	LastRead  time.Time `json:"last_read"`
	LastError string    `json:"last_error,omitempty"`
}

// NewCollector returns a collector for the host t describes, reading the
// files under t.Root (so a [Topology] from Discover([WithRoot](dir)) gives
// a collector for dir). A non-empty name becomes the constant label
// name="…" on every series, as in every gotune collector, so two
// collectors can be registered side by side. A nil t gives a collector
// that exports nothing, so code that registers it need not check whether
// [Discover] worked. [WithMinInterval] and [WithLogger] apply. It reads
// nothing until scraped; the caller registers it.
func NewCollector(t *Topology, name string, opts ...CollectorOption) *Collector {
	c := newCollectorConfig(opts)
	var root string
	if t != nil {
		root = t.Root
	}
	var cl prometheus.Labels
	if name != "" {
		cl = prometheus.Labels{"name": name}
	}
	node := []string{"node"}
	return &Collector{
		root:        root,
		minInterval: c.minInterval,
		now:         time.Now,
		logger:      c.logger,
		maxMapLines: c.maxMapLines,
		numastat: prometheus.NewDesc("gotune_numa_host_numastat_pages_total",
			"Host-wide page allocations per node from /sys/devices/system/node/node*/numastat, by counter (numa_hit, numa_miss, ...).",
			[]string{"node", "stat"}, cl),
		memTotal: prometheus.NewDesc("gotune_numa_host_memory_total_bytes",
			"Host-wide memory per node (node meminfo MemTotal).", node, cl),
		memFree: prometheus.NewDesc("gotune_numa_host_memory_free_bytes",
			"Host-wide free memory per node (node meminfo MemFree).", node, cl),
		resident: prometheus.NewDesc("gotune_numa_process_resident_bytes",
			"This process's resident memory per node, from /proc/self/numa_maps.", node, cl),
		pinnedNode: prometheus.NewDesc("gotune_numa_pinned_node",
			"The node numa.Pin pinned this process to, or -1 when not pinned.", nil, cl),
		reads: prometheus.NewDesc("gotune_numa_collector_reads_total",
			"Times the collector reread its files (scrapes in between are served from cache).", nil, cl),
		readErrors: prometheus.NewDesc("gotune_numa_collector_read_errors_total",
			"Rereads in which some file could not be read.", nil, cl),
	}
}

// Describe implements [prometheus.Collector].
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.numastat, c.memTotal, c.memFree, c.resident, c.pinnedNode, c.reads, c.readErrors} {
		ch <- d
	}
}

// Collect implements [prometheus.Collector].
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.root == "" {
		return // nil Topology
	}
	c.mu.Lock()
	c.stats.Scrapes++
	now := c.now()
	if c.stats.Reads == 0 || now.Sub(c.stats.LastRead) >= c.minInterval || now.Before(c.stats.LastRead) {
		c.refresh(now)
	}
	snap, st := c.snap, c.stats
	c.mu.Unlock()

	for _, n := range snap.nodes {
		if n.hasMem {
			ch <- prometheus.MustNewConstMetric(c.memTotal, prometheus.GaugeValue, float64(n.mem.Total), n.id)
			ch <- prometheus.MustNewConstMetric(c.memFree, prometheus.GaugeValue, float64(n.mem.Free), n.id)
		}
		if n.hasStat {
			for i, name := range n.numastat.Names {
				if slices.Contains(numastatNames, name) {
					ch <- prometheus.MustNewConstMetric(c.numastat, prometheus.CounterValue, float64(n.numastat.Values[i]), n.id, name)
				}
			}
		}
	}
	ids := make([]int, 0, len(snap.resident))
	for id := range snap.resident {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ch <- prometheus.MustNewConstMetric(c.resident, prometheus.GaugeValue, float64(snap.resident[id]), strconv.Itoa(id))
	}
	node := -1
	if r, ok := Pinned(); ok {
		node = r.Node
	}
	ch <- prometheus.MustNewConstMetric(c.pinnedNode, prometheus.GaugeValue, float64(node))
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(st.Reads))
	ch <- prometheus.MustNewConstMetric(c.readErrors, prometheus.CounterValue, float64(st.ReadErrors))
}

// refresh rereads the files; c.mu is held. Whatever could be read is kept.
func (c *Collector) refresh(now time.Time) {
	c.stats.Reads++
	c.stats.LastRead = now
	var errs []error
	var snap snapshot
	{
		raw, err := sysnode.ReadNodes(c.root)
		if err != nil {
			errs = append(errs, err)
		}
		for _, n := range raw.Nodes {
			ns := nodeSnap{id: strconv.Itoa(n.ID), mem: n.Mem, hasMem: n.HasMem || n.Mem.Total > 0}
			st, err := sysnode.ReadNumastat(c.root, n.ID)
			switch {
			case err == nil:
				ns.numastat, ns.hasStat = st, true
			case !errors.Is(err, os.ErrNotExist):
				errs = append(errs, err)
			}
			snap.nodes = append(snap.nodes, ns)
		}
		snap.resident, err = sysnode.ReadNumaMaps(c.root, c.maxMapLines)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	c.snap = snap
	c.stats.LastError = ""
	if err := errors.Join(errs...); err != nil {
		c.stats.ReadErrors++
		c.stats.LastError = err.Error()
		if c.logger != nil {
			c.logger.Warn("numa: collector read", slog.Any("error", err))
		}
	}
}

// Stats returns a snapshot of the collector's own counters.
func (c *Collector) Stats() CollectorStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}
