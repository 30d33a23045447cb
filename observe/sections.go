package observe

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/internal/owner"
	"github.com/gotune/gotune/netx"
	"github.com/gotune/gotune/numa"
	"github.com/gotune/gotune/pool"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tlscache"
	"github.com/gotune/gotune/tune"
)

// settingRow is the row of one runtime setting: the value in force, and
// who set it as the owner registry (internal/owner) records it, not as
// guessed from values. The tune report supplies the reason where tune
// owns the setting or left it to the runtime.
func settingRow(name string, s owner.Setting, format func(int64) string, rep *tune.Setting) status.Row {
	r := status.Row{Name: name, Value: format(owner.Current(s))}
	who, last, now, ok := owner.Held(s)
	switch {
	case ok && now == last && who == owner.GCGuard:
		r.Source = "gcguard"
		switch s {
		case owner.GOGC:
			r.Reason = "The GC controller moves GOGC each GC cycle to keep the heap under its memory target."
		default:
			r.Reason = "Set to the GC controller's memory target, as the safety net under GOGC."
		}
	case ok && now == last && who == owner.NUMA:
		r.Source = "numa"
		r.Reason = "numa.Pin set it to the CPUs of the node it pinned the process to."
	case ok && now == last:
		r.Source = who
		if rep != nil && rep.Reason != "" {
			r.Reason = rep.Reason + "."
		}
	case ok:
		r.Source = "set outside gotune"
		r.Reason = fmt.Sprintf("%s last set %s; something else changed it since, and gotune leaves it alone.", who, format(last))
	case rep != nil:
		r.Source = string(rep.Source)
		if rep.Source == tune.SourceDefault {
			r.Source = "runtime default"
		}
		r.Reason = rep.Reason + "."
	default:
		r.Source = "runtime default"
		r.Reason = "tune/auto is off (GOTUNE=off or a bad GOTUNE_* value)."
	}
	if r.Reason != "" {
		r.Reason = strings.ToUpper(r.Reason[:1]) + r.Reason[1:] // tune's reasons are phrases
	}
	return r
}

func formatLimit(n int64) string {
	if n == math.MaxInt64 {
		return "off"
	}
	return status.FormatBytes(float64(n))
}

func formatGOGC(n int64) string {
	if n < 0 {
		return "off"
	}
	return fmt.Sprint(n)
}

