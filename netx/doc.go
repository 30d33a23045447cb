// Package netx provides hardened HTTP clients and servers: every timeout
// set, pools sized for real concurrency, graceful shutdown on SIGTERM,
// load shedding, rate limiting, circuit breaking and retries with a budget,
// each counted for metrics.
//
// net/http's zero values are tuned for trusted networks: [http.Server] has
// no timeouts, [http.DefaultTransport] has no response-header timeout and
// keeps two idle connections per host, [http.Client] has no overall
// timeout, and [http.Server.Shutdown] knows nothing of signals or load
// balancers. netx keeps the net/http types and fills in the rest.
//
// # Server
//
// [NewServer] returns an [*http.Server] whose handler is the caller's
// handler behind a [Guard]:
//
//	srv := netx.NewServer(mux, netx.WithMaxInFlight(200))
//	srv.Addr = ":8080"
//	err := netx.ListenAndServe(ctx, srv, netx.WithDrainDelay(5*time.Second))
//
// The Guard, in order: answers /healthz and /readyz itself; lets the
// operator's endpoints (/metrics, /debug/gotune, /debug/pprof/; see
// [WithExempt]) through every limit below; sheds a share of requests with
// 503 that grows with the level of [WithPressure]; answers 429 with
// Retry-After past the token bucket of [WithRateLimit] (per client
// address with [KeyByClientIP]); sheds with 503 a request whose
// connection holds more than its fair share of the in-flight limit; sheds
// with 503 and Retry-After past the in-flight limit ([WithMaxInFlight],
// or [WithAdaptiveLimit]); refuses bodies over the limit with 413; ends
// responses and request bodies that stop making progress
// ([WithProgressTimeouts]); recovers handler panics with a 500 (the
// process lives, the panic is logged and counted). [WithRefusal] writes the 503, 429 and 413 answers your way,
// for example as JSON. Get the Guard of a server with [GuardOf], or build
// one with [NewGuard] for a server of your own.
//
// # Options and values
//
// Each constructor takes its own option type: [ServerOption] for
// [NewServer] and [NewGuard], [ClientOption] for [NewClient],
// [ServeOption] for [Serve] and [ListenAndServe]; an option meant for one
// does not compile on another. What is a field of the returned
// [*http.Server], [*http.Transport] or [*http.Client] (timeouts, pool
// sizes, TLS configuration) has no option: set the field.
//
// One rule for values, the same in every gotune package: the zero value
// means the documented default; a negative value means off or no limit
// ([NoDrain] names it for the drain delay); an invalid value (a negative
// field of [AdaptiveLimit], [BreakerSettings] or [RetryPolicy], a rate
// limit with no burst) makes the constructor panic, since none of them
// returns an error.
//
// Server defaults (fields of the returned server except where noted), and
// when to change them:
//
//	ReadHeaderTimeout  10s     slowloris bound; rarely needs changing
//	ReadTimeout        30s     whole request; raise for large uploads
//	WriteTimeout       60s     extend per request for streaming (ResponseController)
//	IdleTimeout        120s    keep above the load balancer's idle timeout (60s on most)
//	MaxHeaderBytes     64 KiB  431 beyond; raise for very large cookies
//	body limit         10 MiB  413 beyond; per route, wrap with http.MaxBytesReader
//	in-flight limit    max(256, 128×GOMAXPROCS); set to what the backend holds
//	Retry-After (503)  1s
//	connection limit   3/4 of RLIMIT_NOFILE (see Connections)
//	write stall        15s     a response whose writes move nothing that long is ended
//	body minimum rate  1 KiB/s after 10s (mod_reqtimeout's body=10,MinRate=1024)
//
// # Fairness and overload
//
// The in-flight limit protects what the handler holds while it works.
// Two things keep it from becoming a way to lock others out. First, no
// connection may hold more than its fair share once the server is past
// half its limit: limit / (connections with requests in the handler + 1),
// so a single HTTP/2 connection with hundreds of streams, or HTTP/1
// pipelining, takes at most half, and its further streams get 503 (reason
// "conn_share") while other connections are served. The last eighth of
// the limit is kept for connections with no request in the handler yet,
// so a flood of streams over a few connections (HTTP/2 rapid reset opens
// and cancels thousands a second) cannot fill it between two checks; a
// connection's first request meets only the limit itself. Second, a request
// whose handler is blocked writing to its client (a slow reader, or an
// HTTP/2 client that opens no flow-control window) does not count against
// the limit while it waits: the client holds it, not the handler's
// resources; the write stall timeout ends it.
//
// Pressure is graded, not a cliff ([WithPressure]): when the level rises
// the remedies run first (the caller's, such as dropping idle pool
// objects or trimming caches, then closing idle keep-alive connections);
// a second later, if the level is still up, a share of requests grows
// with the level, up to half at the highest, and shedding stops as soon
// as the level falls. The operator's endpoints are never shed, so the
// server can be watched while it recovers.
//
// # Connections
//
// [Guard.Listener] (applied by [ListenAndServe] and [Serve]) tracks every
// connection by state. When a connection arrives past the connection
// limit ([WithMaxConns]) another is closed to make room, chosen by what it
// has sent, the oldest first within each rank: one net/http has held open
// for 200ms after an error response such as 431, only to let the client
// read it; then an idle keep-alive connection idle for 100ms with nothing
// of a next request read (its client reconnects, as after IdleTimeout);
// then one that has sent nothing for half a second, or that has completed
// a TLS handshake and sent no request for half a second (a second under
// TLS 1.2, where the server speaks last); then one that has sent part of
// its headers or ClientHello (or of its next request), trickles its body,
// is still without a request 3s after it connected, or has read none of
// its response for half a second (its send queue has not drained). When
// none of those is left, the default limit lets connections in past it up
// to the ceiling, all but 1/16 of the descriptor limit, as plain net/http
// would (long polls, streams and WebSockets are work, not an attack); at
// the ceiling a connection whose every request waits on a client that has
// moved under 1 KiB/s for half a second goes (a body declared and never
// sent, an HTTP/2 window kept shut). Never closed: a connection in its TLS
// handshake or with whole request headers while the server is what it
// waits on, one whose bytes wait unread in the socket (the server, not the
// client, is slow), and one with a request in the handler that is making
// progress or waiting on the handler's own work. When none may go the
// listener waits before handing the new connection over, so a flood of
// slow or idle connections cannot take every file descriptor while a
// normal client waits: under the slowloris test of this package a bare
// [http.Server] stops accepting and the Guard keeps serving. Should the
// process run out of descriptors below the ceiling (it holds other
// files), the accept that failed evicts as if at the ceiling and tries
// again.
//
// # Shutdown
//
// [ListenAndServe] and [Serve] run until the context ends or SIGTERM or
// SIGINT arrives, then: readiness turns to 503 (phase "draining"), the
// drain delay lets the load balancer notice, [http.Server.Shutdown] stops
// accepting and waits for running requests and hijacked connections
// (phase "shutdown") up to the shutdown timeout, and only then are the
// rest closed (phase "closing"). The defaults (5s drain, 25s shutdown) fit
// Kubernetes' 30s termination grace period; tests and local runs want a
// short drain ([WithDrainDelay]).
//
// # Client
//
// [NewTransport] returns an [*http.Transport] and [NewClient] an
// [*http.Client] whose Transport is a [*RoundTripper] (get it back with
// [RoundTripperOf]) around a NewTransport or the transport of
// [WithTransport]. Client defaults (fields of the transport, and the
// client's Timeout):
//
//	dial timeout             5s
//	TLS handshake timeout    5s
//	response header timeout  30s   raise for long polling
//	idle connection timeout  55s   keep below the server's idle timeout
//	overall timeout          60s   (NewClient; http.Client.Timeout)
//	max connections per host 512   requests beyond wait (pool-wait histogram)
//	idle connections / host  128   net/http keeps 2
//	response header block    1 MiB net/http allows 10 MiB
//	TLS session resumption   tls.NewLRUClientSessionCache(256) in TLSClientConfig
//
// The RoundTripper records pool wait, new and reused connections and dials
// through [net/http/httptrace]. [WithBreaker] adds a circuit breaker per
// host ([BreakerSettings]); [WithRetry] retries idempotent requests within
// a budget, caps Retry-After and never waits past the request's deadline
// ([RetryPolicy]). With both, the breaker counts each request once, with
// its outcome after the retries ([RoundTripper.RoundTrip]).
//
// # Metrics
//
// [Guard.Stats] and [RoundTripper.Stats] return JSON-marshalable snapshots;
// [NewCollector] exports either to Prometheus as gotune_netx_server_* or
// gotune_netx_client_*, labelled only with the name given to it and fixed
// sets (shed reason, connection state, phase, breaker state): never a URL,
// host or client address. The caller registers it.
//
//	prometheus.MustRegister(netx.NewCollector(netx.GuardOf(srv), "api"))
//	client := netx.NewClient()
//	prometheus.MustRegister(netx.NewCollector(netx.RoundTripperOf(client), "backend"))
//
// # Status pages
//
// [NewServer] and [NewClient] return net/http types, so the netx values
// behind them are reached with [GuardOf] and [RoundTripperOf]: a status
// page renders GuardOf(srv).Stats() and RoundTripperOf(client).Stats()
// (both marshal to JSON). A server assembled by hand uses [NewGuard] as its
// handler, installs [Guard.ConnState], and passes the Guard to [Serve] with
// [WithGuard].
//
// # Tests
//
// The package's tests attack real servers on 127.0.0.1 and compare netx
// with the bare net/http values: slowloris under a lowered RLIMIT_NOFILE,
// oversized and too many headers, slow and oversized bodies, a client that
// never reads, an idle keep-alive flood, open-loop overload at 5× capacity,
// pool exhaustion against a hanging backend, a backend latency spike
// (breaker and retry budget), Retry-After: 3600, SIGTERM with 100 requests
// in flight, a backend that accepts and never answers, an unread
// Content-Length: 1000000 body, HTTP/2 connections with 200 held or
// zero-window streams each, a client that stops reading, a trickling
// upload, and 32 keep-alive clients through a shutdown. Each checks that
// goroutines and descriptors return to their baseline. The attack harness
// in gotune's bench/netx runs these and more against a server under
// RLIMIT_NOFILE 256, netx beside plain net/http.
//
// # Concurrency
//
// Every exported function and method is safe for concurrent use. Nothing
// here starts a goroutine except [Serve] and [ListenAndServe], which wait
// for what they start before returning.
package netx
