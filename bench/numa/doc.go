// Package numabench holds process-level benchmarks of package numa: the
// cost of pinning every thread of the process against pinning only the
// calling thread, and the call overhead of a pinned worker against a plain
// goroutine. Results and commands are in bench/README.md.
package numabench
