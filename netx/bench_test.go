package netx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gotune/gotune/netx"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkGuard compares calling a handler directly with calling it
// through a Guard with the default options (in-flight limit, body limit,
// panic recovery), from parallel goroutines. Loopback throughput is in
// bench/netx.
func BenchmarkGuard(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"handler=bare", h},
		{"handler=guard", netx.NewGuard(h)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/work", nil)
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					tc.h.ServeHTTP(w, req)
				}
			})
		})
	}
}
