package netx_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
)

// drainRuns is the number of shutdowns TestDrainKeepAliveClients does per
// server; GOTUNE_NETX_FULL=1 runs the 10 of the issue.
func drainRuns() int {
	if os.Getenv("GOTUNE_NETX_FULL") != "" {
		return 10
	}
	return 3
}

// TestDrainKeepAliveClients: 32 keep-alive clients send requests in a loop
// (half GET, half POST with a body, which net/http's client does not
// retry once written) while the server shuts down. None may fail with EOF
// or reset: only "connection refused" once the listener is closed. The
// drain used to add "Connection: close" while the socket was open, so
// every client reconnected into the listen queue that closing it resets;
// and http.Server.Shutdown closes idle connections under requests being
// sent on them, which fails a POST (plain net/http does so).
func TestDrainKeepAliveClients(t *testing.T) {
	checkLeaks(t)
	const clients = 32
	shutdowns := map[string]func(ctx context.Context, srv *http.Server, url string, ready chan<- string) error{
		"netx": func(ctx context.Context, srv *http.Server, _ string, ready chan<- string) error {
			ln := listen(t)
			ready <- "http://" + ln.Addr().String()
			return netx.Serve(ctx, srv, ln, netx.WithSignals(), netx.WithDrainDelay(200*time.Millisecond), netx.WithShutdownTimeout(5*time.Second))
		},
		"bare": func(ctx context.Context, srv *http.Server, _ string, ready chan<- string) error {
			ln := listen(t)
			ready <- "http://" + ln.Addr().String()
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			<-ctx.Done()
			time.Sleep(200 * time.Millisecond) // the same serving time as netx's drain
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := srv.Shutdown(sctx)
			<-errc
			return err
		},
	}
	failures := map[string]int64{}
	for _, kind := range []string{"bare", "netx", "bare-h2c", "netx-h2c"} {
		h2 := strings.HasSuffix(kind, "-h2c")
		for run := range drainRuns() {
			var srv *http.Server
			if strings.HasPrefix(kind, "netx") {
				srv = quietServer(okHandler())
			} else {
				srv = &http.Server{Handler: okHandler(), ErrorLog: quietServer(nil).ErrorLog}
			}
			if h2 {
				h2Server(srv)
			}
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan string, 1)
			served := make(chan error, 1)
			go func() { served <- shutdowns[strings.TrimSuffix(kind, "-h2c")](ctx, srv, "", ready) }()
			url := <-ready
			var ok, failed atomic.Int64
			var firstErr atomic.Value
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tr := &http.Transport{MaxIdleConnsPerHost: 1}
					if h2 {
						tr.Protocols = new(http.Protocols)
						tr.Protocols.SetUnencryptedHTTP2(true)
					}
					defer tr.CloseIdleConnections()
					c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
					for {
						select {
						case <-stop:
							return
						default:
						}
						var resp *http.Response
						var err error
						if i%2 == 0 {
							resp, err = c.Get(url + "/")
						} else {
							// A POST with a body is not retried by the
							// client once written: a connection closed
							// under it fails it.
							resp, err = c.Post(url+"/", "text/plain", strings.NewReader("payload"))
						}
						if err != nil {
							if errors.Is(err, syscall.ECONNREFUSED) {
								return // the listener is closed: fine, as with net/http
							}
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
							continue
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						ok.Add(1)
					}
				}()
			}
			waitFor(t, 5*time.Second, "clients running", func() bool { return ok.Load() >= clients*5 })
			cancel()
			if err := <-served; err != nil {
				t.Errorf("%s run %d: serve: %v", kind, run, err)
			}
			close(stop)
			wg.Wait()
			failures[kind] += failed.Load()
			if failed.Load() > 0 {
				t.Logf("%s run %d: %d ok, %d failed (first: %v)", kind, run, ok.Load(), failed.Load(), firstErr.Load())
			}
		}
	}
	t.Logf("failed requests over %d shutdowns with %d keep-alive clients: HTTP/1 netx %d, bare %d; HTTP/2 (h2c) netx %d, bare %d",
		drainRuns(), clients, failures["netx"], failures["bare"], failures["netx-h2c"], failures["bare-h2c"])
	for _, kind := range []string{"netx", "netx-h2c"} {
		if failures[kind] != 0 {
			t.Errorf("%s: %d requests failed with other than connection refused during shutdown, want 0", kind, failures[kind])
		}
	}
}

// TestShutdownOneOfTwoServers: one Guard in front of two servers (the
// careless caller's WithGuard on both); while one shuts down and moves its
// keep-alive clients off with "Connection: close", the other's responses
// keep their connections open. The flag that ends connections used to be
// the Guard's, so one server's shutdown ended the other's connections too.
func TestShutdownOneOfTwoServers(t *testing.T) {
	checkLeaks(t)
	g := netx.NewGuard(okHandler())
	quiet := quietServer(nil).ErrorLog
	serve := func() (url string, cancel func(), done <-chan error) {
		srv := &http.Server{Handler: g, ErrorLog: quiet}
		ln := listen(t)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			errc <- netx.Serve(ctx, srv, ln, netx.WithGuard(g), netx.WithSignals(),
				netx.WithDrainDelay(netx.NoDrain), netx.WithShutdownTimeout(5*time.Second))
		}()
		return "http://" + ln.Addr().String(), cancel, errc
	}
	urlA, cancelA, doneA := serve()
	urlB, cancelB, doneB := serve()
	defer cancelB()
	defer cancelA()

	// A keep-alive connection to A keeps its shutdown waiting for it.
	rawA, err := net.Dial("tcp", strings.TrimPrefix(urlA, "http://"))
	must(t, err)
	defer rawA.Close()
	brA := bufio.NewReader(rawA)
	get := func() *http.Response {
		_, err := io.WriteString(rawA, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		must(t, err)
		resp, err := http.ReadResponse(brA, nil)
		must(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if get().Close {
		t.Fatal("A before its shutdown: Connection: close")
	}
	cancelA()
	time.Sleep(100 * time.Millisecond) // A has closed its socket and waits for rawA
	c := testClient(t, 1)
	resp, err := c.Get(urlB + "/")
	must(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Error("B answered with Connection: close while A shut down; want its connection kept")
	}
	if !get().Close {
		t.Error("A during its shutdown: no Connection: close; want its keep-alive client moved off")
	}
	if err := <-doneA; err != nil {
		t.Errorf("A: %v", err)
	}
	cancelB()
	if err := <-doneB; err != nil {
		t.Errorf("B: %v", err)
	}
}
