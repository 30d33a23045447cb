// Package poolbench holds process-level harnesses for package pool: how
// much idle memory a pool gives back after a burst (against sync.Pool),
// and a buffer-heavy HTTP handler path. They are benchmarks and tests in
// their own package so a failure here never breaks package pool.
//
// Run:
//
//	go test ./bench/pool -run Idle -v
//	go test ./bench/pool -run '^$' -bench . -benchtime 1x -count 6
package poolbench
