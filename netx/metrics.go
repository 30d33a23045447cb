package netx

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// NewCollector returns a Prometheus collector that reads the Stats of a
// [*Guard] (metrics gotune_netx_server_*) or of a [*RoundTripper]
// (gotune_netx_client_*) on every scrape. name, if not empty, becomes a
// constant "name" label so that several servers or clients can share a
// registry; keep it a fixed, low-cardinality string such as "api". The
// other labels are fixed sets (reason, state, phase, kind): never a URL,
// host or client address. The caller registers it.
func NewCollector[T *Guard | *RoundTripper](x T, name string) prometheus.Collector {
	var cl prometheus.Labels
	if name != "" {
		cl = prometheus.Labels{"name": name}
	}
	switch v := any(x).(type) {
	case *Guard:
		return newServerCollector(v, cl)
	case *RoundTripper:
		return newClientCollector(v, cl)
	}
	panic("unreachable")
}

func newServerCollector(g *Guard, cl prometheus.Labels) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("gotune_netx_server_"+name, help, labels, cl)
	}
	return &serverCollector{
		g:         g,
		requests:  d("requests_total", "Requests that reached the limits (health checks excluded), shed or not."),
		inflight:  d("in_flight_requests", "Requests being handled."),
		limit:     d("in_flight_limit_requests", "Current in-flight limit (static or adaptive)."),
		shed:      d("shed_total", "Requests shed, by reason (in_flight, conn_share, pressure, rate_limit).", "reason"),
		remedies:  d("pressure_remedies_total", "Pressure rises that ran the remedies (caller's hooks, closing idle connections)."),
		stalls:    d("write_stalls_total", "Responses ended because their writes made no progress for the stall timeout."),
		slowBody:  d("slow_bodies_total", "Request bodies ended for arriving below the minimum rate."),
		tooLarge:  d("body_too_large_total", "Requests refused with 413 for their body size."),
		panics:    d("panics_total", "Panics recovered: handlers', and the Guard's hooks'."),
		conns:     d("connections", "Open connections by state (new, active, idle, hijacked).", "state"),
		accepted:  d("connections_accepted_total", "Connections accepted."),
		evicted:   d("connections_evicted_total", "Idle or header-pending connections closed to stay under the connection limit."),
		refused:   d("connections_accept_waits_total", "Times the listener waited before accepting because the limit was reached and no connection could be evicted."),
		ready:     d("ready", "1 while the readiness endpoint answers 200."),
		phase:     d("phase", "1 for the current lifecycle phase (serving, draining, shutdown, closing, stopped).", "phase"),
		maxConnsD: d("connections_limit", "Connection limit in force (0: none)."),
	}
}

type serverCollector struct {
	g                                                          *Guard
	requests, inflight, limit, shed, tooLarge, panics          *prometheus.Desc
	remedies, stalls, slowBody                                 *prometheus.Desc
	conns, accepted, evicted, refused, ready, phase, maxConnsD *prometheus.Desc
}

func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.inflight, c.limit, c.shed, c.tooLarge,
		c.panics, c.conns, c.accepted, c.evicted, c.refused, c.ready, c.phase, c.maxConnsD,
		c.remedies, c.stalls, c.slowBody} {
		ch <- d
	}
}

func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.g.Stats()
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter(c.requests, s.Requests)
	gauge(c.inflight, float64(s.InFlight))
	gauge(c.limit, float64(s.InFlightLimit))
	for _, r := range []string{shedInFlight, shedConnShare, shedPressure, shedRateLimit} {
		counter(c.shed, s.Shed[r], r)
	}
	counter(c.remedies, s.Remedies)
	counter(c.stalls, s.WriteStalls)
	counter(c.slowBody, s.SlowBodies)
	counter(c.tooLarge, s.BodyTooLarge)
	counter(c.panics, s.Panics)
	gauge(c.conns, float64(s.Conns.New), "new")
	gauge(c.conns, float64(s.Conns.Active), "active")
	gauge(c.conns, float64(s.Conns.Idle), "idle")
	gauge(c.conns, float64(s.Conns.Hijacked), "hijacked")
	counter(c.accepted, s.Conns.Accepted)
	counter(c.evicted, s.Conns.Evicted)
	counter(c.refused, s.Conns.Waits)
	gauge(c.maxConnsD, float64(s.Conns.Max))
	gauge(c.ready, b2f(s.Ready))
	for _, p := range phases {
		gauge(c.phase, b2f(p == s.Phase), p)
	}
}

func newClientCollector(rt *RoundTripper, cl prometheus.Labels) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("gotune_netx_client_"+name, help, labels, cl)
	}
	return &clientCollector{
		rt:       rt,
		requests: d("requests_total", "Requests sent (retries not counted again)."),
		conns:    d("connections_total", "Connections handed to requests, by kind (new, reused).", "kind"),
		dials:    d("dials_total", "TCP connection attempts."),
		dialErrs: d("dial_errors_total", "TCP connection attempts that failed."),
		wait:     d("pool_wait_seconds", "Time from asking the pool for a connection to getting one."),
		breakers: d("breakers", "Per-host circuit breakers by state (closed, open, half_open).", "state"),
		trips:    d("breaker_trips_total", "Circuit breaker transitions to open."),
		rejected: d("breaker_rejected_total", "Requests refused by an open circuit breaker."),
		retries:  d("retries_total", "Retries sent."),
		denied:   d("retries_denied_total", "Retries refused by the retry budget or the deadline."),
	}
}

type clientCollector struct {
	rt                                         *RoundTripper
	requests, conns, dials, dialErrs, wait     *prometheus.Desc
	breakers, trips, rejected, retries, denied *prometheus.Desc
}

func (c *clientCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.conns, c.dials, c.dialErrs, c.wait,
		c.breakers, c.trips, c.rejected, c.retries, c.denied} {
		ch <- d
	}
}

func (c *clientCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.rt.Stats()
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	counter(c.requests, s.Requests)
	counter(c.conns, s.ConnsNew, "new")
	counter(c.conns, s.ConnsReused, "reused")
	counter(c.dials, s.Dials)
	counter(c.dialErrs, s.DialErrors)
	if c.rt.poolWait != nil {
		h := c.rt.poolWait.Snapshot()
		ch <- prometheus.MustNewConstHistogram(c.wait, h.Count, h.Sum.Seconds(), h.Buckets())
	}
	g := func(v int, state string) {
		ch <- prometheus.MustNewConstMetric(c.breakers, prometheus.GaugeValue, float64(v), state)
	}
	for _, state := range breakerStates {
		g(s.Breakers[state], state)
	}
	counter(c.trips, s.BreakerTrips)
	counter(c.rejected, s.BreakerRejected)
	counter(c.retries, s.Retries)
	counter(c.denied, s.RetriesDenied)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var _ http.RoundTripper = (*RoundTripper)(nil)
