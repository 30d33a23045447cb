package netx_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gotune/gotune/netx"
)

// rawBackend serves each connection with answer on 127.0.0.1, after
// reading the request's header block, and returns its URL and the number
// of requests it read.
func rawBackend(t *testing.T, answer func(c net.Conn, req *http.Request)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					n.Add(1)
					answer(c, req)
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String() + "/", &n
}

// TestBackendHugeHeader: a backend that answers with a 2 MiB header line.
// net/http's transport reads up to 10 MiB of response header per
// connection; netx's stops at 1 MiB with an error naming the limit.
func TestBackendHugeHeader(t *testing.T) {
	huge := strings.Repeat("a", 2<<20)
	url, _ := rawBackend(t, func(c net.Conn, _ *http.Request) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Big: %s\r\nContent-Length: 2\r\n\r\nok", huge)
	})
	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.CloseIdleConnections()
	resp, err := plain.Get(url)
	if err != nil {
		t.Logf("plain net/http: %v", err)
	} else {
		t.Logf("plain net/http: accepted a %d-byte header", len(resp.Header.Get("X-Big")))
		resp.Body.Close()
	}
	c := netx.NewClient()
	defer c.CloseIdleConnections()
	resp, err = c.Get(url)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("netx client accepted a %d-byte response header, want an error past 1 MiB", len(resp.Header.Get("X-Big")))
	}
	t.Logf("netx client: %v", err)
	if !strings.Contains(err.Error(), "header") {
		t.Errorf("error %q does not say the header was too large", err)
	}
}

// TestBackendRedirectLoop: a backend that redirects to itself forever.
// The netx client stops after net/http's ten redirects, with retries on
// and a breaker, and does not retry the loop.
func TestBackendRedirectLoop(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer srv.Close()
	c := netx.NewClient(netx.WithRetry(netx.RetryPolicy{MaxAttempts: 3}), netx.WithBreaker(netx.BreakerSettings{}))
	defer c.CloseIdleConnections()
	resp, err := c.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("redirect loop: no error")
	}
	if !strings.Contains(err.Error(), "redirects") {
		t.Errorf("error %q, want net/http's stopped-after-redirects", err)
	}
	if n := hits.Load(); n > 11 {
		t.Errorf("backend saw %d requests, want at most 11 (one and ten redirects)", n)
	}
}

// TestBackendShortBody: a backend that declares a body longer than it
// sends and closes. The caller gets io.ErrUnexpectedEOF, the connection
// is not reused, and a retrying client does not resend a request whose
// response had already begun.
func TestBackendShortBody(t *testing.T) {
	url, n := rawBackend(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort")
		c.(*net.TCPConn).CloseWrite()
	})
	c := netx.NewClient(netx.WithRetry(netx.RetryPolicy{MaxAttempts: 3}))
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a short body: %v, want io.ErrUnexpectedEOF", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("backend saw %d requests, want 1", got)
	}
}
