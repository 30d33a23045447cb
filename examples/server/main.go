// Command server is gotune's main example: an HTTPS service on loopback that
// uses every package together.
//
//	go run ./examples/server
//
// It needs no files and no flags. At start it:
//
//   - imports tune/auto, so GOMAXPROCS and GOMEMLIMIT follow the cgroup;
//   - generates a self-signed certificate, serves it through tlscache for
//     any server name and for none, and renews it when a third of its
//     lifetime (-cert-lifetime) has passed;
//   - starts gcguard (its memory target from the cgroup, or -memory-target)
//     and wires its pressure level to netx's load shedding and to the
//     buffer pool, which drops idle buffers when memory is critical;
//   - starts a small backend and calls it through a netx client;
//   - serves "/" (hot path: pool buffers), "/metrics" (every gotune
//     collector and the Go collector), "/debug/gotune" (the status page:
//     what is abnormal, one row per decision with its source and reason,
//     plots of the last five minutes; status.go builds its sections),
//     "/healthz" and "/readyz", and pprof with -pprof;
//   - on SIGTERM or Ctrl-C turns readiness to 503, drains, and shuts down.
//
// The start-up block prints the status page's summary rows, so the two
// never disagree. Flags turn each part off; -help lists them and the
// GOTUNE_* variables. Dockerfile builds it as a static, non-root image
// without a shell; examples/kubernetes deploys that image.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	// First, so that -help prints the usage before any log line.
	_ "github.com/gotune/gotune/examples/server/internal/helpquiet"
	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/netx"
	"github.com/gotune/gotune/numa"
	"github.com/gotune/gotune/observe"
	"github.com/gotune/gotune/pool"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tlscache"
	"github.com/gotune/gotune/tune"
	"github.com/gotune/gotune/tune/auto"
)

