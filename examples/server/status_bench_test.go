package main

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
	"github.com/gotune/gotune/numa"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tune/auto"
)

// BenchmarkStatusSample measures one sample of the status page's history
// with this server's real sections (tune, numa, gcguard, a netx server and
// client, the TLS cache): what page.Run costs each second. "%core" is the
// share of one core that one sample a second takes.
func BenchmarkStatusSample(b *testing.B) {
	logger := slog.New(slog.DiscardHandler)
	page := status.New()
	page.Add(tuneSection(auto.Tuner(), auto.Err()))
	if topo, err := numa.Discover(); err == nil {
		page.Add(numaSection(topo))
	}
	g, note, err := startGuard(config{}, logger)
	if err != nil {
		b.Skipf("gcguard: %v", err)
	}
	defer g.Stop()
	page.Add(gcguardSection(g, note))
	srv := netx.NewServer(http.NotFoundHandler())
	page.Add(serverSection("front", netx.GuardOf(srv), "-max-inflight flag"))
	client := netx.NewClient()
	page.Add(clientSection("backend", netx.RoundTripperOf(client)))
	certs, err := newSelfSigned(time.Hour, logger)
	if err != nil {
		b.Fatal(err)
	}
	defer certs.Close()
	page.Add(tlscacheSection("front", certs.cache))

	t0 := time.Now()
	i := 0
	for b.Loop() {
		i++
		page.Sample(t0.Add(time.Duration(i) * time.Second))
	}
	perSample := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(100*perSample/status.SampleInterval.Seconds(), "%core")
}
