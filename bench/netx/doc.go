// Package netxbench measures netx against the net/http values a user would
// otherwise use, on loopback, with a load generator in the same process:
//
//   - BenchmarkServer: the same handler behind a bare http.Server, behind
//     an http.Server with netx's timeouts but no middleware
//     (bare-timeouts), and behind netx.NewServer (Guard middleware, tracked
//     listener), driven by one keep-alive client. netx against bare is the
//     whole cost; netx against bare-timeouts is the middleware's.
//   - BenchmarkClient: the same bare server driven through
//     http.DefaultTransport (as-is: 2 idle connections per host), through
//     netx.NewTransport, and through netx.NewClient's RoundTripper
//     (httptrace metrics on every request).
//   - BenchmarkOverload5x: one open-loop run at 5× a known capacity per
//     iteration, reporting the admitted p99 over the unloaded p99 and the
//     median latency of shed responses (the targets).
//
// Besides ns/op each reports cpu-ns/op, the process's CPU time per request
// (client and server together), which a shared machine disturbs less than
// wall time. Compare the sub-benchmarks with benchstat -col /server (or
// /client).
package netxbench