type config struct {
	addr            string
	plain           bool
	certLifetime    time.Duration
	pprof           bool
	gcguard         bool
	cpuPressure     bool
	numa            bool
	pool            bool
	backend         bool
	memoryTarget    string
	maxInFlight     int
	drainDelay      time.Duration
	shutdownTimeout time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8443", "listen `address` (port 0 picks a free one)")
	flag.BoolVar(&c.plain, "http", false, "serve plain HTTP instead of HTTPS")
	flag.DurationVar(&c.certLifetime, "cert-lifetime", 24*time.Hour, "lifetime of the self-signed certificate, renewed when a third of it has passed (at least 10s)")
	flag.BoolVar(&c.pprof, "pprof", false, "serve net/http/pprof under /debug/pprof/")
	flag.BoolVar(&c.gcguard, "gcguard", true, "run the gcguard GC controller and shed load on its pressure")
	flag.BoolVar(&c.cpuPressure, "cpu-pressure", true, "shed load also while the CPU quota throttles the process (tune's CPUPressure)")
	flag.BoolVar(&c.numa, "numa", true, "show the NUMA topology and export per-node metrics")
	flag.BoolVar(&c.pool, "pool", true, "use pooled buffers on the hot path (off: allocate per request)")
	flag.BoolVar(&c.backend, "backend", true, "start a backend and call it through a netx client on each request")
	flag.StringVar(&c.memoryTarget, "memory-target", "", "gcguard's memory target when the cgroup has no memory limit (GOMEMLIMIT syntax; default 1GiB)")
	flag.IntVar(&c.maxInFlight, "max-inflight", 512, "requests served at once before shedding with 503")
	flag.DurationVar(&c.drainDelay, "drain-delay", time.Second, "how long readiness fails before the listener closes on SIGTERM")
	flag.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long running requests may take to finish on SIGTERM")
	flag.Usage = func() { usage(flag.CommandLine.Output(), flag.CommandLine) }
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), c, os.Stdout, logger); err != nil {
		logger.Error("server", slog.Any("error", err))
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer, logger *slog.Logger) error {
	reg := prometheus.DefaultRegisterer
	// The status page: each part adds a section with its summary rows and
	// plotted figures (observe); Start samples the plots once a second.
	page := status.New()
	page.Start()
	defer page.Stop()

	tuner := auto.Tuner()
	// tune/auto links no Prometheus; its metrics are this one line (a nil
	// Tuner, under GOTUNE=off, exports nothing).
	o := observe.New(reg, page)
	o.Tune(tuner) //nolint:errcheck // first registration; a nil Tuner (GOTUNE=off) shows the runtime's settings

	if c.numa {
		topo, err := numa.Discover()
		if err != nil {
			logger.Warn("numa: topology not available", slog.Any("error", err))
		} else {
			o.NUMA(topo, numa.WithLogger(logger)) //nolint:errcheck // first registration
		}
	}

	// gcguard: a per-cycle GC controller; its pressure sheds load below.
	var guard *gcguard.Guard
	guardNote := "" // why the target is what it is, where this program chose it
	if c.gcguard {
		var err error
		guard, guardNote, err = startGuard(c, logger)
		if err != nil {
			// A bad -memory-target is the user's to fix; anything else
			// (GOMEMLIMIT above the cgroup's limit, say) leaves the
			// server running without the controller.
			if c.memoryTarget != "" {
				return err
			}
			logger.Warn("gcguard: not started; serving without it", slog.Any("error", err))
		}
	}
	if guard != nil {
		defer guard.Stop()
		reg.MustRegister(gcguard.NewCollector(guard, ""))
		o.Add(guardSection(guard, guardNote))
	}

	// Buffers for the hot path: idle ones go after a minute, and all of them
	// when gcguard says memory is critical.
	var bufs *pool.Buffers
	if c.pool {
		bufs = pool.NewBuffers(pool.WithTTL(time.Minute), pool.WithMaxIdleBytes(64<<20), pool.WithName("http"))
		defer bufs.Close()
		o.Pool(bufs, "http") //nolint:errcheck // first registration
		if guard != nil {
			cancel := guard.OnLevel(func(l gcguard.Level) {
				if l == gcguard.LevelCritical {
					bufs.DropIdle()
				}
			})
			defer cancel()
		}
	}

	// A backend on loopback and a hardened client to it.
	var client *http.Client
	backendURL := ""
	if c.backend {
		url, stop, err := startBackend(ctx, o, logger)
		if err != nil {
			return err
		}
		defer stop()
		backendURL = url
		sessions := tlscache.NewSessionCache(0)
		reg.MustRegister(tlscache.NewSessionCollector(sessions, "backend"))
		page.Add(status.Section{Name: "tls sessions backend", Snapshot: func() any { return sessions.Stats() }})
		tr := netx.NewTransport()
		tr.TLSClientConfig.ClientSessionCache = sessions
		client = netx.NewClient(netx.WithTransport(tr))
		client.Timeout = 5 * time.Second
		defer client.CloseIdleConnections()
		o.Client(client, "backend") //nolint:errcheck // first registration
	}

	mux := http.NewServeMux()
	mux.Handle("/", &front{bufs: bufs, client: client, backend: backendURL})
	mux.Handle("/metrics", promhttp.Handler())
	mux.Handle("/debug/gotune", page)
	if c.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}

	// The front's certificate, through a tlscache.Cache.
	var certs *selfSigned
	if !c.plain {
		var err error
		if certs, err = newSelfSigned(c.certLifetime, logger); err != nil {
			return err
		}
		defer certs.Close()
	}

	// The cheap remedies run first when the pressure rises, before any
	// request is shed: idle pool buffers and lapsed certificate-load
	// failures are let go (the Guard also closes idle keep-alive
	// connections).
	var remedies []func()
	if bufs != nil {
		remedies = append(remedies, func() { bufs.DropIdle() })
	}
	if certs != nil {
		remedies = append(remedies, func() { certs.cache.TrimNegative() })
	}
	srv := netx.NewServer(mux,
		netx.WithMaxInFlight(c.maxInFlight),
		// The pressure is the higher of gcguard's level (memory) and
		// tune's CPUPressure (the quota throttling the process, or the
		// cgroup's CPU PSI); both grade 0 ok, 1 elevated, 2 critical, and
		// a nil guard or tuner is ok. The Guard runs the remedies when the
		// level rises, then sheds a share that grows with it;
		// /metrics and /debug/gotune are never shed.
		netx.WithPressure(func() int {
			l := int(guard.Level())
			if c.cpuPressure {
				l = max(l, tuner.CPUPressure())
			}
			return l
		}, int(gcguard.LevelCritical), remedies...),
		netx.WithLogger(logger),
	)
	if err := o.Server(srv, "front"); err != nil {
		return err
	}

	scheme := "http"
	if certs != nil {
		srv.TLSConfig = &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12}
		// Failed handshakes are any client's doing: Debug, not Warn.
		srv.ErrorLog = handshakeErrorLog(logger)
		o.TLSCache(certs.cache, "front") //nolint:errcheck // first registration
		scheme = "https"
	}

	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("%s://%s", scheme, ln.Addr())
	printStart(out, base, page, c)
	err = netx.Serve(ctx, srv, ln,
		netx.WithDrainDelay(c.drainDelay),
		netx.WithShutdownTimeout(c.shutdownTimeout),
	)
	fmt.Fprintln(out, "gotune server: stopped")
	return err
}

