//go:build linux

package main

import (
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// h2ZeroWindowStreams opens an HTTP/2 connection over TLS to addr that
// grants no flow-control window (SETTINGS_INITIAL_WINDOW_SIZE=0) and asks
// for path on n streams, so that every response blocks on its first DATA
// frame. It returns the connection; the server's frames are read and
// dropped until it closes.
func h2ZeroWindowStreams(t *testing.T, addr, path string, n int) net.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // the demo's self-signed certificate
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN: %q, want h2", p)
	}
	go func() { _, _ = io.Copy(io.Discard, c) }()
	frame := func(b []byte, typ, flags byte, stream uint32, payload []byte) []byte {
		b = append(b, byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload)), typ, flags)
		b = binary.BigEndian.AppendUint32(b, stream)
		return append(b, payload...)
	}
	b := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	b = frame(b, 0x4, 0, 0, []byte{0, 4, 0, 0, 0, 0}) // SETTINGS: INITIAL_WINDOW_SIZE 0
	// HPACK by hand: :method GET (static 2), :scheme https (7), :path and
	// :authority as literals without indexing.
	block := []byte{0x82, 0x87, 0x04, byte(len(path))}
	block = append(block, path...)
	block = append(block, 0x01, 9)
	block = append(block, "localhost"...)
	for i := range n {
		b = frame(b, 0x1, 0x5, uint32(2*i+1), block) // HEADERS, END_HEADERS|END_STREAM
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMetricsZeroWindowH2 is the second row of issue #14's table: three
// HTTP/2 connections each open 200 streams of /metrics and grant no
// window, so every response blocks. That used to hold the in-flight limit
// for the 60s WriteTimeout and shed every other request (0/69). Now
// /metrics is an operator path (exempt, not counted), a response blocked
// on its client does not hold the limit, and the stall timeout ends it:
// the page, /metrics itself and / are served throughout.
func TestMetricsZeroWindowH2(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server")
	}
	addr, stderr := startServer(t)
	for range 3 {
		h2ZeroWindowStreams(t, addr, "/metrics", 200)
	}
	time.Sleep(500 * time.Millisecond)                                                                     // the 600 streams are in their handlers
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the demo's self-signed certificate
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	ok := map[string]int{}
	const n = 20
	for range n {
		for _, p := range []string{"/", "/metrics", "/debug/gotune"} {
			resp, err := c.Get("https://" + addr + p)
			if err != nil {
				t.Logf("%s: %v", p, err)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ok[p]++
			} else {
				t.Logf("%s: %s", p, resp.Status)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("under 3 x 200 zero-window streams of /metrics: / %d/%d, /metrics %d/%d, /debug/gotune %d/%d", ok["/"], n, ok["/metrics"], n, ok["/debug/gotune"], n)
	for _, p := range []string{"/", "/metrics", "/debug/gotune"} {
		if ok[p] < n*95/100 {
			t.Errorf("%s: %d/%d served under the attack, want at least 95%%\n%s", p, ok[p], n, stderr.String())
		}
	}
}
