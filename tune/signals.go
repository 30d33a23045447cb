package tune

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/gotune/gotune/internal/cgstat"
)

// The figures the kernel keeps about the limits biting, as read from the
// cgroup (see [Signals] for which files).
type (
	// CPUStat is a cpu.stat: CFS bandwidth periods, how many were
	// throttled and for how long, and bursts where the kernel reports them.
	CPUStat = cgstat.CPUStat
	// MemoryStat is what the memory controller counted: on v2
	// memory.events and memory.current; on v1 memory.failcnt (as Max),
	// memory.oom_control and memory.usage_in_bytes.
	MemoryStat = cgstat.MemStat
	// Pressure is Pressure Stall Information for CPU, memory and IO, the
	// cgroup's or, marked HostWide, the host's.
	Pressure = cgstat.Pressure
	// PSI is one pressure file: its "some" line and, where the kernel
	// writes one, its "full" line.
	PSI = cgstat.PSI
	// PSILine is one line of a pressure file.
	PSILine = cgstat.PSILine
)

// Thresholds above which [Signals] call the limits biting.
const (
	// ThrottleWarnShare: more than 10% of CFS periods throttled over the
	// window. A quota spent in the first 20 ms of a 100 ms period stalls
	// every thread for the other 80 ms; at 10% of periods that is already
	// a p99 tail of tens of milliseconds.
	ThrottleWarnShare = cgstat.ElevatedShare
	// PressureWarnPercent: tasks stalled on memory (some avg10) or on the
	// CPU more than 10% of the last 10 s, the point at which Meta's oomd
	// and senpai start acting.
	PressureWarnPercent = cgstat.ElevatedPercent
)

// The levels of [Tuner.CPUPressure] and [Tuner.MemoryPressure]: the same
// grades as gcguard's levels (0 ok, 1 elevated, 2 critical), so either
// plugs into netx.WithPressure with max PressureCritical.
const (
	PressureOK       = cgstat.OK
	PressureElevated = cgstat.Elevated
	PressureCritical = cgstat.Critical
)

// signalWindow is how far back the throttled share looks, and warnEvery
// how often one condition may log again while it lasts.
const (
	signalWindow = time.Minute
	warnEvery    = 10 * time.Minute
)

// Signals are what the kernel measured about the limits biting, read at
// each refresh of a [Tuner]: throttling from cpu.stat (the leaf's, and the
// ancestor's whose quota binds), memory limit events, and pressure stall
// information. Absent figures are nil (a v1 host without PSI, a cgroup
// without the cpu controller).
type Signals struct {
	Time        time.Time   `json:"time"`
	CPU         *CPUStat    `json:"cpu,omitempty"`
	CPUTightest *CPUStat    `json:"cpu_tightest,omitempty"`
	Memory      *MemoryStat `json:"memory,omitempty"`
	Pressure    *Pressure   `json:"pressure,omitempty"`

	// Window is the span the two figures below cover: the refreshes of
	// the last minute (zero before the second refresh).
	Window time.Duration `json:"window_ns"`
	// ThrottledShare is the share of CFS periods throttled in the window,
	// counted where the binding quota is (the ancestor's, if tighter).
	ThrottledShare float64 `json:"throttled_share"`
	// MemoryEvents counts memory.events high, max, oom and oom_kill (v1:
	// failcnt and oom_kill) in the window.
	MemoryEvents uint64 `json:"memory_events"`

	// Alerts say, one sentence each, which limit is biting now and what to
	// do about it; empty while none is.
	Alerts []string `json:"alerts,omitempty"`
	// Error is the last read's error, if any (the figures it could read
	// are still here).
	Error string `json:"error,omitempty"`
}

// sample is what the window keeps of one read.
type sample struct {
	at                time.Time
	periods, throttle uint64
	memEvents         uint64
}

// signals is the Tuner's state for Signals; guarded by Tuner.mu.
type signals struct {
	cur      Signals
	hist     []sample // oldest first, at most the window's worth
	lastWarn map[string]time.Time
	grader   cgstat.Grader // CPUPressure and MemoryPressure
}

// binding is the cpu.stat of the quota that binds: the ancestor's where
// one is tighter than the leaf's, else the leaf's.
func binding(leaf, tight *CPUStat) *CPUStat {
	if tight != nil {
		return tight
	}
	return leaf
}

func memEvents(m *MemoryStat) uint64 {
	if m == nil {
		return 0
	}
	return m.High + m.Max + m.OOM + m.OOMKill
}

