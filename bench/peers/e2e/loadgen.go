package e2epeers

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// Outcome is one request of an open-loop run.
type Outcome struct {
	Latency time.Duration // from the intended send time to the end of the body
	Err     bool
}

// OpenLoop sends GET url at a fixed rate (requests per second) for d,
// each request at its intended time start + i/rate on its own goroutine,
// whether or not earlier requests have finished. Latency counts from the
// intended time, so time a request spent waiting to be sent (a generator
// that fell behind) is counted too: no coordinated omission.
func OpenLoop(ctx context.Context, c *http.Client, url string, rate float64, d time.Duration) []Outcome {
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	out := make([]Outcome, n)
	var wg sync.WaitGroup
	start := time.Now().Add(5 * time.Millisecond)
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			select {
			case <-ctx.Done():
				out = out[:i]
				wg.Wait()
				return out
			case <-time.After(w):
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err == nil {
				var resp *http.Response
				if resp, err = c.Do(req); err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = io.ErrUnexpectedEOF
					}
				}
			}
			out[i] = Outcome{Latency: time.Since(at), Err: err != nil}
		}()
	}
	wg.Wait()
	return out
}
