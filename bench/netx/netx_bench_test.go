package netxbench

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gotune/gotune/netx"
)

// childKindEnv makes the test binary run an attack harness server instead
// of the tests (attack_linux_test.go).
const childKindEnv = "GOTUNE_ATTACK_CHILD"

func TestMain(m *testing.M) {
	if kind := os.Getenv(childKindEnv); kind != "" {
		os.Exit(runChild(kind))
	}
	goleak.VerifyTestMain(m)
}

var payload = []byte("hello, world\n")

func handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(payload)
	})
}

// start serves on loopback and returns the URL and a stop function.
func start(tb testing.TB, kind string, h http.Handler, opts ...netx.ServerOption) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	quiet := log.New(io.Discard, "", 0)
	url := "http://" + ln.Addr().String()
	switch kind {
	case "bare":
		srv := &http.Server{Handler: h, ErrorLog: quiet} //nolint:gosec // the baseline
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(ln) }()
		return url, func() { _ = srv.Close(); <-done }
	case "bare-timeouts":
		// The same timeouts and header limit as netx.NewServer, no Guard:
		// netx against this is the cost of the middleware alone.
		ref := netx.NewServer(nil)
		srv := &http.Server{Handler: h, ErrorLog: quiet,
			ReadHeaderTimeout: ref.ReadHeaderTimeout, ReadTimeout: ref.ReadTimeout,
			WriteTimeout: ref.WriteTimeout, IdleTimeout: ref.IdleTimeout, MaxHeaderBytes: ref.MaxHeaderBytes}
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(ln) }()
		return url, func() { _ = srv.Close(); <-done }
	case "netx":
		srv := netx.NewServer(h, opts...)
		srv.ErrorLog = quiet
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = netx.Serve(ctx, srv, ln, netx.WithSignals(), netx.WithDrainDelay(netx.NoDrain), netx.WithShutdownTimeout(time.Second))
		}()
		return url, func() { cancel(); <-done }
	}
	tb.Fatalf("unknown server kind %q", kind)
	return "", nil
}

// drive runs b.N GETs from parallel goroutines through rt.
func drive(b *testing.B, rt http.RoundTripper, url string) {
	c := &http.Client{Transport: rt}
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// loadTransport is the load generator's own transport: enough idle
// connections for every goroutine, so the client is not what is measured.
func loadTransport() *http.Transport {
	return &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}
}

func BenchmarkServer(b *testing.B) {
	for _, kind := range []string{"bare", "bare-timeouts", "netx"} {
		b.Run("server="+kind, func(b *testing.B) {
			url, stop := start(b, kind, handler())
			defer stop()
			tr := loadTransport()
			defer tr.CloseIdleConnections()
			drive(b, tr, url)
		})
	}
}

func BenchmarkClient(b *testing.B) {
	url, stop := start(b, "bare", handler())
	defer stop()
	clients := []struct {
		name string
		rt   func() http.RoundTripper
	}{
		{"default", func() http.RoundTripper { return http.DefaultTransport.(*http.Transport).Clone() }},
		{"netx-transport", func() http.RoundTripper { return netx.NewTransport() }},
		{"netx", func() http.RoundTripper { return netx.RoundTripperOf(netx.NewClient()) }},
	}
	for _, c := range clients {
		b.Run("client="+c.name, func(b *testing.B) {
			rt := c.rt()
			defer rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
			drive(b, rt, url)
		})
	}
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// BenchmarkOverload5x: a backend of 4 workers × 20ms (200 requests/s)
// behind netx with an in-flight limit of 4, offered 1000 requests/s for
// 0.3s per iteration by an open-loop generator.
func BenchmarkOverload5x(b *testing.B) {
	const (
		workers = 4
		service = 20 * time.Millisecond
		n       = 300
		every   = time.Millisecond
	)
	sem := make(chan struct{}, workers)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		time.Sleep(service)
		<-sem
		_, _ = w.Write(payload)
	})
	url, stop := start(b, "netx", h, netx.WithMaxInFlight(workers))
	defer stop()
	tr := loadTransport()
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func() (int, time.Duration) {
		t0 := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			return 0, time.Since(t0)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0)
	}
	var unloaded []time.Duration
	for range 50 {
		_, d := get()
		unloaded = append(unloaded, d)
	}
	base := quantile(unloaded, 0.99)
	var okL, shedL []time.Duration
	var mu sync.Mutex
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range n {
			if d := time.Until(t0.Add(time.Duration(i) * every)); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, d := get()
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case 200:
					okL = append(okL, d)
				case 503:
					shedL = append(shedL, d)
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(quantile(okL, 0.99))/float64(base), "p99/unloaded-p99")
	b.ReportMetric(float64(quantile(shedL, 0.5))/1e6, "shed-p50-ms")
	b.ReportMetric(float64(len(shedL))/float64(len(okL)+len(shedL)), "shed-fraction")
}
