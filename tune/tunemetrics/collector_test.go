package tunemetrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/tune"
	"github.com/gotune/gotune/tune/tunemetrics"
)

func TestNilTunerExportsNothing(t *testing.T) {
	c := tunemetrics.NewCollector(nil, "")
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("CollectAndCount(NewCollector(nil, \"\")) = %d, want 0", n)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Errorf("Register(NewCollector(nil, \"\")) = %v", err)
	}
}

func TestNameLabel(t *testing.T) {
	tu := tune.NewTuner(0, tune.WithRoot(t.TempDir()))
	c := tunemetrics.NewCollector(tu, "api")
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint: %v, %v", problems, err)
	}
	want := `
# HELP gotune_tune_refreshes_total Reads of the limits, the first apply included.
# TYPE gotune_tune_refreshes_total counter
gotune_tune_refreshes_total{name="api"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "gotune_tune_refreshes_total"); err != nil {
		t.Error(err)
	}
	// Two tuners, two names: both register in one registry.
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, tunemetrics.NewCollector(tu, "other"))
}
