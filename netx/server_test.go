package netx_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"

	"github.com/gotune/gotune/netx"
)

func TestNewServerDefaults(t *testing.T) {
	srv := netx.NewServer(okHandler())
	checks := []struct {
		name string
		got  time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout},
		{"ReadTimeout", srv.ReadTimeout},
		{"WriteTimeout", srv.WriteTimeout},
		{"IdleTimeout", srv.IdleTimeout},
	}
	for _, c := range checks {
		if c.got <= 0 {
			t.Errorf("NewServer().%s = %v, want > 0", c.name, c.got)
		}
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes >= http.DefaultMaxHeaderBytes {
		t.Errorf("NewServer().MaxHeaderBytes = %d, want in (0, %d)", srv.MaxHeaderBytes, http.DefaultMaxHeaderBytes)
	}
	if netx.GuardOf(srv) == nil {
		t.Error("GuardOf(NewServer()) = nil")
	}
	if netx.GuardOf(&http.Server{}) != nil {
		t.Error("GuardOf(bare server) != nil")
	}
}

func TestGuardHealthAndReadiness(t *testing.T) {
	g := netx.NewGuard(okHandler(), netx.WithRateLimit(0.001, 1, nil))
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/work", nil)) // takes the only token
	do := func(path string) int {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	cases := []struct {
		path string
		want int
	}{
		{"/healthz", 200}, {"/readyz", 200}, {"/work", 429}, // the limit refuses work, not health
	}
	for _, c := range cases {
		if got := do(c.path); got != c.want {
			t.Errorf("GET %s = %d, want %d", c.path, got, c.want)
		}
	}
	g.Drain()
	if got := do("/readyz"); got != 503 {
		t.Errorf("GET /readyz after Drain = %d, want 503", got)
	}
	if got := do("/healthz"); got != 200 {
		t.Errorf("GET /healthz after Drain = %d, want 200", got)
	}
	if s := g.Stats(); s.Phase != "draining" || s.Ready || s.Shed["rate_limit"] != 1 {
		t.Errorf("Stats() = %+v, want phase draining, not ready, 1 rate limited", s)
	}
}

func TestGuardInFlightShed(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(2)
	g := netx.NewGuard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered.Done()
		<-release
	}), netx.WithMaxInFlight(2))
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}()
	}
	entered.Wait()
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("third request: %d Retry-After %q, want 503 \"1\"", rec.Code, rec.Header().Get("Retry-After"))
	}
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("readiness while full = %d, want 200", rec.Code)
	}
	if s := g.Stats(); s.InFlight != 2 || s.Shed["in_flight"] != 1 {
		t.Errorf("Stats() in flight %d shed %d, want 2, 1", s.InFlight, s.Shed["in_flight"])
	}
	close(release)
	wg.Wait()
	if s := g.Stats(); s.InFlight != 0 || s.Requests != 3 {
		t.Errorf("Stats() after: in flight %d requests %d, want 0, 3", s.InFlight, s.Requests)
	}
}

// TestGuardRateLimit runs in synctest bubbles: their clock stands still
// while nothing sleeps, so every request arrives at the same instant.
func TestGuardRateLimit(t *testing.T) {
	t.Run("global", func(t *testing.T) { synctest.Test(t, testRateGlobal) })
	t.Run("per key bounded", func(t *testing.T) { synctest.Test(t, testRatePerKey) })
}

func testRateGlobal(t *testing.T) {
	{
		g := netx.NewGuard(okHandler(), netx.WithRateLimit(rate.Every(2*time.Second), 2, nil))
		var codes []int
		for range 3 {
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			codes = append(codes, rec.Code)
			if rec.Code == 429 && rec.Header().Get("Retry-After") != "2" {
				t.Errorf("429 Retry-After = %q, want \"2\"", rec.Header().Get("Retry-After"))
			}
		}
		if fmt.Sprint(codes) != "[200 200 429]" {
			t.Errorf("codes = %v, want [200 200 429]", codes)
		}
	}
}

func testRatePerKey(t *testing.T) {
	{
		key := func(r *http.Request) string { return r.Header.Get("X-Key") }
		g := netx.NewGuard(okHandler(), netx.WithRateLimit(1, 1, key))
		netx.SetMaxRateKeys(g, 2)
		do := func(k string) int {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("X-Key", k)
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			return rec.Code
		}
		seq := []struct {
			key  string
			want int
		}{{"a", 200}, {"a", 429}, {"b", 200}, {"b", 429}, {"", 200}, {"", 200}, {"c", 200}, {"a", 200}} // "a" was evicted by "c"
		for i, s := range seq {
			if got := do(s.key); got != s.want {
				t.Errorf("step %d key %q = %d, want %d", i, s.key, got, s.want)
			}
		}
		if got := g.Stats().Shed["rate_limit"]; got != 2 {
			t.Errorf("shed rate_limit = %d, want 2", got)
		}
	}
}

