package auto_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/tune/auto"
	"github.com/gotune/gotune/tune/tunemetrics"
)

// TestImportLinksNoPrometheus keeps the one-line import as light as
// automaxprocs: no client_golang, no protobuf in its dependency graph.
func TestImportLinksNoPrometheus(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to list the import's dependencies")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/gotune/gotune/tune/auto").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "prometheus") || strings.Contains(pkg, "protobuf") {
			t.Errorf("tune/auto depends on %s; metrics must be an explicit import", pkg)
		}
	}
}

// TestExplicitCollector registers the import's collector by hand, into the
// default registerer as a service would: nothing was registered before it,
// so there is no duplicate-registration panic, and the series are there.
func TestExplicitCollector(t *testing.T) {
	c := tunemetrics.NewCollector(auto.Tuner(), "")
	if err := prometheus.Register(c); err != nil {
		t.Fatalf("prometheus.Register(tunemetrics.NewCollector(auto.Tuner(), \"\")) = %v, want nil", err)
	}
	defer prometheus.Unregister(c)
	if n := testutil.CollectAndCount(c, "gotune_tune_gomaxprocs_decided"); n != 1 {
		t.Errorf("gotune_tune_gomaxprocs_decided series = %d, want 1", n)
	}
}
