// Package netxbench measures netx against the net/http values a user would
// otherwise use, on loopback, with a load generator in the same process:
//
//   - BenchmarkServer: the same handler behind a bare http.Server, behind
//     an http.Server with netx's timeouts but no middleware
//     (bare-timeouts), and behind netx.NewServer (Guard middleware, tracked
//     listener), driven by one keep-alive client. netx against bare is the
//     whole cost; netx against bare-timeouts is the middleware's.
//
//   - BenchmarkClient: the same bare server driven through
//     http.DefaultTransport (as-is: 2 idle connections per host), through
//     netx.NewTransport, and through netx.NewClient's RoundTripper
//     (httptrace metrics on every request).
//
//   - BenchmarkOverload5x: one open-loop run at 5× a known capacity per
//     iteration, reporting the admitted p99 over the unloaded p99 and the
//     median latency of shed responses (the targets).
//
//   - TestAttackHarness (Linux): the attacks of issue #14's table and the
//     ones that held (slowloris, unread and slow bodies, HTTP/2 zero
//     window, idle and half-open floods over TCP and TLS, partial
//     ClientHello, slow reader, 1 MiB header line, 10,000 headers, 100 MiB
//     bodies, handler panics, HTTP/2 rapid reset, CONTINUATION, PING and
//     SETTINGS floods, garbage instead of TLS) against a netx server with
//     its defaults and against a plain &http.Server{Handler: mux}, each in
//     a child process under RLIMIT_NOFILE 256, with a probe GET / on a
//     fresh connection at a fixed interval; it reports the probe's success
//     and the server's goroutines, descriptors and RSS before, during and
//     after each attack. Reduced in CI (the seven rows of #14's table, 100
//     connections, 0.4s each), asserting netx is at least as good as plain
//     net/http; full (every attack, 400 connections, 13s, asserting 95%)
//     with the command below.
//
//   - TestPressureEpisodeGCGuard: issue #14's pressure episode with a real
//     cause: 120 MiB held against a gcguard target of 128 MiB until the
//     level is critical; about half the work is shed, /metrics and
//     /debug/gotune always answer, and every request is served again
//     within 10s (about 1s here) of letting the memory go.
//
// The full attack run:
//
//	GOTUNE_ATTACK_FULL=1 GOTUNE_ATTACK_OUT=attack.md go test -run TestAttackHarness -v -timeout 30m ./bench/netx
//
// Besides ns/op each benchmark reports cpu-ns/op, the process's CPU time per request
// (client and server together), which a shared machine disturbs less than
// wall time. Compare the sub-benchmarks with benchstat -col /server (or
// /client).
package netxbench
