//go:build linux

package numa

import (
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCollectorThisHost reads the real files: this process has resident
// memory on the node it runs on, and the host's node has memory.
func TestCollectorThisHost(t *testing.T) {
	topo := realTopology(t)
	c := NewCollector(topo, "")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if st := c.Stats(); st.ReadErrors != 0 {
		t.Fatalf("Stats() = %+v, want no read errors on this host", st)
	}
	values := map[string]map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			node := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "node" {
					node = l.GetValue()
				}
			}
			if values[mf.GetName()] == nil {
				values[mf.GetName()] = map[string]float64{}
			}
			values[mf.GetName()][node] += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	local := strconv.Itoa(topo.Local)
	if !topo.NUMA {
		t.Skip("no node directory on this host")
	}
	if values["gotune_numa_process_resident_bytes"][local] <= 0 {
		t.Errorf("gotune_numa_process_resident_bytes{node=%q} = %v, want > 0", local, values["gotune_numa_process_resident_bytes"])
	}
	if values["gotune_numa_host_memory_total_bytes"][local] <= 0 {
		t.Errorf("gotune_numa_host_memory_total_bytes{node=%q} = %v, want > 0", local, values["gotune_numa_host_memory_total_bytes"])
	}
	if values["gotune_numa_host_numastat_pages_total"][local] <= 0 {
		t.Errorf("gotune_numa_host_numastat_pages_total{node=%q} = %v, want > 0", local, values["gotune_numa_host_numastat_pages_total"])
	}
}
