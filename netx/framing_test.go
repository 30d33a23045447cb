package netx_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// framingHandler echoes what it read of the body, so a difference in how
// a request was framed shows in the answer.
func framingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s read %d %q err=%v", r.Method, r.URL.Path, len(b), b[:min(len(b), 16)], err != nil)
	})
}

// exchange writes req on a fresh connection and returns every response
// read until the server closes it, one "status body" line each.
func exchange(t *testing.T, url, req string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 2*time.Second)
	must(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = io.WriteString(c, req) }()
	br := bufio.NewReader(c)
	var out []string
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
}

// TestFramingSameAsNetHTTP: requests whose framing is ambiguous or
// malformed (the stuff of request smuggling) get the same answers, in the
// same order, from netx as from plain net/http: the Guard's body and
// response wrappers must not change how net/http frames a request, or
// what it does with the bytes after it. Each request is followed on the
// same connection by a GET that closes it.
func TestFramingSameAsNetHTTP(t *testing.T) {
	checkLeaks(t)
	netxURL := serveNetx(t, quietServer(framingHandler()))
	bareURL, _ := serveBare(t, framingHandler())
	const next = "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	cases := []struct{ name, req string }{
		{"Content-Length and chunked", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"two different Content-Lengths", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"},
		{"two equal Content-Lengths", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
		{"negative Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
		{"signed Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc"},
		{"Content-Length with a list", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc"},
		{"body longer than declared", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"gzip, chunked", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
		{"chunked, then identity", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"},
		{"chunk size overflow", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n"},
		{"chunk size with a bare LF", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n"},
		{"chunk extension", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n"},
		{"chunk shorter than its size", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n"},
		{"trailers", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"},
		{"obsolete line folding", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n"},
		{"space before the colon", "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc"},
		{"NUL in a header", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"},
		{"no Host", "GET /a HTTP/1.1\r\n\r\n"},
		{"two Hosts", "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
		{"HTTP/1.0 keep-alive", "POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc"},
		{"Expect: 100-continue", "POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"},
		{"unknown Expect", "POST /a HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 3\r\n\r\nabc"},
		{"absolute URI", "GET http://y/a HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"},
		{"HTTP/2 preface over HTTP/1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"HTTP/0.9", "GET /a\r\n\r\n"},
		{"version 1.2", "GET /a HTTP/1.2\r\nHost: x\r\n\r\n"},
		{"lower-case method", "get /a HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"pipelined three", "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: x\r\n\r\n"},
	}
	for _, c := range cases {
		nx := exchange(t, netxURL, c.req+next)
		bare := exchange(t, bareURL, c.req+next)
		if strings.Join(nx, "\n") != strings.Join(bare, "\n") {
			t.Errorf("%s: netx answered\n\t%s\nplain net/http\n\t%s", c.name, strings.Join(nx, "\n\t"), strings.Join(bare, "\n\t"))
		}
	}
}
