// Command api is a small JSON API service built the way the README says:
// a quote endpoint that calls an upstream service, with gotune wired into
// every layer. It serves
//
//	GET /v1/quote?symbol=GOPH   {"symbol":"GOPH","price":123.45,"upstream_ms":3}
//
// behind a netx server (per-client-IP rate limit, load shedding on memory
// and CPU pressure, JSON refusals), calls its upstream through a netx client
// (circuit breaker, retries with a budget), encodes into pooled buffers,
// runs gcguard, serves TLS from a certificate directory when -certs is set,
// and shows every part on /metrics and the status page /debug/gotune.
//
//	go run ./examples/api                      # plain HTTP on 127.0.0.1:8444, a built-in upstream
//	go run ./examples/api -certs ./certs       # HTTPS: certs/<name>.crt and .key; default.crt where the client sends no name
//
// Wiring budget: the gotune wiring in this file is 45 lines (every line that
// names a gotune package, imports included; TestWiringBudget counts them and
// fails past 50).
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/netx"
	"github.com/gotune/gotune/observe"
	"github.com/gotune/gotune/pool"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tlscache"
	"github.com/gotune/gotune/tune/auto"
)

type config struct {
	addr     string  // where to listen
	certs    string  // certificate directory; "" serves plain HTTP
	upstream string  // the quote service; "" starts one on loopback
	rate     float64 // requests per second per client IP
	burst    int
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8444", "address to listen on")
	flag.StringVar(&c.certs, "certs", "", "directory of <name>.crt and <name>.key files (default.crt for no SNI); empty serves plain HTTP")
	flag.StringVar(&c.upstream, "upstream", "", "base URL of the upstream price service; empty starts one on loopback")
	flag.Float64Var(&c.rate, "rate", 50, "requests per second allowed per client IP")
	flag.IntVar(&c.burst, "burst", 100, "burst allowed per client IP")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), c, logger, prometheus.NewRegistry(), func(addr string) {
		fmt.Printf("api: serving on %s (GET /v1/quote?symbol=GOPH, /metrics, /debug/gotune)\n", addr)
	}); err != nil {
		logger.Error("api", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx is done; ready is called with the address once the
// listener is open.
func run(ctx context.Context, c config, logger *slog.Logger, reg *prometheus.Registry, ready func(addr string)) error {
	if c.upstream == "" {
		up, stop, err := startUpstream()
		if err != nil {
			return err
		}
		defer stop()
		c.upstream = up
	}
	page := status.New()
	page.Start()
	defer page.Stop()
	o := observe.New(reg, page)
	guard, err := gcguard.Start(gcguard.WithLogger(logger))
	if err != nil {
		return err
	}
	defer guard.Stop()
	bufs := pool.NewBuffers(pool.WithTTL(time.Minute))
	defer bufs.Close()
	client := netx.NewClient(netx.WithBreaker(netx.BreakerSettings{}), netx.WithRetry(netx.RetryPolicy{}))
	client.Timeout = 2 * time.Second
	defer client.CloseIdleConnections()

	mux := http.NewServeMux()
	mux.Handle("GET /v1/quote", &quotes{client: client, upstream: c.upstream, bufs: bufs})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/debug/gotune", page)
	srv := netx.NewServer(mux,
		netx.WithRateLimit(rate.Limit(c.rate), c.burst, netx.KeyByClientIP()),
		netx.WithPressure(func() int { return max(int(guard.Level()), auto.Tuner().CPUPressure()) }, int(gcguard.LevelCritical), func() { bufs.DropIdle() }),
		netx.WithRefusal(func(w http.ResponseWriter, _ *http.Request, ref netx.Refusal) {
			writeError(w, ref.Status, ref.Reason)
		}),
		netx.WithLogger(logger))
	if c.certs != "" {
		certs, err := tlscache.New(tlscache.NewDir(c.certs))
		if err != nil {
			return err
		}
		defer certs.Close()
		srv.TLSConfig = &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12}
		if err := o.TLSCache(certs, "api"); err != nil {
			return err
		}
	}
	if err := errors.Join(o.Tune(auto.Tuner()), o.GCGuard(guard), o.Pool(bufs, "json"), o.Client(client, "upstream"), o.Server(srv, "api")); err != nil {
		return err
	}

	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	ready(ln.Addr().String())
	// Serve speaks TLS where srv.TLSConfig has a certificate source, and on
	// SIGTERM or Ctrl-C drains for a second, then shuts down.
	return netx.Serve(ctx, srv, ln, netx.WithDrainDelay(time.Second))
}

var symbolRE = regexp.MustCompile(`^[A-Z]{1,8}$`)

// quotes answers GET /v1/quote from the upstream's price.
type quotes struct {
	client   *http.Client
	upstream string
	bufs     *pool.Buffers
}

type quote struct {
	Symbol     string  `json:"symbol"`
	Price      float64 `json:"price"`
	UpstreamMS int64   `json:"upstream_ms"`
}

func (q *quotes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sym := r.URL.Query().Get("symbol")
	if !symbolRE.MatchString(sym) {
		writeError(w, http.StatusBadRequest, "symbol must be 1 to 8 capital letters")
		return
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, q.upstream+"/price?symbol="+sym, nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "bad upstream URL")
		return
	}
	res, err := q.client.Do(req)
	if err != nil {
		writeError(w, http.StatusBadGateway, "upstream: "+err.Error())
		return
	}
	defer res.Body.Close()
	var up struct{ Price float64 }
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&up); err != nil || res.StatusCode != http.StatusOK {
		writeError(w, http.StatusBadGateway, "upstream answered "+res.Status)
		return
	}
	buf := q.bufs.GetBuffer()
	defer q.bufs.PutBuffer(buf)
	if err := json.NewEncoder(buf).Encode(quote{sym, up.Price, time.Since(start).Milliseconds()}); err != nil {
		writeError(w, http.StatusInternalServerError, "encode")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "status": strconv.Itoa(code)}) //nolint:errcheck // the client went away
}
