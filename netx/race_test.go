package netx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
)

// TestServeOwnServerOnTwoListeners serves one server with a Guard of the
// caller's on two listeners at once. Serve chains the Guard's ConnState
// into the server; under -race this used to report the unsynchronised
// write of the Guard's record of which server it had hooked.
func TestServeOwnServerOnTwoListeners(t *testing.T) {
	checkLeaks(t)
	g := netx.NewGuard(okHandler())
	srv := &http.Server{Handler: g, ReadHeaderTimeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	urls := make([]string, 2)
	for i := range urls {
		ln := listen(t)
		urls[i] = "http://" + ln.Addr().String()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := netx.Serve(ctx, srv, ln, netx.WithGuard(g), netx.WithSignals(), netx.WithDrainDelay(netx.NoDrain)); err != nil {
				t.Errorf("Serve: %v", err)
			}
		}()
	}
	c := testClient(t, 2)
	for _, u := range urls {
		waitFor(t, 5*time.Second, "server up", func() bool {
			resp, err := c.Get(u + "/")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
	}
	if s := g.Stats().Conns; s.Accepted < 2 {
		t.Errorf("Stats().Conns.Accepted = %d, want >= 2", s.Accepted)
	}
	c.CloseIdleConnections()
	cancel()
	wg.Wait()
}

// TestGuardBodyLimitAbove2GiB: a body limit above what a 32-bit int holds
// is kept as set. On 386 the limit used to pass through int and wrap to a
// negative number, which meant no limit at all.
func TestGuardBodyLimitAbove2GiB(t *testing.T) {
	const limit = 3 << 30
	g := netx.NewGuard(okHandler(), netx.WithMaxBodyBytes(limit))
	for _, tc := range []struct {
		length int64
		want   int
	}{{limit + 1, http.StatusRequestEntityTooLarge}, {1, http.StatusOK}} {
		req := httptest.NewRequest("POST", "/", strings.NewReader("x"))
		req.ContentLength = tc.length
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("WithMaxBodyBytes(%d), Content-Length %d: status %d, want %d", int64(limit), tc.length, rec.Code, tc.want)
		}
	}
}
