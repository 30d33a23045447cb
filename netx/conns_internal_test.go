package netx

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// feedHeaders runs noteHeaders over the reads of parts, as Read would, and
// reports whether it saw the end of a header block.
func feedHeaders(parts [][]byte) bool {
	c := &trackedConn{}
	for _, p := range parts {
		if c.readN < len(c.head) {
			copy(c.head[c.readN:], p)
		}
		c.noteHeaders(p)
		c.readN += len(p)
	}
	return c.headersDone
}

// TestNoteHeadersSplits: the blank line that ends a header block is found
// however the request is split across reads, and not before it is whole.
func TestNoteHeadersSplits(t *testing.T) {
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for i := 0; i <= len(req); i++ {
		for j := i; j <= len(req); j++ {
			parts := [][]byte{req[:i], req[i:j], req[j:]}
			if !feedHeaders(parts) {
				t.Errorf("split at %d,%d: end of headers not seen", i, j)
			}
			if feedHeaders([][]byte{req[:i], req[i:j]}) != (j == len(req)) {
				t.Errorf("split at %d,%d without the rest: headersDone = %v, want %v", i, j, !(j == len(req)), j == len(req))
			}
		}
	}
	var bytewise [][]byte
	for i := range req {
		bytewise = append(bytewise, req[i:i+1])
	}
	if !feedHeaders(bytewise) {
		t.Error("a byte a read: end of headers not seen")
	}
	if feedHeaders([][]byte{[]byte("GET / HTTP/1.1\r\n\r"), []byte("x\n\r\n")}) {
		t.Error(`"\r\n\r" then "x\n\r\n": seen an end of headers that is not there`)
	}
	if feedHeaders([][]byte{[]byte("\x16\x03\x01\x00\x04\r\n\r\n")}) {
		t.Error("a TLS record taken for HTTP headers")
	}
}

// FuzzNoteHeaders: noteHeaders over any reads agrees with a search of
// their concatenation.
func FuzzNoteHeaders(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), uint8(3), uint8(7))
	f.Add([]byte("\r\n\r\n"), uint8(1), uint8(2))
	f.Add([]byte("a\r\n\rb\n\r\n"), uint8(2), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, a, b uint8) {
		i, j := int(a), int(b)
		i, j = min(i, len(data)), min(j, len(data))
		if i > j {
			i, j = j, i
		}
		got := feedHeaders([][]byte{data[:i], data[i:j], data[j:]})
		want := len(data) > 0 && data[0] != 0x16 && bytes.Contains(data, crlfcrlf)
		if got != want {
			t.Errorf("%q split at %d,%d: headersDone = %v, want %v", data, i, j, got, want)
		}
	})
}

// blockingWriter is a ResponseWriter whose writes wait for release.
type blockingWriter struct {
	h       http.Header
	entered chan struct{}
	release chan struct{}
}

func (w *blockingWriter) Header() http.Header { return w.h }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Write(p []byte) (int, error) {
	close(w.entered)
	<-w.release
	return len(p), nil
}

// TestShareCountsAcrossWrites: two requests on one connection, the second
// stepping out of the counts to write while the first finishes, leave the
// connection and busy-connection counts at zero. They used to drift by one
// each time (busyConns -1), and a negative count divided by zero in admit.
func TestShareCountsAcrossWrites(t *testing.T) {
	holdA := make(chan struct{})
	big := make([]byte, 4096)
	g := NewGuard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			<-holdA
			return
		}
		_, _ = w.Write(big)
	}))
	cs := &connShare{}
	ctx := context.WithValue(context.Background(), connShareKey{}, cs)
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(doneA)
		g.ServeHTTP(&blockingWriter{h: http.Header{}}, httptest.NewRequest("GET", "/a", nil).WithContext(ctx))
	}()
	for cs.n.Load() != 1 {
		runtime.Gosched()
	}
	bw := &blockingWriter{h: http.Header{}, entered: make(chan struct{}), release: make(chan struct{})}
	go func() {
		defer close(doneB)
		g.ServeHTTP(bw, httptest.NewRequest("GET", "/b", nil).WithContext(ctx))
	}()
	<-bw.entered // B is in its write, out of the counts
	close(holdA)
	<-doneA
	close(bw.release)
	<-doneB
	for round := range 3 {
		if n, busy, in := cs.n.Load(), g.busyConns.Load(), g.limit.inflight.Load(); n != 0 || busy != 0 || in != 0 {
			t.Fatalf("round %d: connection count %d, busy connections %d, in flight %d; want 0, 0, 0", round, n, busy, in)
		}
		if round == 2 {
			break
		}
		// Again, to see a drift accumulate.
		holdA = make(chan struct{})
		doneA, doneB = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(doneA)
			g.ServeHTTP(&blockingWriter{h: http.Header{}}, httptest.NewRequest("GET", "/a", nil).WithContext(ctx))
		}()
		for cs.n.Load() != 1 {
			runtime.Gosched()
		}
		bw = &blockingWriter{h: http.Header{}, entered: make(chan struct{}), release: make(chan struct{})}
		go func() {
			defer close(doneB)
			g.ServeHTTP(bw, httptest.NewRequest("GET", "/b", nil).WithContext(ctx))
		}()
		<-bw.entered
		close(holdA)
		<-doneA
		close(bw.release)
		<-doneB
	}
}
