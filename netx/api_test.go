package netx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
)

func TestKeyByClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"direct", nil, "192.0.2.7:1234", nil, "192.0.2.7"},
		{"header ignored without trusted proxies", nil, "192.0.2.7:1234", []string{"198.51.100.1"}, "192.0.2.7"},
		{"untrusted peer's header ignored", proxies, "192.0.2.7:1234", []string{"198.51.100.1"}, "192.0.2.7"},
		{"one proxy", proxies, "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged left entry", proxies, "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"two proxies, two headers", proxies, "10.1.2.3:80", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"all trusted", proxies, "10.1.2.3:80", []string{"10.4.4.4"}, "10.4.4.4"},
		{"garbage stops the walk", proxies, "10.1.2.3:80", []string{"198.51.100.1, junk"}, "10.1.2.3"},
		{"no header from proxy", proxies, "10.1.2.3:80", nil, "10.1.2.3"},
		{"ipv6 keyed by /64", nil, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"ipv4-mapped", nil, "[::ffff:192.0.2.9]:443", nil, "192.0.2.9"},
		{"ipv6 behind proxy", proxies, "[fd00::1]:443", []string{"2001:db8::1"}, "2001:db8::/64"},
		{"unparsable peer", nil, "pipe", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := netx.KeyByClientIP(tc.trusted...)(req); got != tc.want {
				t.Errorf("KeyByClientIP(%v)(RemoteAddr %q, X-Forwarded-For %q) = %q, want %q", tc.trusted, tc.remote, tc.xff, got, tc.want)
			}
		})
	}
}

func TestGuardRateLimitByClientIP(t *testing.T) {
	g := netx.NewGuard(okHandler(), netx.WithRateLimit(0.001, 1, netx.KeyByClientIP()))
	do := func(remote string) int {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec.Code
	}
	got := []int{do("192.0.2.1:1"), do("192.0.2.1:2"), do("192.0.2.2:1")}
	if fmt.Sprint(got) != "[200 429 200]" {
		t.Errorf("codes = %v, want [200 429 200] (one bucket per address, not per port)", got)
	}
}

func TestWithRefusal(t *testing.T) {
	writeJSON := func(w http.ResponseWriter, _ *http.Request, ref netx.Refusal) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ref.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": ref.Reason, "retry_after_s": ref.RetryAfter.Seconds()})
	}
	g := netx.NewGuard(okHandler(), netx.WithRateLimit(0.5, 1, nil), netx.WithRefusal(writeJSON))
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 429 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Retry-After") != "2" {
		t.Errorf("refusal = %d %q Retry-After %q, want 429 application/json \"2\"", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Retry-After"))
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != "rate_limit" {
		t.Errorf("refusal body %q: %v, want error %q", rec.Body, err, "rate_limit")
	}

	big := netx.NewGuard(okHandler(), netx.WithMaxBodyBytes(10), netx.WithRefusal(writeJSON))
	req := httptest.NewRequest("POST", "/", nil)
	req.Body, req.ContentLength = io.NopCloser(nil), 11
	rec = httptest.NewRecorder()
	big.ServeHTTP(rec, req)
	if rec.Code != 413 || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("413 refusal = %d %q, want 413 application/json", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// TestBreakerCountsRequestsNotAttempts pins the documented choice: with
// retries, the breaker sees one outcome per request, so a request that
// fails all its attempts is one failure, not MaxAttempts of them.
func TestBreakerCountsRequestsNotAttempts(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int64
	url, _ := serveBare(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	c := netx.NewClient(
		netx.WithBreaker(netx.BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: time.Minute}),
		netx.WithRetry(netx.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MinRetriesPerSecond: 100}))
	t.Cleanup(c.CloseIdleConnections)
	for i := range 3 {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("request %d: %v, want the backend's 502 (breaker still closed)", i+1, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if got := hits.Load(); got != 9 {
		t.Errorf("backend hits after 3 requests = %d, want 9 (3 attempts each)", got)
	}
	if _, err := c.Get(url); !errors.Is(err, netx.ErrCircuitOpen) {
		t.Errorf("4th request: %v, want ErrCircuitOpen after 3 failed requests", err)
	}
	if s := netx.RoundTripperOf(c).Stats(); s.BreakerTrips != 1 || s.Retries != 6 {
		t.Errorf("Stats() trips %d retries %d, want 1, 6", s.BreakerTrips, s.Retries)
	}
}

func TestInvalidOptionsPanic(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"AdaptiveLimit Min > Max", func() { netx.NewGuard(nil, netx.WithAdaptiveLimit(netx.AdaptiveLimit{Min: 10, Max: 2})) }},
		{"AdaptiveLimit negative", func() { netx.NewServer(nil, netx.WithAdaptiveLimit(netx.AdaptiveLimit{Window: -1})) }},
		{"rate limit zero burst", func() { netx.NewGuard(nil, netx.WithRateLimit(10, 0, nil)) }},
		{"breaker ratio > 1", func() { netx.NewClient(netx.WithBreaker(netx.BreakerSettings{FailureRatio: 2})) }},
		{"retry negative attempts", func() { netx.NewClient(netx.WithRetry(netx.RetryPolicy{MaxAttempts: -1})) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic, want one", tc.name)
				}
			}()
			tc.f()
		})
	}
}
