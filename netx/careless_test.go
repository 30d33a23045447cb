package netx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/gotune/gotune/netx"
)

// TestServeNilArguments: what would panic (in Serve's own goroutine for a
// nil listener, where the caller cannot recover it) is an error naming the
// argument.
func TestServeNilArguments(t *testing.T) {
	srv := quietServer(okHandler())
	ln := listen(t)
	defer ln.Close()
	var nilCtx context.Context // what a careless caller passes
	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"nil listener", func() error { return netx.Serve(context.Background(), srv, nil) }, "nil net.Listener"},
		{"nil server", func() error { return netx.Serve(context.Background(), nil, ln) }, "nil *http.Server"},
		{"nil context", func() error { return netx.Serve(nilCtx, srv, ln) }, "nil context"},
		{"ListenAndServe nil server", func() error { return netx.ListenAndServe(context.Background(), nil) }, "nil *http.Server"},
		{"ListenAndServe nil context", func() error { return netx.ListenAndServe(nilCtx, srv) }, "nil context"},
	} {
		err := c.call()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
}

// TestServeAgainAfterShutdown: net/http serves a server that was shut
// down no more; a second Serve said nil at once and served nothing (a
// restart loop would spin). It now returns http.ErrServerClosed, as
// http.Server.Serve does, and closes the listener.
func TestServeAgainAfterShutdown(t *testing.T) {
	checkLeaks(t)
	srv := quietServer(okHandler())
	opts := []netx.ServeOption{netx.WithSignals(), netx.WithDrainDelay(netx.NoDrain)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- netx.Serve(ctx, srv, listen(t), opts...) }()
	waitFor(t, 5*time.Second, "serving", func() bool { return netx.GuardOf(srv).Stats().Phase == "serving" })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("first Serve: %v", err)
	}
	ln := listen(t)
	err := netx.Serve(context.Background(), srv, ln, opts...)
	if !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("second Serve of a shut-down server: %v, want http.ErrServerClosed", err)
	}
	if _, aerr := ln.Accept(); aerr == nil {
		t.Error("the listener of the refused Serve is still open")
	}
}

// TestHookPanics: a panic in a hook of the Guard's is recovered, logged
// and counted, and the request goes on as if the hook were absent; before,
// net/http recovered it and dropped the connection (the client saw EOF).
func TestHookPanics(t *testing.T) {
	boom := func() int { panic("level boom") }
	var ran atomic.Int64
	cases := []struct {
		name string
		opts []netx.ServerOption
		want int
	}{
		{"pressure level", []netx.ServerOption{netx.WithPressure(boom, 2)}, http.StatusOK},
		{"remedy, and a nil one", []netx.ServerOption{netx.WithPressure(func() int { return 1 }, 2,
			nil, func() { panic("remedy boom") }, func() { ran.Add(1) })}, http.StatusOK},
		{"rate-limit key", []netx.ServerOption{netx.WithRateLimit(rate.Limit(1), 1,
			func(*http.Request) string { panic("key boom") })}, http.StatusOK},
		{"refusal writer", []netx.ServerOption{netx.WithMaxInFlight(1),
			netx.WithRefusal(func(http.ResponseWriter, *http.Request, netx.Refusal) { panic("refusal boom") })}, http.StatusServiceUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkLeaks(t)
			hold := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/hold" {
					<-hold
				}
				_, _ = io.WriteString(w, "ok")
			})
			srv := quietServer(h, c.opts...)
			url := serveNetx(t, srv)
			g := netx.GuardOf(srv)
			if c.want == http.StatusServiceUnavailable { // fill the one slot
				go func() {
					if resp, err := http.Get(url + "/hold"); err == nil {
						resp.Body.Close()
					}
				}()
				waitFor(t, 5*time.Second, "the slot taken", func() bool { return g.Stats().InFlight == 1 })
			}
			resp, err := http.Get(url + "/")
			close(hold)
			if err != nil {
				t.Fatalf("GET: %v (the connection was dropped)", err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("status %d, want %d", resp.StatusCode, c.want)
			}
			if g.Stats().Panics == 0 {
				t.Error("Stats().Panics = 0, want the hook's panic counted")
			}
		})
	}
	if ran.Load() == 0 {
		t.Error("the remedy after the panicking one did not run")
	}
}

// TestHealthPathsOffConnect: with the health endpoints switched off
// (empty paths), a CONNECT request, whose path is empty, reaches the
// handler instead of getting the health answer.
func TestHealthPathsOffConnect(t *testing.T) {
	checkLeaks(t)
	var got atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			got.Store(true)
		}
		w.WriteHeader(http.StatusTeapot)
	})
	srv := quietServer(h, netx.WithHealthPaths("", ""))
	url := serveNetx(t, srv)
	c := dialSend(t, strings.TrimPrefix(url, "http://"), "CONNECT x:1 HTTP/1.1\r\nHost: x:1\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, _ := io.ReadAtLeast(c, b, 12)
	if !got.Load() || !strings.Contains(string(b[:n]), "418") {
		t.Errorf("CONNECT with health paths off: handler reached %v, answer %q; want the handler's 418", got.Load(), b[:n])
	}
}
