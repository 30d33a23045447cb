// Command client shows netx's hardened HTTP client on its own: every timeout
// set, a per-host circuit breaker, budgeted retries of idempotent requests,
// and connection-pool metrics. It starts a flaky server on loopback (one
// request in three gets a 503 with Retry-After, and from the middle of the
// run it fails hard for a while) and calls it.
//
//	go run ./examples/client
//	go run ./examples/client -n 200 -metrics   # also print the Prometheus metrics
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gotune/gotune/netx"
)

func main() {
	n := flag.Int("n", 60, "requests to send")
	showMetrics := flag.Bool("metrics", false, "print the client's Prometheus metrics at the end")
	flag.Parse()
	if err := run(os.Stdout, *n, *showMetrics); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, n int, showMetrics bool) error {
	url, stop, err := flakyServer(n)
	if err != nil {
		return err
	}
	defer stop()

	client := netx.NewClient(
		netx.WithBreaker(netx.BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: 200 * time.Millisecond}),
		netx.WithRetry(netx.RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond}),
	)
	client.Timeout = 3 * time.Second
	defer client.CloseIdleConnections()
	rt := netx.RoundTripperOf(client)

	fmt.Fprintf(w, `Scenario: a flaky backend on loopback, called %d times in a row through netx's client.
  - Every third request the backend receives gets 503 with Retry-After (busy):
    the client retries it (GET is idempotent), up to 3 attempts, within a retry budget.
  - Requests %d to %d that it receives get 500 (down for a while): after 3 failures
    in a row the breaker opens and fails calls at once for 200 ms, then lets a
    probe through; it closes once probes succeed, and opens again if they fail.
`, n, n/3+1, n/2-1)

	var ok, failed, open int
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := client.Do(req)
		switch {
		case errors.Is(err, netx.ErrCircuitOpen):
			open++
			time.Sleep(20 * time.Millisecond) // the breaker answers at once; give the server time
		case err != nil:
			failed++
		default:
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				ok++
			} else {
				failed++
			}
		}
		cancel()
	}
	fmt.Fprintf(w, "\n%d requests: %d ok, %d failed, %d refused by the open breaker\n", n, ok, failed, open)
	fmt.Fprint(w, `  ok       a 200 in the end; a 503 that a retry turned into a 200 counts here
  failed   an error or a non-200 after the retries: the 500s before the breaker opened
  refused  failed at once by the open breaker, without reaching the backend
In the client's stats below: requests counts calls of the client, retries the
extra attempts sent and retries_denied those the budget refused; breaker_trips
counts the breaker opening and breakers its state now; breaker_rejected the
calls it refused; conns_new against conns_reused shows keep-alive at work;
pool_waits and pool_wait_total_ns count the waits for a pooled connection
and their total time.
`)
	st := rt.Stats()
	b, _ := json.MarshalIndent(st, "", "  ")
	fmt.Fprintf(w, "client stats: %s\n", b)

	if showMetrics {
		reg := prometheus.NewRegistry()
		reg.MustRegister(netx.NewCollector(rt, "flaky"))
		mfs, err := reg.Gather()
		if err != nil {
			return err
		}
		for _, mf := range mfs {
			fmt.Fprintf(w, "%s %d series\n", mf.GetName(), len(mf.GetMetric()))
		}
	}
	return nil
}

// flakyServer answers 200, except that every third request gets a 503 with
// Retry-After, and requests in the middle third of the run get a 500 (the
// breaker's cue).
func flakyServer(n int) (url string, stop func(), err error) {
	var count atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := count.Add(1)
		switch {
		case c > int64(n/3) && c < int64(n/2):
			http.Error(w, "down for a while", http.StatusInternalServerError)
		case c%3 == 0:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			io.WriteString(w, strings.Repeat("x", 512))
		}
	})
	srv := netx.NewServer(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		netx.Serve(ctx, srv, ln, netx.WithSignals(), netx.WithDrainDelay(netx.NoDrain)) //nolint:errcheck // example
	}()
	return "http://" + ln.Addr().String() + "/", func() { cancel(); <-done }, nil
}
