// Package status serves an operator's page for a gotune service. It answers,
// at a glance, what gotune decided, why, and whether the process is healthy:
// first anything abnormal, then a summary with one row per decision
// (GOMAXPROCS, GOMEMLIMIT, GOGC, gcguard's target, the in-flight limit, …)
// in human units with its source and reason, then plots of the last few
// minutes, then every section's figures in full.
//
// The page knows nothing about the other gotune packages: each part is a
// [Section] whose Snapshot func returns a JSON-marshalable value, usually a
// package's Stats() or Report(), and whose optional Summary and Sample funcs
// contribute [Row] values to the summary and [Point] values to the plots.
// That keeps this package free of imports of the others, so mounting the
// page pulls in only what the program already uses, any value of the
// program's own can be shown beside them, and a change to another package's
// Stats never breaks this one. The price is that the program (see
// examples/server) writes the few lines that turn a Stats value into rows
// and points.
//
//	page := status.New(
//		status.Section{Name: "tune", Snapshot: func() any { return tuner.Report() }},
//		status.Section{Name: "pool buffers", Snapshot: func() any { return bufs.Stats() },
//			Sample: func() []status.Point {
//				return []status.Point{{Plot: "buffers", Series: "gets", Value: float64(bufs.Stats().Gets), Counter: true}}
//			}},
//	)
//	page.Start() // one sample a second for the plots; page.Stop() ends it
//	mux.Handle("/debug/gotune", page)
//
// # Plots
//
// [Handler.Start] (or a program's own loop calling [Handler.Sample]) samples
// once a second into a fixed ring of [HistoryLen]
// samples (five minutes) for at most [MaxSeries] series, about 80 KiB
// whatever the uptime. Every sample reads the runtime's heap, heap goal,
// GOMEMLIMIT, GOGC and GC CPU share through runtime/metrics (no
// stop-the-world) and calls each section's Sample func; a counter's
// [Point] is kept as its rate per second. One sample costs a few
// microseconds here (BenchmarkSample) and 13–21 µs with examples/server's
// real sections (its BenchmarkStatusSample), about 0.002 % of a core at one
// a second. The plots are inline SVG: no JavaScript, no external assets.
// A section's plot that stayed at zero over the whole history (no errors,
// no events) is named in one line instead of drawn.
//
// # Formats
//
// The handler answers with HTML, or with JSON for "?format=json" or an
// Accept header that prefers application/json. The HTML prints numbers in
// human units chosen from the JSON key's name ("_bytes" as MiB or GiB,
// "_ns" as a duration, "_share" as a percentage, zero times as "never",
// histograms as a small bar table) and fits a 400 px wide screen; the JSON
// keeps the exact numbers, with the unit in the field name. "?refresh=N"
// adds a meta refresh of N seconds to the HTML. Summary rows at [Warn] or
// [Bad], a section that panics, and a series with an Alert level whose
// latest value is above zero are listed at the top; values named level,
// state or pressure that read "critical", "elevated", "open" or
// "half-open" are highlighted.
//
// # Safety
//
// The page shows internal figures: mount it on an internal listener or behind
// authentication, as with net/http/pprof. A Snapshot, Summary or Sample func
// that panics is shown as an error (or loses its points); the handler and
// the process live on.
package status
