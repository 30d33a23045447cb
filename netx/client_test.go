package netx_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gotune/gotune/netx"
)

func TestNewTransportDefaults(t *testing.T) {
	tr := netx.NewTransport()
	def := http.DefaultTransport.(*http.Transport)
	if tr.ResponseHeaderTimeout <= 0 {
		t.Errorf("ResponseHeaderTimeout = %v, want > 0", tr.ResponseHeaderTimeout)
	}
	if tr.TLSHandshakeTimeout <= 0 || tr.IdleConnTimeout <= 0 {
		t.Errorf("TLSHandshakeTimeout, IdleConnTimeout = %v, %v, want > 0", tr.TLSHandshakeTimeout, tr.IdleConnTimeout)
	}
	if tr.MaxIdleConnsPerHost <= def.MaxIdleConnsPerHost || tr.MaxIdleConnsPerHost <= 2 {
		t.Errorf("MaxIdleConnsPerHost = %d, want above net/http's 2", tr.MaxIdleConnsPerHost)
	}
	if tr.MaxConnsPerHost <= 0 {
		t.Errorf("MaxConnsPerHost = %d, want bounded", tr.MaxConnsPerHost)
	}
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.ClientSessionCache == nil {
		t.Error("TLSClientConfig.ClientSessionCache = nil, want a session cache")
	}
	cache := tls.NewLRUClientSessionCache(1)
	tr2 := netx.NewTransport()
	tr2.TLSClientConfig.ClientSessionCache = cache
	var used atomic.Bool
	c2 := netx.NewClient(netx.WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Store(true)
		return tr2.RoundTrip(r)
	})))
	_, _ = c2.Get("http://127.0.0.1:1/") // refused; only the path matters
	if !used.Load() {
		t.Error("WithTransport: transport not used")
	}
	c := netx.NewClient()
	if c.Timeout <= 0 || netx.RoundTripperOf(c) == nil {
		t.Errorf("NewClient(): Timeout %v, RoundTripperOf %v", c.Timeout, netx.RoundTripperOf(c))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{" 120 ", 120 * time.Second, true},
		{"3600", time.Hour, true},
		{"99999999999999999999", 24 * time.Hour, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"Fri, 02 Jan 2026 03:04:15 GMT", 10 * time.Second, true},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true}, // in the past
		{"Fri, 02 Jan 2027 03:04:15 GMT", 24 * time.Hour, true},
	}
	for _, c := range cases {
		got, ok := netx.ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v, want %v, %v", c.in, got, ok, c.want, c.wantOK)
		}
	}
}

