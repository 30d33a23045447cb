// Package e2epeers is the end-to-end benchmark: the service in ./server
// (a CPU-bound or memory-bound HTTP handler) inside a real cgroup v1 CPU
// and memory group, driven by an open-loop load generator at a fixed
// arrival rate whose latencies count from each request's intended send
// time (so a stalled server cannot hide its queue: no coordinated
// omission), in three configurations: gotune (tune/auto and gcguard), off
// (GOTUNE=off, the runtime's defaults) and peers (automaxprocs +
// automemlimit).
//
// Cases: "leaf", a leaf group with a 1.5 CPU quota and 512 MiB; "parent",
// a parent group with 1 CPU and 256 MiB over a leaf without limits, where
// the server runs; "mem", the leaf limits with a handler that keeps a
// 320 MiB live set, replaces 64 KiB of it and allocates 256 KiB more per
// request.
//
// It runs only as a benchmark (root, cgroup v1 writable):
//
//	go test -run '^$' -bench E2E -benchtime 1x ./e2e
//
// and prints a markdown table; the results are in bench/README.md.
package e2epeers
