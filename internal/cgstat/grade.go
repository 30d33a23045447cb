package cgstat

// The grades of [Grader]: the same as gcguard's levels, so a grade plugs
// into netx's pressure input beside them.
const (
	OK       = 0
	Elevated = 1
	Critical = 2
)

// Thresholds of the grades. Elevated: more than 10% of CFS periods
// throttled between two readings, or tasks stalled on the resource (PSI
// some avg10) more than 10% of the last 10 s, the point at which Meta's
// oomd and senpai start acting. Critical: more than half the periods, or
// more than 40%.
const (
	ElevatedShare   = 0.10
	CriticalShare   = 0.5
	ElevatedPercent = 10.0
	CriticalPercent = 40.0
)

// Grader grades successive readings of one cgroup: how hard the CPU limit
// and the memory limit bite between the previous reading and this one.
// The host's PSI (HostWide) does not count: it says nothing of this
// container. The zero Grader is ready; it is not safe for concurrent use.
type Grader struct {
	haveCPU, haveMem      bool
	periods, throttled    uint64
	memEvents, hardEvents uint64
}

// Grade grades s against the previous reading and remembers s.
//
// CPU: the share of periods throttled since the previous reading (of the
// quota that binds), or the cgroup's CPU PSI. Memory: the cgroup's memory
// PSI, memory.high and memory.max events since the previous reading
// (elevated) and OOMs or OOM kills (critical), so memory outside the Go
// heap — page cache, cgo, a sidecar — counts as much as the heap.
func (g *Grader) Grade(s Stats) (cpu, mem int) {
	// A figure missing from one reading (a file that could not be read)
	// keeps its previous value as the base of the next comparison.
	var share float64
	var soft, oom bool
	c := s.CPUTightest
	if c == nil {
		c = s.CPU
	}
	if c != nil {
		if g.haveCPU && c.Periods > g.periods && c.Throttled >= g.throttled {
			share = float64(c.Throttled-g.throttled) / float64(c.Periods-g.periods)
		}
		g.haveCPU, g.periods, g.throttled = true, c.Periods, c.Throttled
	}
	if m := s.Memory; m != nil {
		events, hard := m.High+m.Max+m.OOM+m.OOMKill, m.OOM+m.OOMKill
		if g.haveMem {
			soft, oom = events > g.memEvents, hard > g.hardEvents
		}
		g.haveMem, g.memEvents, g.hardEvents = true, events, hard
	}

	var cpuPSI, memPSI float64
	if p := s.Pressure; p != nil && !p.HostWide {
		if p.CPU != nil {
			cpuPSI = p.CPU.Some.Avg10
		}
		if p.Memory != nil {
			memPSI = p.Memory.Some.Avg10
		}
	}
	switch {
	case share > CriticalShare || cpuPSI > CriticalPercent:
		cpu = Critical
	case share > ElevatedShare || cpuPSI > ElevatedPercent:
		cpu = Elevated
	}
	switch {
	case memPSI > CriticalPercent || oom:
		mem = Critical
	case memPSI > ElevatedPercent || soft:
		mem = Elevated
	}
	return cpu, mem
}
