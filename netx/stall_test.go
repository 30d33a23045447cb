package netx_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
)

// dialSend dials addr, writes send, and closes the connection when the
// test ends.
func dialSend(t *testing.T, addr, send string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	if send != "" {
		_, err = io.WriteString(c, send)
		must(t, err)
	}
	return c
}

// stallHandler reads /body's request body to the end, writes 1 MiB for
// /big, holds /poll until the test ends, and answers anything else "ok".
func stallHandler(t *testing.T) http.Handler {
	big := make([]byte, 1<<20)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/body":
			_, _ = io.Copy(io.Discard, r.Body)
		case "/big":
			_, _ = w.Write(big)
			return
		case "/poll":
			select {
			case <-done:
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
}

// TestStalledClientsEvictable: every connection the limit allows is held
// by a request whose handler waits on a client that sends or takes
// nothing: a body declared and never sent (with and without Expect:
// 100-continue, or sent in part), an HTTP/2 stream whose window stays
// shut, an HTTP/2 POST without DATA. Such connections looked busy until
// the body grace or the write stall ended them (10s, 15s), and a probe
// could not get in (the independent attack run: 200 such connections
// under RLIMIT_NOFILE 256 held netx at 0-10/40 while plain net/http,
// which takes every descriptor, served 40/40). They now rank stalled once
// they have moved under 1 KiB/s for half a second, and go at the ceiling
// (with WithMaxConns, the limit itself).
func TestStalledClientsEvictable(t *testing.T) {
	post := func(extra string) func(t *testing.T, addr string) net.Conn {
		return func(t *testing.T, addr string) net.Conn {
			return dialSend(t, addr, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"+extra)
		}
	}
	cases := []struct {
		name string
		h2   bool
		open func(t *testing.T, addr string) net.Conn
	}{
		{"silent body", false, post("\r\n")},
		{"2 KiB then silence", false, post("\r\n" + strings.Repeat("a", 2048))},
		{"expect 100-continue", false, post("Expect: 100-continue\r\n\r\n")},
		{"h2 zero window", true, func(t *testing.T, addr string) net.Conn {
			c := h2c(t, addr, 0)
			openStreams(t, c, 1, "/big")
			return c
		}},
		{"h2 zero window, PINGs to look alive", true, func(t *testing.T, addr string) net.Conn {
			// A PING every 5ms and its ACK move about 7 KB/s of frames:
			// socket bytes would keep it off the stalled rank.
			c := h2c(t, addr, 0)
			openStreams(t, c, 1, "/big")
			stop := make(chan struct{})
			t.Cleanup(func() { close(stop) })
			go func() {
				ping := []byte{0, 0, 8, 0x6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					if _, err := c.Write(ping); err != nil {
						return
					}
				}
			}()
			return c
		}},
		{"h2 POST without DATA", true, func(t *testing.T, addr string) net.Conn {
			c := h2c(t, addr, 65535)
			// HPACK: :method POST (static 3), :scheme http (6), :path
			// /body and :authority x as literals; END_HEADERS only, so
			// the body stays open.
			block := append([]byte{0x83, 0x86, 0x04, 5}, "/body"...)
			block = append(block, 0x01, 1, 'x')
			writeFrame(t, c, 0x1, 0x4, 1, block)
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			srv := quietServer(stallHandler(t), netx.WithMaxConns(4))
			if tc.h2 {
				h2Server(srv)
			}
			url := serveNetx(t, srv)
			g := netx.GuardOf(srv)
			for range 4 {
				tc.open(t, strings.TrimPrefix(url, "http://"))
			}
			waitFor(t, 5*time.Second, "4 requests in the handler", func() bool { return g.Stats().Conns.Active == 4 })
			if got := probe(url+"/", 3); got != 3 {
				t.Errorf("probe with the limit held by 4 stalled clients: %d/3, want 3 (stats %+v)", got, g.Stats().Conns)
			}
			if s := g.Stats().Conns; s.Evicted == 0 {
				t.Errorf("Stats().Conns = %+v, want stalled clients evicted", s)
			}
		})
	}
}

// TestWaitingHandlersKept: a connection whose handler waits on its own
// work (a long poll) is busy, however few bytes move: past the limit the
// listener waits rather than evict it.
func TestWaitingHandlersKept(t *testing.T) {
	checkLeaks(t)
	srv := quietServer(stallHandler(t), netx.WithMaxConns(2))
	url := serveNetx(t, srv)
	g := netx.GuardOf(srv)
	var polls []net.Conn
	for range 2 {
		c := dialSend(t, strings.TrimPrefix(url, "http://"), "GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
		polls = append(polls, c)
	}
	waitFor(t, 5*time.Second, "2 long polls in the handler", func() bool { return g.Stats().Conns.Active == 2 })
	dialSend(t, strings.TrimPrefix(url, "http://"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, 5*time.Second, "an accept waiting", func() bool { return g.Stats().Conns.Waits > 0 })
	time.Sleep(1500 * time.Millisecond) // three stall windows
	if s := g.Stats().Conns; s.Evicted != 0 {
		t.Errorf("Stats().Conns = %+v: a long poll was evicted, want both kept", s)
	}
	for i, p := range polls {
		if !stillOpen(p) {
			t.Errorf("long poll %d closed", i)
		}
	}
}

// TestConnLimits: by default eviction starts at 3/4 of the descriptor
// limit and, while nothing can be evicted, accepts go on to all but 1/16
// of it (at least 16 kept), where plain net/http would take every one;
// WithMaxConns(n) is both bounds.
func TestConnLimits(t *testing.T) {
	for _, c := range []struct {
		max         int
		nofile      uint64
		limit, ceil int64
		what        string
	}{
		{0, 256, 192, 240, "default, 256 descriptors"},
		{0, 64, 48, 48, "default, 64 descriptors: 16 kept"},
		{0, 1 << 20, 3 << 18, 1<<20 - 1<<16, "default, 2^20 descriptors"},
		{0, 8, 6, 6, "default, 8 descriptors: the ceiling never below the limit"},
		{0, 0, 0, 0, "descriptor limit unknown: none"},
		{100, 256, 100, 100, "WithMaxConns(100)"},
		{1000, 256, 1000, 1000, "WithMaxConns above the descriptor limit"},
		{-1, 256, 0, 0, "negative: no limit"},
	} {
		limit, ceil := netx.ConnLimits(c.max, c.nofile)
		if limit != c.limit || ceil != c.ceil {
			t.Errorf("%s: ConnLimits(%d, %d) = %d, %d; want %d, %d", c.what, c.max, c.nofile, limit, ceil, c.limit, c.ceil)
		}
	}
}

// TestBusyStreamsKept: connections doing real work past the limit are
// not taken for stalled ones. A file sent with sendfile to a client that
// reads it (sendfile moved bytes the stall rule did not see); a duplex
// handler that has begun its response and waits for a quiet client's
// next message; an HTTP/2 connection whose earlier stream panicked in the
// middle of a blocking write (the wait it began was never ended) and
// which now carries a long poll.
func TestBusyStreamsKept(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/big"
	must(t, os.WriteFile(file, make([]byte, 64<<20), 0o600))
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			http.ServeFile(w, r, file)
		case "/duplex":
			// Without full duplex, net/http's HTTP/1 server reads what is
			// left of the body before it writes the header: a wait on
			// the client, rightly ranked stalled.
			_ = http.NewResponseController(w).EnableFullDuplex()
			w.WriteHeader(http.StatusOK)
			_ = http.NewResponseController(w).Flush()
			_, _ = io.Copy(io.Discard, r.Body)
		case "/panic":
			_, _ = w.Write(make([]byte, 8<<10)) // past net/http's buffer: a blocking write
			_, _ = io.Copy(w, panicReader{})
		case "/poll":
			select {
			case <-done:
			case <-r.Context().Done():
			}
		}
	})
	for _, c := range []struct {
		name string
		h2   bool
		open func(t *testing.T, addr string)
	}{
		{"sendfile to a reader", false, func(t *testing.T, addr string) {
			c := dialSend(t, addr, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
			go func() { // about 1.3 MB/s, a slow but real download
				buf := make([]byte, 64<<10)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					select {
					case <-done:
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}()
		}},
		{"duplex stream, quiet client", false, func(t *testing.T, addr string) {
			c := dialSend(t, addr, "POST /duplex HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}},
		{"h2 long poll after a panicked write", true, func(t *testing.T, addr string) {
			c := h2c(t, addr, 1<<20)
			openStreams(t, c, 1, "/panic")
			time.Sleep(100 * time.Millisecond)
			block := append([]byte{0x82, 0x86, 0x04, 5}, "/poll"...)
			writeFrame(t, c, 0x1, 0x5, 3, append(block, 0x01, 1, 'x'))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkLeaks(t)
			srv := quietServer(h, netx.WithMaxConns(1))
			if c.h2 {
				h2Server(srv)
			}
			url := serveNetx(t, srv)
			addr := strings.TrimPrefix(url, "http://")
			g := netx.GuardOf(srv)
			c.open(t, addr)
			waitFor(t, 5*time.Second, "a request in the handler", func() bool { return g.Stats().Conns.Active == 1 })
			dialSend(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			waitFor(t, 5*time.Second, "the next accept waiting", func() bool { return g.Stats().Conns.Waits > 0 })
			time.Sleep(4 * 500 * time.Millisecond) // four stall windows
			if s := g.Stats().Conns; s.Evicted != 0 {
				t.Errorf("Stats().Conns = %+v: the busy connection was evicted as stalled", s)
			}
		})
	}
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("reader boom") }