// TuneSection shows the tune report with the three runtime settings as
// summary rows (their real owners from the registry that tune, gcguard and
// numa.Pin claim them through), whether the limits bite, and tune's plots.
// tuner is nil where tune/auto is off.
func TuneSection(tuner *tune.Tuner) status.Section {
	report := func() *tune.Report {
		if tuner == nil {
			return nil
		}
		r := tuner.Report()
		return &r
	}
	return status.Section{
		Name: "tune",
		Snapshot: func() any {
			if tuner == nil {
				return map[string]string{"state": "off", "why": "no Tuner (tune/auto off: GOTUNE=off or a bad GOTUNE_* value)"}
			}
			return struct {
				Report  tune.Report     `json:"report"`
				Stats   tune.TunerStats `json:"stats"`
				Signals tune.Signals    `json:"signals"`
			}{tuner.Report(), tuner.Stats(), tuner.Signals()}
		},
		Summary: func() []status.Row {
			r := report()
			pick := func(f func(*tune.Report) *tune.Setting) *tune.Setting {
				if r == nil {
					return nil
				}
				return f(r)
			}
			rows := []status.Row{
				settingRow("GOMAXPROCS", owner.GOMAXPROCS, func(n int64) string { return fmt.Sprint(n) },
					pick(func(r *tune.Report) *tune.Setting { return &r.GOMAXPROCS })),
				settingRow("GOMEMLIMIT", owner.GOMEMLIMIT, formatLimit,
					pick(func(r *tune.Report) *tune.Setting { return &r.GOMEMLIMIT })),
				settingRow("GOGC", owner.GOGC, formatGOGC,
					pick(func(r *tune.Report) *tune.Setting { return &r.GOGC })),
			}
			if tuner != nil {
				rows = append(rows, signalRows(tuner.Signals())...)
				if st := tuner.Stats(); st.Errors > 0 {
					rows = append(rows, status.Row{Name: "tune refresh", Value: fmt.Sprintf("%d errors", st.Errors), Source: "tune",
						Reason: "Re-reading the limits failed; the settings were kept: " + st.LastError, Level: status.Warn})
				}
			}
			return rows
		},
		Sample: func() []status.Point {
			if tuner == nil {
				return nil
			}
			pts := []status.Point{{Plot: "tune refresh errors", Series: "errors", Value: float64(tuner.Stats().Errors), Counter: true, Alert: status.Warn}}
			sig := tuner.Signals()
			if sig.CPU != nil || sig.CPUTightest != nil {
				pts = append(pts, status.Point{Plot: "CPU throttling", Series: "periods throttled (last minute)", Unit: status.Share, Value: sig.ThrottledShare})
			}
			if sig.Memory != nil {
				m := sig.Memory
				pts = append(pts, status.Point{Plot: "memory limit events", Series: "high, max, oom", Value: float64(m.High + m.Max + m.OOM + m.OOMKill), Counter: true, Alert: status.Warn})
			}
			if p := sig.Pressure; p != nil && p.Memory != nil {
				pts = append(pts, status.Point{Plot: "pressure stall (avg10)", Series: "memory", Unit: status.Share, Value: p.Memory.Some.Avg10 / 100})
				if p.CPU != nil {
					pts = append(pts, status.Point{Plot: "pressure stall (avg10)", Series: "cpu", Unit: status.Share, Value: p.CPU.Some.Avg10 / 100})
				}
			}
			return pts
		},
	}
}

// signalRows says whether the limits bite: CPU throttling over the last
// minute where a CPU quota counts periods, and each alert the Tuner raised
// (memory events, pressure), with the alert's sentence as the reason.
func signalRows(sig tune.Signals) []status.Row {
	var rows []status.Row
	throttled := false
	bind := sig.CPUTightest
	if bind == nil {
		bind = sig.CPU
	}
	if bind != nil && bind.Periods > 0 {
		r := status.Row{Name: "CPU throttling", Value: fmt.Sprintf("%.0f%% of periods", 100*sig.ThrottledShare), Source: "kernel (cpu.stat)",
			Reason: fmt.Sprintf("Periods throttled by the CPU quota over the last %s; above %.0f%% the quota stalls the service.", sig.Window.Round(time.Second), 100*tune.ThrottleWarnShare)}
		if sig.Window == 0 {
			r.Value, r.Reason = "not measured yet", "Measured between two refreshes of the limits."
		}
		if sig.ThrottledShare > tune.ThrottleWarnShare {
			r.Level, throttled = status.Warn, true
		}
		rows = append(rows, r)
	}
	for _, a := range sig.Alerts {
		if throttled && strings.HasPrefix(a, "throttled in") {
			rows[0].Reason = a // the throttling row, with the cause and the fix
			continue
		}
		name, _, _ := strings.Cut(a, ":")
		rows = append(rows, status.Row{Name: name, Value: "alert", Source: "kernel", Reason: a, Level: status.Warn})
	}
	return rows
}