// readSignals reads the figures for r's cgroup and folds them into the
// window. Called with t.mu held, after each apply.
func (t *Tuner) readSignals(r Report, now time.Time) {
	st, err := cgstat.Read(t.cfg.root, r.dirs)
	s := &t.sig
	cur := Signals{Time: now, CPU: st.CPU, CPUTightest: st.CPUTightest, Memory: st.Memory, Pressure: st.Pressure}
	if err != nil {
		cur.Error = err.Error()
	}
	smp := sample{at: now, memEvents: memEvents(st.Memory)}
	if c := binding(st.CPU, st.CPUTightest); c != nil {
		smp.periods, smp.throttle = c.Periods, c.Throttled
	}
	// Keep the samples of the last minute, and one older to measure from.
	s.hist = append(s.hist, smp)
	for len(s.hist) > 2 && now.Sub(s.hist[1].at) >= signalWindow {
		s.hist = s.hist[1:]
	}
	cpu, mem := s.grader.Grade(st)
	t.cpuLevel.Store(int32(cpu))
	t.memLevel.Store(int32(mem))
	if len(s.hist) > 1 {
		first := s.hist[0]
		cur.Window = now.Sub(first.at)
		if dp := smp.periods - first.periods; smp.periods > first.periods && smp.throttle >= first.throttle {
			cur.ThrottledShare = float64(smp.throttle-first.throttle) / float64(dp)
		}
		if smp.memEvents > first.memEvents {
			cur.MemoryEvents = smp.memEvents - first.memEvents
		}
	}
	as := alerts(cur, r)
	for _, a := range as {
		cur.Alerts = append(cur.Alerts, a.text)
	}
	s.cur = cur
	t.warn(as, r, now)
}

// alert is one condition that is biting now: its kind keys the rate limit
// of its log line.
type alert struct{ kind, text string }

// alerts words what is biting now, one sentence each.
func alerts(s Signals, r Report) []alert {
	var out []alert
	if s.ThrottledShare > ThrottleWarnShare {
		out = append(out, alert{"throttling", fmt.Sprintf("throttled in %.0f%% of CPU periods over the last %s: GOMAXPROCS %d against a %s CPU quota; raise the quota or lower GOMAXPROCS",
			100*s.ThrottledShare, s.Window.Round(time.Second), r.GOMAXPROCS.After, formatQuota(r.Limits.CPUQuota))})
	}
	if m := s.Memory; s.MemoryEvents > 0 && m != nil {
		what := "memory.high or memory.max reached"
		switch {
		case m.OOMKill > 0:
			what = fmt.Sprintf("memory limit reached (%d OOM kills in the cgroup so far)", m.OOMKill)
		case !m.V2:
			what = "memory.limit_in_bytes reached (memory.failcnt grew)"
		}
		out = append(out, alert{"memory events", fmt.Sprintf("%s: %d memory events over the last %s; raise the memory limit or lower GOMEMLIMIT (now %s)",
			what, s.MemoryEvents, s.Window.Round(time.Second), FormatBytes(r.GOMEMLIMIT.After))})
	}
	if p := s.Pressure; p != nil {
		scope := "the cgroup's"
		if p.HostWide {
			scope = "the host's, not this container's"
		}
		if p.Memory != nil && p.Memory.Some.Avg10 > PressureWarnPercent {
			out = append(out, alert{"memory pressure", fmt.Sprintf("memory pressure: tasks stalled on memory %.0f%% of the last 10 s (%s PSI); memory outside the Go heap (page cache, cgo, a sidecar) may be near the limit",
				p.Memory.Some.Avg10, scope)})
		}
		// The host's CPU pressure says nothing about this container.
		if p.CPU != nil && p.CPU.Some.Avg10 > PressureWarnPercent && !p.HostWide {
			out = append(out, alert{"cpu pressure", fmt.Sprintf("CPU pressure: runnable tasks waited for a CPU %.0f%% of the last 10 s (%s PSI)", p.CPU.Some.Avg10, scope)})
		}
	}
	return out
}

// warn logs an alert once when it starts, and again at most every
// warnEvery while it lasts: one line through the Tuner's logger.
func (t *Tuner) warn(as []alert, r Report, now time.Time) {
	if t.cfg.logger == nil {
		return
	}
	if t.sig.lastWarn == nil {
		t.sig.lastWarn = map[string]time.Time{}
	}
	for _, a := range as {
		if last, ok := t.sig.lastWarn[a.kind]; ok && now.Sub(last) < warnEvery {
			continue
		}
		t.sig.lastWarn[a.kind] = now
		t.cfg.logger.Warn("gotune: "+a.text, slog.String("cgroup", r.Limits.Path))
	}
}

// CPUPressure grades how hard the CPU limit bites now, from the periods
// throttled between the last two refreshes and the cgroup's CPU pressure:
// [PressureOK], [PressureElevated] (over 10% throttled, or tasks waiting
// for a CPU over 10% of the last 10 s) or [PressureCritical] (over half, or
// over 40%). It is one atomic load, cheap enough to call per request, and
// plugs into netx's pressure input:
//
//	netx.WithPressure(tuner.CPUPressure, tune.PressureCritical)
//
// It is safe for concurrent use and on a nil Tuner (PressureOK).
func (t *Tuner) CPUPressure() int {
	if t == nil {
		return PressureOK
	}
	return int(t.cpuLevel.Load())
}

// MemoryPressure grades how hard the memory limit bites now, from memory
// outside the Go heap as much as inside it: the cgroup's memory pressure
// (over 10% or 40% of the last 10 s stalled) and the limit events since
// the previous refresh (memory.high or memory.max reached: elevated; an OOM
// or OOM kill: critical). Levels and use are as for [Tuner.CPUPressure].
func (t *Tuner) MemoryPressure() int {
	if t == nil {
		return PressureOK
	}
	return int(t.memLevel.Load())
}

// Signals returns the figures of the latest refresh. Before the first
// apply, and where the Tuner reads no cgroup, it is the zero Signals.
func (t *Tuner) Signals() Signals {
	if t == nil {
		return Signals{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sig.cur
}