// startGuard starts gcguard on the cgroup's memory limit, or, where there
// is none, on -memory-target or a 1 GiB demo target; note then says which,
// for the summary and the start-up block.
func startGuard(c config, logger *slog.Logger) (g *gcguard.Guard, note string, err error) {
	g, err = gcguard.Start(gcguard.WithLogger(logger), gcguard.WithTargetRequired())
	if !errors.Is(err, gcguard.ErrNoTarget) {
		return g, "", err
	}
	// No cgroup memory limit and no GOMEMLIMIT: a demo target keeps the
	// controller and its pressure signal in the picture.
	target := int64(1 << 30)
	note = "No cgroup memory limit and no GOMEMLIMIT; this program's demo default (set one with -memory-target)."
	if c.memoryTarget != "" {
		if target, err = tune.ParseBytes(c.memoryTarget); err != nil {
			return nil, "", fmt.Errorf("-memory-target: %w", err)
		}
		note = "No cgroup memory limit; from -memory-target."
	}
	g, err = gcguard.Start(gcguard.WithLogger(logger), gcguard.WithMemoryTarget(target))
	return g, note, err
}

// printStart writes the start-up block: the limits tune read, then the
// status page's summary rows (the same rows, so the two never disagree),
// then where to look.
func printStart(w io.Writer, base string, page *status.Handler, c config) {
	fmt.Fprintf(w, "gotune server: %s on %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if tuner := auto.Tuner(); tuner != nil {
		fmt.Fprintf(w, "  limits:   %s\n", describeLimits(tuner.Report().Limits))
	} else {
		fmt.Fprintf(w, "  limits:   not read: tune/auto is off (%v)\n", auto.Err())
	}
	printRows(w, page.Snapshot().Summary)
	fmt.Fprintf(w, "  serving:  %s/\n", base)
	fmt.Fprintf(w, "  status:   %s/debug/gotune   (JSON: ?format=json)\n", base)
	fmt.Fprintf(w, "  metrics:  %s/metrics\n", base)
	fmt.Fprintf(w, "  health:   %s/healthz  %s/readyz\n", base, base)
	if c.pprof {
		fmt.Fprintf(w, "  pprof:    %s/debug/pprof/\n", base)
	}
	if !c.plain {
		fmt.Fprintf(w, "  (self-signed certificate: curl -k %s/)\n", base)
	}
	fmt.Fprintln(w, "  Ctrl-C or SIGTERM drains and stops.")
}

// front is the hot path: it asks the backend for some bytes and writes a
// small response built in a pooled buffer.
type front struct {
	bufs    *pool.Buffers
	client  *http.Client
	backend string
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	n := 0
	if f.client != nil {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, f.backend, nil)
		res, err := f.client.Do(req)
		if err != nil {
			http.Error(w, "backend: "+err.Error(), http.StatusBadGateway)
			return
		}
		m, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			http.Error(w, fmt.Sprintf("backend: status %d, %v", res.StatusCode, err), http.StatusBadGateway)
			return
		}
		n = int(m)
	}
	var p *[]byte
	if f.bufs != nil {
		p = f.bufs.Get(0)
		defer f.bufs.Put(p)
	} else {
		b := make([]byte, 0, 256)
		p = &b
	}
	b := (*p)[:0]
	b = append(b, `{"hello":"gotune","backend_bytes":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"gomaxprocs":`...)
	b = strconv.AppendInt(b, int64(runtime.GOMAXPROCS(0)), 10)
	b = append(b, "}\n"...)
	*p = b
	w.Header().Set("Content-Type", "application/json")
	w.Write(b) //nolint:errcheck // the client went away
}

// startBackend serves 4 KiB of data on a loopback port through its own netx
// server, until stop is called.
func startBackend(ctx context.Context, o *observe.Observer, logger *slog.Logger) (url string, stop func(), err error) {
	payload := make([]byte, 4096)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	srv := netx.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(payload) //nolint:errcheck // the client went away
	}), netx.WithLogger(logger))
	if err := o.Server(srv, "backend"); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The front server owns the signals; the backend stops when the
		// front has drained.
		netx.Serve(bctx, srv, ln, netx.WithSignals(), netx.WithDrainDelay(netx.NoDrain), netx.WithShutdownTimeout(5*time.Second)) //nolint:errcheck // logged by netx
	}()
	return "http://" + ln.Addr().String() + "/", func() { cancel(); <-done }, nil
}
