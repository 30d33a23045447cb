package numa

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestCollectorFixture(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	topo, err := Discover(WithRoot("testdata/2socket"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCollector(topo, "", WithMinInterval(10*time.Second))
	c.setClock(clk.now)
	// Values worked out by hand from testdata/2socket: node meminfo in kB,
	// numastat in pages, numa_maps N<node>=pages × kernelpagesize_kB.
	want := `
# HELP gotune_numa_host_memory_total_bytes Host-wide memory per node (node meminfo MemTotal).
# TYPE gotune_numa_host_memory_total_bytes gauge
gotune_numa_host_memory_total_bytes{node="0"} 6.742243328e+10
gotune_numa_host_memory_total_bytes{node="1"} 6.7645587456e+10
# HELP gotune_numa_host_memory_free_bytes Host-wide free memory per node (node meminfo MemFree).
# TYPE gotune_numa_host_memory_free_bytes gauge
gotune_numa_host_memory_free_bytes{node="0"} 4.096e+10
gotune_numa_host_memory_free_bytes{node="1"} 5.12e+10
# HELP gotune_numa_process_resident_bytes This process's resident memory per node, from /proc/self/numa_maps.
# TYPE gotune_numa_process_resident_bytes gauge
gotune_numa_process_resident_bytes{node="0"} 8.421376e+06
gotune_numa_process_resident_bytes{node="1"} 8.798208e+06
# HELP gotune_numa_host_numastat_pages_total Host-wide page allocations per node from /sys/devices/system/node/node*/numastat, by counter (numa_hit, numa_miss, ...).
# TYPE gotune_numa_host_numastat_pages_total counter
gotune_numa_host_numastat_pages_total{node="0",stat="interleave_hit"} 3
gotune_numa_host_numastat_pages_total{node="0",stat="local_node"} 990
gotune_numa_host_numastat_pages_total{node="0",stat="numa_foreign"} 5
gotune_numa_host_numastat_pages_total{node="0",stat="numa_hit"} 1000
gotune_numa_host_numastat_pages_total{node="0",stat="numa_miss"} 0
gotune_numa_host_numastat_pages_total{node="0",stat="other_node"} 20
gotune_numa_host_numastat_pages_total{node="1",stat="interleave_hit"} 3
gotune_numa_host_numastat_pages_total{node="1",stat="local_node"} 990
gotune_numa_host_numastat_pages_total{node="1",stat="numa_foreign"} 5
gotune_numa_host_numastat_pages_total{node="1",stat="numa_hit"} 1001
gotune_numa_host_numastat_pages_total{node="1",stat="numa_miss"} 10
gotune_numa_host_numastat_pages_total{node="1",stat="other_node"} 20
`
	names := []string{"gotune_numa_host_memory_total_bytes", "gotune_numa_host_memory_free_bytes",
		"gotune_numa_process_resident_bytes", "gotune_numa_host_numastat_pages_total"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Errorf("CollectAndLint = %v, %v", problems, err)
	}
	// Two scrapes within the interval read the files once.
	if st := c.Stats(); st.Reads != 1 || st.Scrapes != 2 || st.ReadErrors != 0 {
		t.Errorf("Stats() = %+v, want 1 read for 2 scrapes, no errors", st)
	}
	if v := testutil.ToFloat64(c.pinnedGauge()); v != -1 {
		t.Errorf("gotune_numa_pinned_node = %v, want -1 when not pinned", v)
	}
	clk.t = clk.t.Add(10 * time.Second)
	testutil.CollectAndCount(c)
	st := c.Stats()
	if st.Reads != 2 || !st.LastRead.Equal(clk.t) {
		t.Errorf("Stats() after the interval = %+v, want a second read at %v", st, clk.t)
	}
	if b, err := json.Marshal(st); err != nil || !strings.Contains(string(b), `"reads_total":2`) {
		t.Errorf("json.Marshal(Stats()) = %s, %v", b, err)
	}
}

func TestCollectorErrors(t *testing.T) {
	root := copyTree(t, "testdata/2socket")
	if err := os.WriteFile(filepath.Join(root, "sys/devices/system/node/node1/numastat"), []byte("numa_hit lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := NewCollector(&Topology{Root: root}, "", WithMinInterval(-1))
	// What could be read is still exported: node 0's counters, both nodes' memory.
	if n := testutil.CollectAndCount(c, "gotune_numa_host_numastat_pages_total"); n != 6 {
		t.Errorf("numastat series with node 1 broken = %d, want node 0's 6", n)
	}
	if n := testutil.CollectAndCount(c, "gotune_numa_host_memory_total_bytes"); n != 2 {
		t.Errorf("memory series = %d, want 2", n)
	}
	st := c.Stats()
	if st.ReadErrors != st.Reads || !strings.Contains(st.LastError, "numastat") {
		t.Errorf("Stats() = %+v, want every read to count an error naming numastat", st)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "gotune_numa_collector_read_errors_total" {
			found = true
			if got := mf.GetMetric()[0].GetCounter().GetValue(); got != float64(c.Stats().ReadErrors) {
				t.Errorf("gotune_numa_collector_read_errors_total = %v, want %d", got, c.Stats().ReadErrors)
			}
		}
	}
	if !found {
		t.Errorf("gotune_numa_collector_read_errors_total not exported")
	}
}

// NewCollector(topo, name): the name is a constant label on every series,
// so two collectors register side by side; a nil topology exports nothing.
func TestCollectorNameAndNil(t *testing.T) {
	topo, err := Discover(WithRoot("testdata/2socket"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCollector(topo, "api")
	want := `
# HELP gotune_numa_host_memory_total_bytes Host-wide memory per node (node meminfo MemTotal).
# TYPE gotune_numa_host_memory_total_bytes gauge
gotune_numa_host_memory_total_bytes{name="api",node="0"} 6.742243328e+10
gotune_numa_host_memory_total_bytes{name="api",node="1"} 6.7645587456e+10
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "gotune_numa_host_memory_total_bytes"); err != nil {
		t.Error(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(NewCollector(topo, "other")); err != nil {
		t.Errorf("Register(a second collector named other) = %v, want nil", err)
	}
	if err := reg.Register(NewCollector(nil, "none")); err != nil {
		t.Errorf("Register(NewCollector(nil, \"none\")) = %v, want nil", err)
	}
	if n := testutil.CollectAndCount(NewCollector(nil, "")); n != 0 {
		t.Errorf("a nil topology's collector exported %d series, want 0", n)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("Gather: %v", err)
	}
}
