package observe_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/netx"
	"github.com/gotune/gotune/observe"
	"github.com/gotune/gotune/pool"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tlscache"
	"github.com/gotune/gotune/tune"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// families gathers reg and returns the metric names it holds.
func families(t *testing.T, reg *prometheus.Registry) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}

// TestOneCallEach shows every part with one call and checks both ends:
// the registry has each part's metrics, and the page each part's section
// and summary rows.
func TestOneCallEach(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	page := status.New()
	o := observe.New(reg, page)

	tu := tune.NewTuner(-1, tune.WithRoot(t.TempDir()), tune.WithMaxProcs(tune.MaxProcsOff), tune.WithoutMemoryLimit())
	if err := tu.Start(); err != nil {
		t.Fatal(err)
	}
	defer tu.Stop()
	g, err := gcguard.Start(gcguard.WithMemoryTarget(1<<30), gcguard.WithDryRun())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	bufs := pool.NewBuffers()
	defer bufs.Close()
	cache, err := tlscache.New(tlscache.LoaderFunc(func(context.Context, string) (*tls.Certificate, error) {
		return nil, errors.New("no certificates here")
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	srv := netx.NewServer(http.NotFoundHandler())
	client := netx.NewClient()
	defer client.CloseIdleConnections()

	for what, err := range map[string]error{
		"Tune":     o.Tune(tu),
		"GCGuard":  o.GCGuard(g),
		"Pool":     o.Pool(bufs, "json"),
		"TLSCache": o.TLSCache(cache, "front"),
		"Server":   o.Server(srv, "api"),
		"Client":   o.Client(client, "backend"),
	} {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	names := families(t, reg)
	for _, prefix := range []string{"gotune_tune_", "gotune_gcguard_", "gotune_pool_", "gotune_tlscache_", "gotune_netx_server_", "gotune_netx_client_"} {
		found := false
		for n := range names {
			found = found || strings.HasPrefix(n, prefix)
		}
		if !found {
			t.Errorf("no %s* metric registered", prefix)
		}
	}
	snap := page.Snapshot()
	rows := map[string]status.Row{}
	for _, r := range snap.Summary {
		rows[r.Name] = r
	}
	for _, want := range []string{"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "gcguard target", "memory pressure", "pool (json)", "TLS cache (front)", "in-flight limit (api)"} {
		if r, ok := rows[want]; !ok || r.Value == "" || r.Source == "" {
			t.Errorf("summary row %q = %+v, want a value and a source", want, r)
		}
	}
	sections := map[string]bool{}
	for _, s := range snap.Sections {
		sections[s.Name] = s.Error == ""
	}
	for _, want := range []string{"tune", "gcguard", "pool json", "tlscache front", "server api", "client backend"} {
		if !sections[want] {
			t.Errorf("section %q missing or failing: %v", want, sections)
		}
	}
}

// TestMisuse: a name used twice is the registry's error, a server or
// client netx did not build is an error naming it, nil parts add nothing,
// and a nil Tuner (GOTUNE=off) still shows the runtime's settings.
func TestMisuse(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	page := status.New()
	o := observe.New(reg, page)
	bufs := pool.NewBuffers()
	defer bufs.Close()
	if err := o.Pool(bufs, "same"); err != nil {
		t.Fatal(err)
	}
	var already prometheus.AlreadyRegisteredError
	if err := o.Pool(bufs, "same"); !errors.As(err, &already) {
		t.Errorf("Pool twice with one name = %v, want AlreadyRegisteredError", err)
	}
	if err := o.Server(&http.Server{}, "plain"); err == nil || !strings.Contains(err.Error(), "plain") {
		t.Errorf("Server(plain http.Server) = %v, want an error naming it", err)
	}
	if err := o.Client(http.DefaultClient, "default"); err == nil || !strings.Contains(err.Error(), "default") {
		t.Errorf("Client(http.DefaultClient) = %v, want an error naming it", err)
	}
	if err := errors.Join(o.GCGuard(nil), o.TLSCache(nil, "x"), o.Server(nil, "x"), o.Client(nil, "x"), o.NUMA(nil)); err != nil {
		t.Errorf("nil parts: %v", err)
	}
	if err := o.Tune(nil); err != nil {
		t.Errorf("Tune(nil): %v", err)
	}
	var gomaxprocs bool
	for _, r := range page.Snapshot().Summary {
		gomaxprocs = gomaxprocs || (r.Name == "GOMAXPROCS" && r.Source != "")
	}
	if !gomaxprocs {
		t.Error("Tune(nil): no GOMAXPROCS row")
	}
	// No page: collectors only.
	if err := observe.New(prometheus.NewRegistry(), nil).Pool(bufs, "x"); err != nil {
		t.Errorf("Pool without a page: %v", err)
	}
}
