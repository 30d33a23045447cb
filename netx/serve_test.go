package netx_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
)

// hijacker takes over the connection, tells the test, and holds it until
// release is closed (then closes it) or the server closes it.
func hijacker(hijacked chan<- struct{}, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		hijacked <- struct{}{}
		go func() {
			<-release
			c.Close()
		}()
	})
}

func TestServeWaitsForHijackedConns(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		name         string
		releaseAfter time.Duration // 0: never
		timeout      time.Duration
		wantErr      error
	}{
		{"closed by handler", 100 * time.Millisecond, 5 * time.Second, nil},
		{"closed at timeout", 0, 200 * time.Millisecond, netx.ErrShutdownTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hijacked, release := make(chan struct{}, 1), make(chan struct{})
			srv := quietServer(hijacker(hijacked, release))
			ln := listen(t)
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() {
				served <- netx.Serve(ctx, srv, ln, netx.WithSignals(), netx.WithDrainDelay(netx.NoDrain), netx.WithShutdownTimeout(tc.timeout))
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			must(t, err)
			defer c.Close()
			_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
			must(t, err)
			<-hijacked
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			must(t, err)
			resp.Body.Close()
			if got := netx.GuardOf(srv).Stats().Conns.Hijacked; got != 1 {
				t.Errorf("Stats().Conns.Hijacked = %d, want 1", got)
			}
			cancel()
			if tc.releaseAfter > 0 {
				select {
				case err := <-served:
					t.Fatalf("Serve returned (%v) while a hijacked connection was open", err)
				case <-time.After(tc.releaseAfter):
				}
				close(release)
			}
			err = <-served
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Errorf("Serve = %v, want %v", err, tc.wantErr)
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("hijacked client read after shutdown: %v, want EOF", err)
			}
			if tc.releaseAfter == 0 {
				close(release)
			}
			if got := netx.GuardOf(srv).Stats().Conns.Hijacked; got != 0 {
				t.Errorf("after Serve: Stats().Conns.Hijacked = %d, want 0", got)
			}
		})
	}
}

func TestListenReusePort(t *testing.T) {
	checkLeaks(t)
	ctx := context.Background()
	a, err := netx.ListenReusePort(ctx, "tcp", "127.0.0.1:0")
	if runtime.GOOS != "linux" {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("ListenReusePort on %s = %v, want ErrUnsupported", runtime.GOOS, err)
		}
		return
	}
	must(t, err)
	defer a.Close()
	b, err := netx.ListenReusePort(ctx, "tcp", a.Addr().String())
	if err != nil {
		t.Fatalf("second Listen on %s with SO_REUSEPORT: %v", a.Addr(), err)
	}
	b.Close()
	if c, err := net.Listen("tcp", a.Addr().String()); err == nil {
		c.Close()
		t.Errorf("Listen on %s without SO_REUSEPORT succeeded, want address in use", a.Addr())
	}
}

func TestListenAndServeStopsOnContext(t *testing.T) {
	checkLeaks(t)
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	srv := quietServer(okHandler())
	srv.Addr = addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- netx.ListenAndServe(ctx, srv, netx.WithSignals(), netx.WithDrainDelay(50*time.Millisecond))
	}()
	c := testClient(t, 1)
	waitFor(t, 5*time.Second, "server up", func() bool {
		resp, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe after cancel = %v, want nil", err)
	}
	if _, err := c.Get("http://" + addr + "/healthz"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("GET after shutdown: %v, want connection refused", err)
	}
}

func TestServeWithGuardOnOwnServer(t *testing.T) {
	checkLeaks(t)
	inside := make(chan netx.ConnStats, 1)
	var g *netx.Guard
	g = netx.NewGuard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		inside <- g.Stats().Conns
		_, _ = io.WriteString(w, "ok")
	}))
	srv := &http.Server{Handler: g, ReadHeaderTimeout: time.Second}
	url := serveNetx(t, srv, netx.WithGuard(g))
	c := testClient(t, 1)
	if code, _ := get(t, c, url+"/"); code != 200 {
		t.Fatalf("GET = %d", code)
	}
	if s := <-inside; s.Active != 1 || s.Accepted != 1 {
		t.Errorf("conn stats inside the handler = %+v, want 1 active of 1 accepted", s)
	}
	c.CloseIdleConnections()
	waitFor(t, 5*time.Second, "connection closed", func() bool {
		s := g.Stats().Conns
		return s.Idle == 0 && s.Active == 0 && s.New == 0
	})
}

func TestConnStateWithoutListenerWrapper(t *testing.T) {
	checkLeaks(t)
	srv := quietServer(okHandler())
	g := netx.GuardOf(srv)
	ln := listen(t)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }() // not through netx.Serve
	defer func() { _ = srv.Close(); <-done }()
	c := testClient(t, 1)
	if code, _ := get(t, c, "http://"+ln.Addr().String()+"/"); code != 200 {
		t.Fatalf("GET = %d", code)
	}
	waitFor(t, 5*time.Second, "idle connection counted", func() bool { return g.Stats().Conns.Idle == 1 })
	c.CloseIdleConnections()
	waitFor(t, 5*time.Second, "connection gone", func() bool { return g.Stats().Conns.Idle == 0 })
	if s := g.Stats().Conns; s.Accepted != 1 || s.Max != 0 {
		t.Errorf("conn stats = %+v, want 1 accepted and no limit (listener not wrapped)", s)
	}
}