func TestGuardBodyLimit(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	g := netx.NewGuard(h, netx.WithMaxBodyBytes(1000))
	cases := []struct {
		name    string
		body    int
		chunked bool
		want    int
	}{
		{"small", 500, false, 200},
		{"exact", 1000, false, 200},
		{"declared too big", 1001, false, 413},
		{"chunked too big", 5000, true, 413},
		{"chunked small", 10, true, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", bytes.NewReader(make([]byte, c.body)))
			if c.chunked {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Errorf("POST %d bytes (chunked %v) = %d, want %d", c.body, c.chunked, rec.Code, c.want)
			}
		})
	}
	if got := g.Stats().BodyTooLarge; got != 2 {
		t.Errorf("Stats().BodyTooLarge = %d, want 2", got)
	}
}

func TestGuardPanicRecovery(t *testing.T) {
	checkLeaks(t)
	h := http.NewServeMux()
	h.HandleFunc("/early", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h.HandleFunc("/late", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("boom after headers")
	})
	var logs bytes.Buffer
	var mu sync.Mutex
	srv := quietServer(h, netx.WithLogger(newTestLogger(&logs, &mu)))
	url := serveNetx(t, srv)
	c := testClient(t, 4)
	if code, _ := get(t, c, url+"/early"); code != 500 {
		t.Errorf("GET /early = %d, want 500", code)
	}
	resp, err := c.Get(url + "/late")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Errorf("GET /late: complete response, want a cut connection")
	}
	if code, _ := get(t, c, url+"/healthz"); code != 200 {
		t.Errorf("GET /healthz after panics = %d, want 200", code)
	}
	if got := netx.GuardOf(srv).Stats().Panics; got != 2 {
		t.Errorf("Stats().Panics = %d, want 2", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("log = %q, want the panic value", logs.String())
	}
}

func TestAdaptiveLimitShrinksAndGrows(t *testing.T) {
	synctest.Test(t, testAdaptiveLimit)
}

func testAdaptiveLimit(t *testing.T) {
	var serviceNs atomic.Int64
	var gate chan struct{}
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-gate
			return
		}
		time.Sleep(time.Duration(serviceNs.Load()))
	})
	g := netx.NewGuard(h, netx.WithAdaptiveLimit(netx.AdaptiveLimit{Min: 2, Max: 20, Target: 10 * time.Millisecond, Window: 5}))
	serve := func(n int) {
		for range n {
			g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}
	}
	if got := g.Stats().InFlightLimit; got != 20 {
		t.Fatalf("initial limit = %d, want 20", got)
	}
	serviceNs.Store(int64(50 * time.Millisecond)) // far above target
	serve(100)
	if got := g.Stats().InFlightLimit; got != 2 {
		t.Errorf("limit after slow windows = %d, want the minimum 2", got)
	}
	// Fast again, with demand above the limit (a shed in every window):
	// additive increase, one step per window.
	serviceNs.Store(int64(time.Millisecond))
	gate = make(chan struct{})
	for round := range 3 {
		lim := g.Stats().InFlightLimit
		var wg sync.WaitGroup
		for range lim {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/block", nil))
			}()
		}
		synctest.Wait()
		if got := g.Stats().InFlight; got != lim {
			t.Fatalf("round %d: in flight %d, want %d", round, got, lim)
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != 503 {
			t.Fatalf("round %d: request over the limit = %d, want 503", round, rec.Code)
		}
		for range lim {
			gate <- struct{}{}
		}
		wg.Wait()
		serve(5 - int(lim)%5) // complete the window
		if got := g.Stats().InFlightLimit; got != lim+1 {
			t.Errorf("round %d: limit = %d, want %d", round, got, lim+1)
		}
	}
}

func TestServerCollector(t *testing.T) {
	g := netx.NewGuard(okHandler())
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	c := netx.NewCollector(g, "api")
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint: %v %v", err, problems)
	}
	want := `
# HELP gotune_netx_server_requests_total Requests that reached the limits (health checks excluded), shed or not.
# TYPE gotune_netx_server_requests_total counter
gotune_netx_server_requests_total{name="api"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "gotune_netx_server_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c); n < 13 {
		t.Errorf("CollectAndCount = %d, want >= 13", n)
	}
	b, err := json.Marshal(g.Stats())
	if err != nil || !bytes.Contains(b, []byte(`"requests":1`)) {
		t.Errorf("json.Marshal(Stats()) = %s, %v", b, err)
	}
}