// GCGuardSection shows the guard: its memory target and pressure level as
// summary rows, and both on the plots.
func GCGuardSection(g *gcguard.Guard) status.Section {
	return status.Section{
		Name:     "gcguard",
		Snapshot: func() any { return g.Stats() },
		Summary: func() []status.Row {
			s := g.Stats()
			target := status.Row{Name: "gcguard target", Value: status.FormatBytes(float64(s.Target)), Source: string(s.TargetSource),
				Reason: "The heap size gcguard steers GOGC towards."}
			if s.DryRun {
				target.Reason += " Dry run: it reports, and changes nothing."
			}
			level := status.Row{Name: "memory pressure", Value: s.Level.String(), Source: "gcguard",
				Reason: fmt.Sprintf("Live heap %s of the %s target; GC used %s of the CPU over %s.",
					status.FormatBytes(float64(s.LiveHeap)), status.FormatBytes(float64(s.Target)), status.FormatShare(s.GCCPU), s.Window)}
			switch s.Level {
			case gcguard.LevelElevated:
				level.Level = status.Warn
			case gcguard.LevelCritical:
				level.Level = status.Bad
			}
			return []status.Row{target, level}
		},
		Sample: func() []status.Point {
			s := g.Stats()
			return []status.Point{
				{Plot: status.PlotHeap, Series: "gcguard target", Unit: status.Bytes, Value: float64(s.Target)},
				{Plot: "memory pressure (0 ok, 1 elevated, 2 critical)", Series: "level", Value: float64(s.Level)},
			}
		},
	}
}

// NUMASection shows the topology and the pin in effect.
func NUMASection(topo *numa.Topology) status.Section {
	return status.Section{
		Name:     "numa",
		Snapshot: func() any { return topo },
		Summary: func() []status.Row {
			if pin, ok := numa.Pinned(); ok {
				reason := fmt.Sprintf("Every thread on CPUs %v; memory policy %s.", pin.CPUs, pin.MemPolicy)
				if len(pin.Notes) > 0 {
					reason += " " + strings.Join(pin.Notes, "; ") + "."
				}
				return []status.Row{{Name: "NUMA pin", Value: fmt.Sprintf("node %d", pin.Node), Source: "numa", Reason: reason}}
			}
			r := status.Row{Name: "NUMA pin", Value: "not pinned", Source: "numa"}
			switch {
			case !topo.NUMA || len(topo.Nodes) == 1:
				r.Reason = "One memory node: nothing to pin to."
			case topo.SpansNodes:
				r.Reason = fmt.Sprintf("%d nodes, and the allowed CPUs span them; pinning to node %d is opt-in (numa.Pin).", len(topo.Nodes), topo.Local)
			default:
				r.Reason = fmt.Sprintf("The allowed CPUs all lie on node %d already.", topo.Local)
			}
			return []status.Row{r}
		},
	}
}

// ServerSection shows a netx server's Guard: its in-flight limit as a
// summary row (warn outside the serving phase), and requests in flight,
// served and shed by reason on a plot.
func ServerSection(g *netx.Guard, name string) status.Section {
	return status.Section{
		Name:     "server " + name,
		Snapshot: func() any { return g.Stats() },
		Summary: func() []status.Row {
			s := g.Stats()
			limit := "none"
			if s.InFlightLimit > 0 {
				limit = status.FormatCount(float64(s.InFlightLimit))
			}
			r := status.Row{Name: "in-flight limit (" + name + ")", Value: fmt.Sprintf("%s (%d now)", limit, s.InFlight), Source: "netx",
				Reason: "Requests beyond it, and a share under memory pressure, get 503 with Retry-After."}
			if s.Phase != "" && s.Phase != "serving" {
				r.Reason += " Phase: " + s.Phase + "."
				r.Level = status.Warn
			}
			return []status.Row{r}
		},
		Sample: func() []status.Point {
			s := g.Stats()
			plot := "requests " + name
			pts := []status.Point{
				{Plot: plot, Series: "in flight", Value: float64(s.InFlight)},
				{Plot: plot, Series: "served/s", Value: float64(s.Requests), Counter: true},
			}
			for _, reason := range []string{"in_flight", "pressure", "rate_limit"} {
				pts = append(pts, status.Point{Plot: plot, Series: "shed " + strings.ReplaceAll(reason, "_", " ") + "/s",
					Value: float64(s.Shed[reason]), Counter: true, Alert: status.Warn})
			}
			return pts
		},
	}
}

