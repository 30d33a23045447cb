package netx_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gotune/gotune/netx"
)

// A server with safe timeouts, an in-flight limit, a pressure signal and
// metrics, served until SIGTERM with a short drain.
func ExampleNewServer() {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello\n")
	})
	level := func() int { return 0 } // for example gcguard's Guard.Level
	srv := netx.NewServer(mux,
		netx.WithMaxInFlight(100),
		netx.WithPressure(level, 2))
	srv.Addr = "127.0.0.1:0"

	reg := prometheus.NewRegistry()
	reg.MustRegister(netx.NewCollector(netx.GuardOf(srv), "api"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real program stops on SIGTERM; this example stops at once
	err := netx.ListenAndServe(ctx, srv, netx.WithDrainDelay(100*time.Millisecond))
	fmt.Println(srv.ReadHeaderTimeout, srv.IdleTimeout, err)
	// Output: 10s 2m0s <nil>
}

// The Guard answers past its rate limit with 429 and Retry-After, and
// answers health checks and the operator's endpoints whatever the load.
func ExampleGuard() {
	g := netx.NewGuard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		netx.WithRateLimit(0.5, 1, nil))
	for _, path := range []string{"/work", "/work", "/healthz", "/metrics"} {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s %d Retry-After=%q\n", path, rec.Code, rec.Header().Get("Retry-After"))
	}
	fmt.Println("rate limited:", g.Stats().Shed["rate_limit"])
	// Output:
	// /work 200 Retry-After=""
	// /work 429 Retry-After="2"
	// /healthz 200 Retry-After=""
	// /metrics 200 Retry-After=""
	// rate limited: 1
}

// A client with every timeout set, a per-host circuit breaker and budgeted
// retries of idempotent requests.
func ExampleNewClient() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()

	client := netx.NewClient(
		netx.WithBreaker(netx.BreakerSettings{ConsecutiveFailures: 5, OpenTimeout: 10 * time.Second}),
		netx.WithRetry(netx.RetryPolicy{MaxAttempts: 3}))
	client.Timeout = 5 * time.Second
	defer client.CloseIdleConnections()
	for range 3 {
		resp, err := client.Get(backend.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	s := netx.RoundTripperOf(client).Stats()
	fmt.Println("requests", s.Requests, "new", s.ConnsNew, "reused", s.ConnsReused)
	// Output: requests 3 new 1 reused 2
}
