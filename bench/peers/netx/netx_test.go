package netxpeers

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
	"github.com/hashicorp/go-cleanhttp"
)

// backend is a loopback HTTP server whose handler waits delay, counting
// the connections it accepts.
type backend struct {
	url   string
	conns atomic.Int64
	srv   *http.Server
	done  chan struct{}
}

func startBackend(tb testing.TB, h http.HandlerFunc) *backend {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	b := &backend{url: "http://" + ln.Addr().String() + "/", done: make(chan struct{})}
	b.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: time.Minute,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				b.conns.Add(1)
			}
		},
	}
	go func() { defer close(b.done); b.srv.Serve(ln) }()
	return b
}

func (b *backend) close() {
	b.srv.Close()
	<-b.done
}

func slowHandler(d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		io.WriteString(w, "ok")
	}
}

// clients are the three a service would use: netx.NewClient's defaults,
// go-cleanhttp's pooled client, and a client over a clone of
// http.DefaultTransport (a clone so runs do not share its pool).
var clients = []struct {
	name string
	new  func() *http.Client
}{
	{"netx", func() *http.Client { return netx.NewClient() }},
	{"cleanhttp-pooled", cleanhttp.DefaultPooledClient},
	{"default", func() *http.Client {
		return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}},
}

// burstResult is one burst of concurrent requests as the caller saw it.
type burstResult struct {
	lat      []time.Duration // per request, sorted
	poolWait []time.Duration // httptrace GetConn → GotConn, sorted
	newConns int64           // connections the backend accepted
	errs     int
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p*float64(len(d))+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}

// burst sends n GETs at once through c and waits for all of them.
func burst(c *http.Client, b *backend, n int) burstResult {
	before := b.conns.Load()
	var r burstResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var asked, got time.Time
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				GetConn: func(string) { asked = time.Now() },
				GotConn: func(httptrace.GotConnInfo) { got = time.Now() },
			})
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.url, nil)
			<-start
			t0 := time.Now()
			resp, err := c.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.errs++
				return
			}
			r.lat = append(r.lat, d)
			if !asked.IsZero() && !got.IsZero() {
				r.poolWait = append(r.poolWait, got.Sub(asked))
			}
		}()
	}
	close(start)
	wg.Wait()
	slices.Sort(r.lat)
	slices.Sort(r.poolWait)
	r.newConns = b.conns.Load() - before
	return r
}

const burstSize = 512

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkBurst is, per iteration, a fresh client sending a burst of 512
// concurrent GETs to one loopback backend that takes 20 ms per request
// (cold: the pool is empty), then a second burst on the same client (warm:
// what the pool kept from the first). Latency is from just before Do to
// the end of the body; pool wait is httptrace's GetConn to GotConn, which
// includes dialing a new connection.
func BenchmarkBurst(b *testing.B) {
	be := startBackend(b, slowHandler(20*time.Millisecond))
	defer be.close()
	for _, cl := range clients {
		b.Run("client="+cl.name, func(b *testing.B) {
			var agg [2]struct{ p50, p99, wait, maxWait, conns, errs float64 }
			for b.Loop() {
				c := cl.new()
				for i := range agg {
					r := burst(c, be, burstSize)
					a := &agg[i]
					a.p50 += ms(pct(r.lat, 0.50))
					a.p99 += ms(pct(r.lat, 0.99))
					a.wait += ms(pct(r.poolWait, 0.99))
					a.conns += float64(r.newConns)
					a.errs += float64(r.errs)
				}
				c.CloseIdleConnections()
			}
			n := float64(b.N)
			for i, name := range []string{"cold", "warm"} {
				a := agg[i]
				b.ReportMetric(a.p50/n, name+"-p50-ms")
				b.ReportMetric(a.p99/n, name+"-p99-ms")
				b.ReportMetric(a.wait/n, name+"-poolwait-p99-ms")
				b.ReportMetric(a.conns/n, name+"-newconns")
				b.ReportMetric(a.errs/n, name+"-errors")
			}
		})
	}
}

// hangTimeout bounds how long BenchmarkHang waits for a client to give up.
const hangTimeout = 45 * time.Second

// BenchmarkHang sends one GET (no deadline of the caller's own) to a
// backend that reads the request and never answers, through each client
// at once, and reports how long the client took to return an error;
// <client>-gaveup is the share of runs in which the client returned an
// error on its own; 0 means it still waited when the benchmark cancelled
// it at 45 s.
// Run it with -benchtime 1x: each iteration takes up to 45 s.
func BenchmarkHang(b *testing.B) {
	release := make(chan struct{})
	be := startBackend(b, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer be.close()
	defer close(release)
	type out struct {
		d      time.Duration
		gaveUp bool
	}
	var sums [3]struct {
		d      time.Duration
		gaveUp int
	}
	for b.Loop() {
		res := make([]out, len(clients))
		var wg sync.WaitGroup
		for i, cl := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := cl.new()
				defer c.CloseIdleConnections()
				// The bound is the benchmark's, not the caller's: a context
				// the client does not see until it fires.
				ctx, cancel := context.WithCancel(context.Background())
				timer := time.AfterFunc(hangTimeout, cancel)
				defer timer.Stop()
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, be.url, nil)
				t0 := time.Now()
				resp, err := c.Do(req)
				d := time.Since(t0)
				if err == nil {
					resp.Body.Close()
				}
				res[i] = out{d, ctx.Err() == nil && err != nil}
			}()
		}
		wg.Wait()
		for i, r := range res {
			sums[i].d += r.d
			if r.gaveUp {
				sums[i].gaveUp++
			}
		}
	}
	for i, cl := range clients {
		b.ReportMetric(sums[i].d.Seconds()/float64(b.N), cl.name+"-s")
		b.ReportMetric(float64(sums[i].gaveUp)/float64(b.N), cl.name+"-gaveup")
	}
}

// TestBurstAllClients runs a small burst through every client, so a broken
// setup fails in the default test run.
func TestBurstAllClients(t *testing.T) {
	be := startBackend(t, slowHandler(time.Millisecond))
	defer be.close()
	for _, cl := range clients {
		c := cl.new()
		r := burst(c, be, 16)
		c.CloseIdleConnections()
		if r.errs != 0 || len(r.lat) != 16 {
			t.Errorf("client=%s: %d errors, %d answers of 16", cl.name, r.errs, len(r.lat))
		}
		if r.newConns < 1 || r.newConns > 16 {
			t.Errorf("client=%s: backend saw %d new connections for 16 requests", cl.name, r.newConns)
		}
	}
}