func TestClientTraceStats(t *testing.T) {
	checkLeaks(t)
	url, _ := serveBare(t, okHandler())
	tr := netx.NewTransport()
	tr.MaxConnsPerHost = 1
	c := netx.NewClient(netx.WithTransport(tr))
	t.Cleanup(c.CloseIdleConnections)
	for range 5 {
		if code, _ := get(t, c, url); code != 200 {
			t.Fatalf("GET = %d", code)
		}
	}
	s := netx.RoundTripperOf(c).Stats()
	if s.Requests != 5 || s.ConnsNew != 1 || s.ConnsReused != 4 || s.Dials != 1 || s.PoolWaits != 5 {
		t.Errorf("Stats() = requests %d new %d reused %d dials %d waits %d, want 5 1 4 1 5",
			s.Requests, s.ConnsNew, s.ConnsReused, s.Dials, s.PoolWaits)
	}
	col := netx.NewCollector(netx.RoundTripperOf(c), "backend")
	if problems, err := testutil.CollectAndLint(col); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint: %v %v", err, problems)
	}
	want := `
# HELP gotune_netx_client_connections_total Connections handed to requests, by kind (new, reused).
# TYPE gotune_netx_client_connections_total counter
gotune_netx_client_connections_total{kind="new",name="backend"} 1
gotune_netx_client_connections_total{kind="reused",name="backend"} 4
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "gotune_netx_client_connections_total"); err != nil {
		t.Error(err)
	}
}

func TestBreakerIgnoresCancellationAnd4xx(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int64
	release := make(chan struct{})
	url, _ := serveBare(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		http.NotFound(w, r)
	}))
	defer close(release)
	c := netx.NewClient(netx.WithBreaker(netx.BreakerSettings{ConsecutiveFailures: 2}))
	t.Cleanup(c.CloseIdleConnections)
	for range 5 {
		if code, _ := get(t, c, url+"/missing"); code != 404 {
			t.Fatalf("GET /missing = %d, want 404", code)
		}
	}
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/hang", nil)
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled GET: %v, want context.Canceled", err)
		}
		cancel()
	}
	s := netx.RoundTripperOf(c).Stats()
	if s.BreakerTrips != 0 || s.Breakers["closed"] != 1 {
		t.Errorf("breakers after 5×404 and 3 cancellations = %+v, want 1 closed, 0 trips", s)
	}
}

func TestRetryAfterCapped(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int64
	url, _ := serveBare(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%2 == 1 {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	c := netx.NewClient(netx.WithRetry(netx.RetryPolicy{MaxDelay: 20 * time.Millisecond}))
	t.Cleanup(c.CloseIdleConnections)
	rt := netx.RoundTripperOf(c)

	start := time.Now()
	code, _ := get(t, c, url)
	if el := time.Since(start); code != 200 || el > 5*time.Second {
		t.Errorf("GET with Retry-After: 3600 and a 20ms cap = %d after %v, want 200 after about 20ms", code, el)
	}
	if s := rt.Stats(); s.Retries != 1 || hits.Load() != 2 {
		t.Errorf("retries %d, backend hits %d, want 1, 2", s.Retries, hits.Load())
	}

	// A deadline shorter than the capped wait: no retry, the 503 comes back.
	c2 := netx.NewClient(netx.WithRetry(netx.RetryPolicy{MaxDelay: time.Second}))
	t.Cleanup(c2.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := c2.Do(req)
	if err != nil {
		t.Fatalf("GET with short deadline: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || netx.RoundTripperOf(c2).Stats().RetriesDenied != 1 {
		t.Errorf("GET with short deadline = %d, denied %d, want 503, 1", resp.StatusCode, netx.RoundTripperOf(c2).Stats().RetriesDenied)
	}

	// POST is not idempotent: never retried.
	before := hits.Load()
	resp, err = c.Post(url, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := hits.Load() - before; n != 1 {
		t.Errorf("POST: backend hits %d, want 1", n)
	}
}

func TestRetryBudget(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int64
	url, _ := serveBare(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	c := netx.NewClient(netx.WithRetry(netx.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MinRetriesPerSecond: 1, BudgetRatio: 0.1}))
	t.Cleanup(c.CloseIdleConnections)
	const calls = 20
	for range calls {
		get(t, c, url)
	}
	// 20 calls bank 2 retry tokens; the floor adds 1 (more if the test is
	// slow enough for it to refill). Without a budget it would be 4 × 20.
	if n := hits.Load(); n > calls+6 {
		t.Errorf("backend hits for %d failing calls with up to 5 attempts = %d, want at most %d", calls, n, calls+6)
	}
	if s := netx.RoundTripperOf(c).Stats(); s.RetriesDenied == 0 {
		t.Errorf("RetriesDenied = 0, want the budget to refuse")
	}
}

var _ sync.Mutex

func TestTLSSessionResumption(t *testing.T) {
	checkLeaks(t)
	ts := httptest.NewUnstartedServer(okHandler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	defer ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	tr := netx.NewTransport()
	tr.TLSClientConfig.RootCAs = pool
	c := netx.NewClient(netx.WithTransport(tr))
	defer c.CloseIdleConnections()
	var resumed []bool
	for range 3 {
		resp, err := c.Get(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		resumed = append(resumed, resp.TLS.DidResume)
		c.CloseIdleConnections() // force a new handshake next time
	}
	if resumed[0] || !resumed[1] || !resumed[2] {
		t.Errorf("DidResume over 3 connections = %v, want [false true true]", resumed)
	}
}

func TestRetryResendsBody(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int64
	var mu sync.Mutex
	var bodies []string
	url, _ := serveBare(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if hits.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	c := netx.NewClient(netx.WithRetry(netx.RetryPolicy{BaseDelay: time.Millisecond}))
	t.Cleanup(c.CloseIdleConnections)
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader("payload"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusNoContent || len(bodies) != 2 || bodies[0] != "payload" || bodies[1] != "payload" {
		t.Errorf("PUT with one 503: status %d, bodies seen %q; want 204 and the payload twice", resp.StatusCode, bodies)
	}
}

func TestBreakerFailureRatio(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int64
	url, _ := serveBare(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1)%2 == 0 {
			http.Error(w, "flaky", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	// Never two failures in a row, but half of all requests fail.
	c := netx.NewClient(netx.WithBreaker(netx.BreakerSettings{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 6, OpenTimeout: time.Minute}))
	t.Cleanup(c.CloseIdleConnections)
	var open int
	for range 10 {
		resp, err := c.Get(url)
		if errors.Is(err, netx.ErrCircuitOpen) {
			open++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if s := netx.RoundTripperOf(c).Stats(); s.BreakerTrips != 1 || open != 4 {
		t.Errorf("alternating 200/500: trips %d, calls refused %d; want 1 trip after 6 requests, 4 refused", s.BreakerTrips, open)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