// ClientSection shows a netx client: open breakers as a summary row, and
// requests, new connections and breaker rejects on a plot.
func ClientSection(rt *netx.RoundTripper, name string) status.Section {
	return status.Section{
		Name:     "client " + name,
		Snapshot: func() any { return rt.Stats() },
		Summary: func() []status.Row {
			b := rt.Stats().Breakers
			if b["open"] == 0 && b["half_open"] == 0 {
				return nil
			}
			lvl := status.Warn
			if b["open"] > 0 {
				lvl = status.Bad
			}
			return []status.Row{{Name: "breaker (" + name + ")", Value: fmt.Sprintf("%d open, %d half-open", b["open"], b["half_open"]),
				Source: "netx", Reason: "Calls to those hosts fail fast until a probe succeeds.", Level: lvl}}
		},
		Sample: func() []status.Point {
			s := rt.Stats()
			plot := "client " + name
			return []status.Point{
				{Plot: plot, Series: "requests/s", Value: float64(s.Requests), Counter: true},
				{Plot: plot, Series: "new conns/s", Value: float64(s.ConnsNew), Counter: true},
				{Plot: plot, Series: "breaker rejects/s", Value: float64(s.BreakerRejected), Counter: true, Alert: status.Bad},
			}
		},
	}
}

// TLSCacheSection shows a certificate cache: entries and hit share as a
// summary row, and hits, loads and load errors on a plot.
func TLSCacheSection(c *tlscache.Cache, name string) status.Section {
	return status.Section{
		Name:     "tlscache " + name,
		Snapshot: func() any { return c.Stats() },
		Summary: func() []status.Row {
			s := c.Stats()
			hit := "no handshakes yet"
			if n := s.Hits + s.Misses; n > 0 {
				hit = status.FormatShare(float64(s.Hits)/float64(n)) + " hits"
			}
			return []status.Row{{Name: "TLS cache (" + name + ")", Value: fmt.Sprintf("%s of %s certs, %s", status.FormatCount(float64(s.Entries)), status.FormatCount(float64(s.MaxEntries)), hit),
				Source: "tlscache", Reason: "Certificates are served from memory, loaded once per name and refreshed before they expire."}}
		},
		Sample: func() []status.Point {
			s := c.Stats()
			plot := "TLS cache " + name
			return []status.Point{
				{Plot: plot, Series: "hits/s", Value: float64(s.Hits), Counter: true},
				{Plot: plot, Series: "loads/s", Value: float64(s.Loads), Counter: true},
				{Plot: plot, Series: "load errors/s", Value: float64(s.LoadErrors), Counter: true, Alert: status.Bad},
			}
		},
	}
}

// PoolSection shows a pool: idle objects (and bytes) against the bound as a
// summary row, and gets, hits and drops on a plot.
func PoolSection(p pool.StatsSource, name string) status.Section {
	return status.Section{
		Name:     "pool " + name,
		Snapshot: func() any { return p.Stats() },
		Summary: func() []status.Row {
			s := p.Stats()
			idle := status.FormatCount(float64(s.Idle)) + " idle"
			if s.IdleBytes > 0 {
				idle += " (" + status.FormatBytes(float64(s.IdleBytes)) + ")"
			}
			ttl := "kept until the pool is closed"
			if s.TTL > 0 {
				ttl = "dropped after " + status.FormatDuration(s.TTL) + " idle"
			}
			r := status.Row{Name: "pool (" + name + ")", Value: idle + " of " + status.FormatCount(float64(s.MaxIdle)), Source: "pool",
				Reason: "Idle objects are " + ttl + ", and all of them under memory pressure."}
			if s.HookPanics > 0 {
				r.Level = status.Warn
				r.Reason += fmt.Sprintf(" %d hook calls panicked (recovered).", s.HookPanics)
			}
			return []status.Row{r}
		},
		Sample: func() []status.Point {
			s := p.Stats()
			plot := "pool " + name
			return []status.Point{
				{Plot: plot, Series: "gets/s", Value: float64(s.Gets), Counter: true},
				{Plot: plot, Series: "hits/s", Value: float64(s.Hits), Counter: true},
				{Plot: plot, Series: "drops/s", Value: float64(s.DropsFull + s.DropsOversized + s.DropsPressure), Counter: true},
			}
		},
	}
}
