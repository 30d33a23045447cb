package observe

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/netx"
	"github.com/gotune/gotune/numa"
	"github.com/gotune/gotune/pool"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tlscache"
	"github.com/gotune/gotune/tune"
	"github.com/gotune/gotune/tune/tunemetrics"
)

// Observer registers parts' collectors with one registerer and adds their
// sections to one status page.
type Observer struct {
	reg  prometheus.Registerer
	page *status.Handler
}

// New returns an Observer for reg and page. A nil reg means
// prometheus.DefaultRegisterer; a nil page means no page (the methods then
// only register collectors).
func New(reg prometheus.Registerer, page *status.Handler) *Observer {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	return &Observer{reg: reg, page: page}
}

// Add adds a section to the page, for parts of the program's own.
func (o *Observer) Add(s status.Section) {
	if o.page != nil {
		o.page.Add(s)
	}
}

func (o *Observer) show(c prometheus.Collector, s status.Section) error {
	o.Add(s)
	if err := o.reg.Register(c); err != nil {
		return fmt.Errorf("observe: %s: %w", s.Name, err)
	}
	return nil
}

// Tune shows tune's decisions: GOMAXPROCS, GOMEMLIMIT and GOGC with their
// real owners, whether the limits bite (throttling, memory events,
// pressure), and tune's metrics (tunemetrics). A nil t, what auto.Tuner
// returns under GOTUNE=off, shows the runtime's own settings and exports
// nothing.
func (o *Observer) Tune(t *tune.Tuner) error {
	return o.show(tunemetrics.NewCollector(t, ""), TuneSection(t))
}

// GCGuard shows the guard's target and pressure level and its metrics.
func (o *Observer) GCGuard(g *gcguard.Guard) error {
	if g == nil {
		return nil
	}
	return o.show(gcguard.NewCollector(g, ""), GCGuardSection(g))
}

// NUMA shows the topology and the pin, and exports per-node memory
// statistics (numa.NewCollector).
func (o *Observer) NUMA(t *numa.Topology, opts ...numa.CollectorOption) error {
	if t == nil {
		return nil
	}
	return o.show(numa.NewCollector(t, "", opts...), NUMASection(t))
}

// Server shows a server that netx.NewServer returned: its in-flight limit,
// requests, shedding by reason, and its metrics.
func (o *Observer) Server(srv *http.Server, name string) error {
	if srv == nil {
		return nil
	}
	g := netx.GuardOf(srv)
	if g == nil {
		return errors.New("observe: Server(" + name + "): not a server from netx.NewServer")
	}
	return o.show(netx.NewCollector(g, name), ServerSection(g, name))
}

// Client shows a client that netx.NewClient returned: its requests, new
// connections, open breakers, and its metrics.
func (o *Observer) Client(c *http.Client, name string) error {
	if c == nil {
		return nil
	}
	rt := netx.RoundTripperOf(c)
	if rt == nil {
		return errors.New("observe: Client(" + name + "): not a client from netx.NewClient")
	}
	return o.show(netx.NewCollector(rt, name), ClientSection(rt, name))
}

// TLSCache shows a certificate cache: entries, hit share, loads and load
// errors, and its metrics.
func (o *Observer) TLSCache(c *tlscache.Cache, name string) error {
	if c == nil {
		return nil
	}
	return o.show(tlscache.NewCollector(c, name), TLSCacheSection(c, name))
}

// Pool shows a pool (a pool.Pool or pool.Buffers): idle objects and bytes,
// hits, drops, and its metrics.
func (o *Observer) Pool(p pool.StatsSource, name string) error {
	if p == nil {
		return nil
	}
	return o.show(pool.NewCollector(p, name), PoolSection(p, name))
}
