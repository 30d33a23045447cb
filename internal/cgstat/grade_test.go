package cgstat_test

import (
	"testing"

	"github.com/gotune/gotune/internal/cgstat"
)

func TestGrader(t *testing.T) {
	psi := func(avg10 float64, host bool) *cgstat.Pressure {
		l := cgstat.PSI{Some: cgstat.PSILine{Avg10: avg10}}
		return &cgstat.Pressure{HostWide: host, CPU: &l, Memory: &l}
	}
	var g cgstat.Grader
	steps := []struct {
		name     string
		s        cgstat.Stats
		cpu, mem int
	}{
		{"first reading: nothing to compare", cgstat.Stats{CPU: &cgstat.CPUStat{Periods: 100, Throttled: 90}, Memory: &cgstat.MemStat{OOMKill: 3}}, cgstat.OK, cgstat.OK},
		{"leaf quiet, the binding ancestor throttled 60%", cgstat.Stats{CPU: &cgstat.CPUStat{Periods: 200, Throttled: 90}, CPUTightest: &cgstat.CPUStat{Periods: 100, Throttled: 60}}, cgstat.OK, cgstat.OK},
		{"ancestor 60% since", cgstat.Stats{CPUTightest: &cgstat.CPUStat{Periods: 200, Throttled: 120}, Memory: &cgstat.MemStat{OOMKill: 3}}, cgstat.Critical, cgstat.OK},
		{"memory.high events", cgstat.Stats{Memory: &cgstat.MemStat{High: 2, OOMKill: 3}}, cgstat.OK, cgstat.Elevated},
		{"an OOM kill", cgstat.Stats{Memory: &cgstat.MemStat{High: 2, OOMKill: 4}}, cgstat.OK, cgstat.Critical},
		{"the host's PSI does not count", cgstat.Stats{Memory: &cgstat.MemStat{High: 2, OOMKill: 4}, Pressure: psi(90, true)}, cgstat.OK, cgstat.OK},
		{"the cgroup's PSI 20%", cgstat.Stats{Memory: &cgstat.MemStat{High: 2, OOMKill: 4}, Pressure: psi(20, false)}, cgstat.Elevated, cgstat.Elevated},
	}
	for _, st := range steps {
		if cpu, mem := g.Grade(st.s); cpu != st.cpu || mem != st.mem {
			t.Errorf("%s: Grade = %d, %d; want %d, %d", st.name, cpu, mem, st.cpu, st.mem)
		}
	}
}
