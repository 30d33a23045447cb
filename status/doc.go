// Package status serves an operator's page for a gotune service: the tune
// report, the NUMA topology, each pool, certificate cache, server and client
// with its current figures, and the gcguard state, as HTML and as JSON.
//
// The page knows nothing about the other gotune packages: each part is a
// [Section] whose Snapshot func returns a JSON-marshalable value, usually a
// package's Stats() or Report(). That keeps this package free of imports of
// the others, so mounting the page pulls in only what the program already
// uses, and any value of the program's own can be shown beside them.
//
//	page := status.New(
//		status.Section{Name: "tune", Snapshot: func() any { return tuner.Report() }},
//		status.Section{Name: "pool buffers", Snapshot: func() any { return bufs.Stats() }},
//	)
//	mux.Handle("/debug/gotune", page)
//
// # Formats
//
// The handler answers with HTML (no external assets, no JavaScript), or with
// JSON for "?format=json" or an Accept header that prefers
// application/json. "?refresh=N" adds a meta refresh of N seconds to the
// HTML. Values named level, state or pressure that read "critical",
// "elevated", "open" or "half-open" are highlighted.
//
// # Safety
//
// The page shows internal figures: mount it on an internal listener or behind
// authentication, as with net/http/pprof. A Snapshot that panics is shown as
// an error in its section; the handler and the process live on.
package status
