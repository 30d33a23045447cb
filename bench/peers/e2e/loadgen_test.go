package e2epeers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestOpenLoopKeepsSending stalls the server until held requests have
// arrived: a closed-loop generator would wait for the first answer and
// never send the others. The first request's latency then spans at least
// the schedule up to the last held one, because it counts from its
// intended time, not from when the server got to it.
func TestOpenLoopKeepsSending(t *testing.T) {
	const held, rate = 10, 200.0
	var mu sync.Mutex
	arrived := 0
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == held {
			close(release)
		}
		mu.Unlock()
		<-release
	}))
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: held}}
	defer c.CloseIdleConnections()
	out := OpenLoop(context.Background(), c, srv.URL, rate, held*time.Second/rate)
	if len(out) != held {
		t.Fatalf("OpenLoop sent %d requests, want %d", len(out), held)
	}
	for i, o := range out {
		if o.Err {
			t.Errorf("request %d failed", i)
		}
	}
	if min := (held - 1) * time.Second / rate; out[0].Latency < min {
		t.Errorf("first request's latency %v, want >= %v (it was held until request %d was sent)", out[0].Latency, min, held)
	}
}
