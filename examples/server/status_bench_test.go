package main

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
	"github.com/gotune/gotune/numa"
	"github.com/gotune/gotune/observe"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tune/auto"
)

// BenchmarkStatusSample measures one sample of the status page's history
// with this server's real sections (tune, numa, gcguard, a netx server and
// client, the TLS cache): what page.Start's loop costs each second. "%core" is the
// share of one core that one sample a second takes.
func BenchmarkStatusSample(b *testing.B) {
	logger := slog.New(slog.DiscardHandler)
	page := status.New()
	page.Add(observe.TuneSection(auto.Tuner()))
	if topo, err := numa.Discover(); err == nil {
		page.Add(observe.NUMASection(topo))
	}
	g, note, err := startGuard(config{}, logger)
	if err != nil {
		b.Skipf("gcguard: %v", err)
	}
	defer g.Stop()
	page.Add(guardSection(g, note))
	srv := netx.NewServer(http.NotFoundHandler())
	page.Add(observe.ServerSection(netx.GuardOf(srv), "front"))
	client := netx.NewClient()
	page.Add(observe.ClientSection(netx.RoundTripperOf(client), "backend"))
	certs, err := newSelfSigned(time.Hour, logger)
	if err != nil {
		b.Fatal(err)
	}
	defer certs.Close()
	page.Add(observe.TLSCacheSection(certs.cache, "front"))

	t0 := time.Now()
	i := 0
	for b.Loop() {
		i++
		page.Sample(t0.Add(time.Duration(i) * time.Second))
	}
	perSample := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(100*perSample/status.SampleInterval.Seconds(), "%core")
}
