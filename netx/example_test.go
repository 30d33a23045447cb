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
	underPressure := func() bool { return false } // for example from gcguard
	srv := netx.NewServer(mux,
		netx.WithMaxInFlight(100),
		netx.WithPressure(underPressure))
	srv.Addr = "127.0.0.1:0"

	reg := prometheus.NewRegistry()
	reg.MustRegister(netx.NewCollector(netx.GuardOf(srv), "api"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real program stops on SIGTERM; this example stops at once
	err := netx.ListenAndServe(ctx, srv, netx.WithDrainDelay(100*time.Millisecond))
	fmt.Println(srv.ReadHeaderTimeout, srv.IdleTimeout, err)
	// Output: 10s 2m0s <nil>
}

// The Guard sheds past its in-flight limit with 503 and Retry-After, and
// answers health checks whatever the load.
func ExampleGuard() {
	g := netx.NewGuard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		netx.WithPressure(func() bool { return true }))
	for _, path := range []string{"/work", "/healthz"} {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s %d Retry-After=%q\n", path, rec.Code, rec.Header().Get("Retry-After"))
	}
	fmt.Println("shed by pressure:", g.Stats().Shed["pressure"])
	// Output:
	// /work 503 Retry-After="1"
	// /healthz 200 Retry-After=""
	// shed by pressure: 1
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
