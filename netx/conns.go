package netx

import (
	"bytes"
	"container/list"
	"context"
	"crypto/tls"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// epoch anchors mono. time.Since reads the monotonic clock, so a step of
// the wall clock (NTP, a resumed VM) does not make every connection look
// silent or stuck at once.
var epoch = time.Now()

// mono returns monotonic nanoseconds since epoch, never 0 (0 means "none"
// in the timestamps below).
func mono() int64 { return int64(time.Since(epoch)) + 1 }

// silentGrace is how long the server may wait for a new connection's first
// byte before the connection ranks first for eviction: a client on the far side of a slow link has
// its first bytes in well under half a second (one round trip after the
// handshake; the client may send with its ACK).
var silentGrace = 500 * time.Millisecond

// handshakeGrace is how long the server may wait for a client's next
// bytes once the client has sent a whole ClientHello (or whole request
// headers), before the connection counts as silent: two silent graces, a
// round trip on a slow link with room to spare.
var handshakeGrace = 2 * silentGrace

// requestGrace is how long the server may wait for a request from a
// client that has answered everything the server sent (its TLS 1.3
// Finished, say): clients send their request at once.
var requestGrace = silentGrace

// connTracker counts a server's connections by state. Connections accepted
// through Guard.Listener are tracked exactly and can be evicted; others
// (a server whose listener was not wrapped) are tracked through a map keyed
// by the connection.
type connTracker struct {
	g         *Guard
	counts    [http.StateClosed + 1]atomic.Int64
	accepted  atomic.Uint64
	evicted   atomic.Uint64
	lingering atomic.Int64 // open connections net/http holds before closing (CloseWrite called)
	waits     atomic.Uint64
	max       atomic.Int64 // eviction starts here
	ceiling   atomic.Int64 // accepts wait here when nothing can be evicted (>= max)

	mu      sync.Mutex
	order   list.List // *trackedConn in accept order, oldest first
	foreign map[net.Conn]http.ConnState
	changed chan struct{} // closed and replaced when a hijacked conn closes
}

func (t *connTracker) init(g *Guard) {
	t.g = g
	t.foreign = make(map[net.Conn]http.ConnState)
	t.changed = make(chan struct{})
}

// trackedConn is a connection accepted through Guard.Listener.
type trackedConn struct {
	net.Conn
	t     *connTracker
	l     *guardListener // nil for one added outside Accept (tests)
	mu    sync.Mutex
	state http.ConnState
	gone  bool
	elem  *list.Element

	// While idle: since when, and whether its next request has begun.
	inIdle    atomic.Bool
	idleSince atomic.Int64
	idleRead  atomic.Bool

	// Send-queue samples of the write in progress (SIOCOUTQ), under mu:
	// the write they belong to, the queue and when it last drained, when
	// last looked at, and the verdict then.
	outqFor, outq, outqAt, outqChecked int64
	outqStuck                          bool

	// Requests of this connection in the Guard, and how many of them wait
	// on the client (a body read before the response has started, a
	// write that can block); the request-body bytes the handlers have
	// read and the bytes written in writes of minCountedWrite or more,
	// and under mu a sample of them taken while every request waited on
	// the client, with the verdict (see stalledLocked).
	handlers, clientWaits atomic.Int32
	sending               atomic.Int32 // sendfiles in progress
	inBytes, outBytes     atomic.Int64
	// waitSince is mono when every request began waiting on the client
	// (0: not all do), and waitBytes the bytes moved then.
	waitSince, waitBytes atomic.Int64
	rateAt, rateBytes    int64
	rateSlow             bool

	// What arrived while the connection was new, for eviction: how much,
	// and the first bytes (a TLS record header says how long the
	// ClientHello record is).
	inNew       atomic.Bool
	slowBody    atomic.Bool  // its request body arrives below the minimum rate
	writing     atomic.Int64 // mono when the Write in progress started; 0 when none
	halfClosed  atomic.Int64 // mono when the server sent its last response and began to wait to close; 0 before
	waiting     atomic.Int64 // mono of the server's first read, while nothing has come
	reading     atomic.Int64 // mono when the server's read in progress started; 0 when none
	lastIn      atomic.Int64 // mono when a read last returned bytes, while new
	lastOut     atomic.Int64 // mono when a write last started, while new
	readN       int
	head        [5]byte
	tail        [3]byte // the last bytes read while new, to find "\r\n\r\n" across reads
	headersDone bool    // a whole HTTP/1 header block (or HTTP/2 preface) has arrived
	since       int64   // mono when accepted
}

// Read notes what a new connection has sent, so eviction can tell a
// client mid-handshake from one that has sent nothing.
func (c *trackedConn) Read(p []byte) (int, error) {
	if !c.inNew.Load() {
		n, err := c.Conn.Read(p)
		if n > 0 && c.inIdle.Load() {
			c.idleRead.Store(true) // its next request has begun
		}
		return n, err
	}
	now := mono()
	c.waiting.CompareAndSwap(0, now)
	c.reading.Store(now)
	n, err := c.Conn.Read(p)
	c.reading.Store(0)
	if n > 0 {
		c.lastIn.Store(mono())
	}
	if n > 0 && c.inNew.Load() {
		c.mu.Lock()
		if c.readN < len(c.head) {
			copy(c.head[c.readN:], p[:n])
		}
		c.noteHeaders(p[:n])
		c.readN += n
		c.mu.Unlock()
	}
	return n, err
}

// noteHeaders looks for the blank line that ends an HTTP/1 header block
// in what a new connection has sent: in p, or across the last bytes kept
// in tail and p. Called with c.mu held.
func (c *trackedConn) noteHeaders(p []byte) {
	if c.headersDone || (c.readN > 0 && c.head[0] == 0x16) || (c.readN == 0 && len(p) > 0 && p[0] == 0x16) {
		return // done, or a TLS handshake, which the record header judges
	}
	if bytes.Contains(p, crlfcrlf) {
		c.headersDone = true
		return
	}
	kept := min(c.readN, len(c.tail))
	for i := 1; i <= kept && i < len(crlfcrlf); i++ { // i bytes from tail, the rest from p
		if len(p) >= len(crlfcrlf)-i && bytes.Equal(c.tail[len(c.tail)-i:], crlfcrlf[:i]) &&
			bytes.Equal(p[:len(crlfcrlf)-i], crlfcrlf[i:]) {
			c.headersDone = true
			return
		}
	}
	if len(p) >= len(c.tail) {
		copy(c.tail[:], p[len(p)-len(c.tail):])
	} else {
		copy(c.tail[:], c.tail[len(p):])
		copy(c.tail[len(c.tail)-len(p):], p)
	}
}

var crlfcrlf = []byte("\r\n\r\n")

// Eviction ranks, lowest evicted first:
//
//   - one whose last response is out and which net/http has held open
//     for closeGrace before closing it (after an error such as 431);
//   - an idle keep-alive connection, idle for idleGrace with nothing of a
//     next request read: it has nothing in progress, and every HTTP client
//     reconnects when its idle connection is closed, as it does when
//     IdleTimeout closes it;
//   - one that has sent nothing for silentGrace, or has sent a whole
//     ClientHello (or whole headers) and then nothing for requestGrace
//     or handshakeGrace while the server waits on it;
//   - one that has sent part of its first TLS record or of its request
//     headers (or of its next request, while idle), is sending a request
//     body below the minimum rate of WithProgressTimeouts, is still
//     without a request handshakeMax after it connected while the server
//     waits on it, or whose write has moved nothing for stuckWrite;
//   - only at the ceiling (see makeRoom): one whose every request waits
//     on a client that has moved under stallRate for stallWindow.
//
// Never evicted: one accepted within silentGrace that has sent nothing
// yet (a real client whose first bytes the server has not read yet looks
// like that), one idle for less than idleGrace, one that has sent a whole
// TLS ClientHello record or whole request headers while the server is
// what it waits on, busy ones making progress, and one whose last
// response is out and which net/http has held open for less than
// closeGrace (see there). makeRoom also
// passes over a new or idle one whose bytes wait unread in the socket.
// Reconnecting attackers keep their connections young, so age alone would
// pick the real client whose handshake is older; what a connection has
// sent tells them apart. The oldest goes first within a rank.
const (
	rankLinger = iota
	rankIdle
	rankSilent
	rankPartial
	rankStalled // evicted only at the ceiling (see makeRoom)
	rankFresh   // not evicted: Accept waits instead
	rankClosing
	rankHandshake
	rankBusy
)

func (c *trackedConn) rank() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.gone:
		return rankBusy
	case c.halfClosed.Load() != 0:
		if time.Duration(mono()-c.halfClosed.Load()) >= closeGrace {
			return rankLinger
		}
		return rankClosing
	case c.state == http.StateIdle:
		switch {
		case c.idleRead.Load():
			return rankPartial // its next request has begun: judged as partial headers
		case time.Duration(mono()-c.idleSince.Load()) < idleGrace:
			return rankFresh // between two back-to-back requests
		}
		return rankIdle
	case c.state == http.StateActive && c.slowBody.Load():
		return rankPartial // a request whose body trickles: nothing useful
	case c.state == http.StateActive && c.writeStuckLocked():
		return rankPartial // a client that does not read what it asked for
	case c.state == http.StateActive && c.stalledLocked():
		return rankStalled // every request waits on a client that sends and takes next to nothing
	case c.state != http.StateNew:
		return rankBusy
	case c.readN == 0:
		// Silent only once the server has waited silentGrace for a first
		// byte: a connection the server has not read yet (a busy server,
		// a goroutine not scheduled) may have its request in the socket.
		w := c.waiting.Load()
		if w == 0 || time.Duration(mono()-w) < silentGrace {
			return rankFresh
		}
		return rankSilent
	case c.head[0] == 0x16 && c.readN >= len(c.head) &&
		c.readN >= len(c.head)+(int(c.head[3])<<8|int(c.head[4])),
		c.headersDone:
		// A whole ClientHello (a handshake in progress) or whole request
		// headers (about to be served): kept while the server is what
		// the connection waits on, but once the server has waited
		// handshakeGrace for the client's next bytes (its Finished, or
		// its request once the handshake is done) it has stopped sending.
		if r := c.reading.Load(); r != 0 {
			grace := handshakeGrace // the server waits for the client's answer to its flight
			if c.lastIn.Load() > c.lastOut.Load() {
				// The client has answered all the server sent: what is
				// due is its request, which clients send at once.
				grace = requestGrace
			}
			if time.Duration(mono()-r) >= grace {
				return rankSilent
			}
			if time.Duration(mono()-c.since) >= handshakeMax {
				// Still no request this long after it connected, and the
				// server waits on it: bytes that trickle in (a TLS
				// slowloris, whose headers cannot be seen) keep it from
				// looking silent, not from looking partial.
				return rankPartial
			}
		}
		return rankHandshake
	}
	return rankPartial
}

// stuckWrite is how long the write in progress on a connection may move
// nothing before the connection ranks with the partial ones for eviction:
// its send queue (SIOCOUTQ) has not drained at all in that time (sampled
// from a quarter of it into the write), so its
// client reads nothing of what it asked for and holds a descriptor while
// the server waits on it (it would otherwise hold it until the write stall
// timeout). How long a write blocks says little by itself: the kernel
// wakes a blocked writer only once much of the send buffer is free, which
// can take seconds for a client that reads hundreds of KiB a second.
// Where the queue cannot be read (outside Linux) a write blocked twice as
// long ranks partial.
var stuckWrite = 500 * time.Millisecond

// closeGrace is how long a connection net/http holds open after its last
// response (half a second after an error such as 431, so that the client
// reads the response rather than a reset) is kept from eviction. After
// it, such a connection goes first: its response is out, and under a
// flood of requests that earn a 431 these connections would otherwise
// hold the descriptors while a real client that has yet to send is closed.
// Not at once, so that such an attacker cannot reconnect as fast as the
// server accepts.
var closeGrace = 200 * time.Millisecond

// idleGrace is how long an idle keep-alive connection is kept from
// eviction after its response: a client sending requests back to back
// sends the next one within a round trip.
var idleGrace = 100 * time.Millisecond

// handshakeMax is how long after it connected a connection with a whole
// ClientHello (or whole headers) may still be without a request, while the
// server waits on it, before it ranks partial.
var handshakeMax = 3 * time.Second

// writeChunk is the most Write passes down at once, so that a large write
// shows its progress; a multiple of a full TLS record (16 KiB and its
// overhead) would not split records, and 64 KiB is not one, but records
// are written one at a time, well under it.
const writeChunk = 64 << 10

// Write notes when each write starts, so that a connection whose client
// does not read can be evicted when connections run short.
func (c *trackedConn) Write(p []byte) (n int, err error) {
	for len(p) > 0 && err == nil {
		k := min(len(p), writeChunk)
		now := mono()
		c.writing.Store(now)
		if c.inNew.Load() {
			c.lastOut.Store(now)
		}
		var m int
		m, err = c.Conn.Write(p[:k])
		if m >= minCountedWrite {
			c.outBytes.Add(int64(m))
		}
		n += m
		p = p[k:]
	}
	c.writing.Store(0)
	return n, err
}

// betweenRequests reports whether c is new or idle: no request of it is
// being served.
func (c *trackedConn) betweenRequests() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == http.StateNew || c.state == http.StateIdle
}

// writeStuckLocked reports whether the write in progress has moved
// nothing for stuckWrite, sampling the send queue at most every quarter
// of it. Called with c.mu held.
func (c *trackedConn) writeStuckLocked() bool {
	w := c.writing.Load()
	if w == 0 {
		return false
	}
	now := mono()
	if time.Duration(now-w) < stuckWrite/4 {
		return false
	}
	if c.outqFor == w && time.Duration(now-c.outqChecked) < stuckWrite/4 {
		return c.outqStuck
	}
	c.outqChecked = now
	q, ok := sendQueue(c.Conn)
	switch {
	case !ok:
		c.outqFor, c.outqStuck = w, time.Duration(now-w) >= 2*stuckWrite
	case c.outqFor != w || q < c.outq:
		// The first look at this write, or its queue has drained since
		// the last: the client reads.
		c.outqFor, c.outq, c.outqAt, c.outqStuck = w, q, now, false
	default:
		c.outqStuck = time.Duration(now-c.outqAt) >= stuckWrite
	}
	return c.outqStuck
}

// stallWindow is how long a connection whose every request in the
// handler waits on its client (reads a request body, or writes a response
// the client opens no window for) may move less than stallRate bytes a
// second, both ways together, before it ranks with the partial ones: a
// body declared and never sent, an HTTP/2 stream whose window stays shut
// or opens a byte at a time. Such a connection otherwise looks busy until
// the body grace or the write stall timeout ends it (10s, 15s), and a
// few hundred of them hold every connection the limit allows. A
// connection whose server is blocked writing to the socket is judged by
// its send queue instead (writeStuckLocked): a blocked write says little
// of how fast its client reads.
var stallWindow = 500 * time.Millisecond

// stallRate is the least rate, in bytes a second both ways, at which a
// connection stalled on its client keeps off the partial rank: the
// minimum body rate of WithProgressTimeouts' default (Apache
// mod_reqtimeout's MinRate).
const stallRate = defaultBodyMinRate

// allWaiting notes that every request of c now waits on its client.
func (c *trackedConn) allWaiting() {
	c.waitBytes.Store(c.inBytes.Load() + c.outBytes.Load())
	c.waitSince.Store(mono())
}

// minCountedWrite is the least write whose bytes count as progress for
// stalledLocked: an HTTP/2 client could otherwise keep a stalled
// connection off the stalled rank by making the server answer PINGs or
// SETTINGS (a 17-byte frame, 39 bytes under TLS).
const minCountedWrite = 64

// stalledLocked reports whether every request of c in the handler has
// waited on its client while c moved less than stallRate bytes a second
// over at least stallWindow (request-body bytes read, response bytes
// written), and the server is not blocked writing to it. The bytes are
// sampled when eviction looks (makeRoom retries while it waits), so the
// first look only starts the window, as does a look long after the last.
// Called with c.mu held.
func (c *trackedConn) stalledLocked() bool {
	h := c.handlers.Load()
	if h <= 0 || c.clientWaits.Load() < h || c.writing.Load() != 0 || c.sending.Load() != 0 {
		c.rateAt, c.rateSlow = 0, false
		return false
	}
	now := mono()
	moved := c.inBytes.Load() + c.outBytes.Load()
	if c.rateAt == 0 {
		// The first look. A connection that has moved nothing at all
		// since all its requests began to wait on the client, at least
		// stallWindow ago, is judged at once; any other starts its window.
		ws := c.waitSince.Load()
		c.rateSlow = ws != 0 && time.Duration(now-ws) >= stallWindow && moved == c.waitBytes.Load()
		c.rateAt, c.rateBytes = now, moved
		return c.rateSlow
	}
	el := time.Duration(now - c.rateAt)
	if el < stallWindow {
		return c.rateSlow
	}
	if el > 4*stallWindow { // a stale sample: it would average over a quiet spell long past
		c.rateAt, c.rateBytes, c.rateSlow = now, moved, false
		return false
	}
	c.rateSlow = float64(moved-c.rateBytes) < stallRate*el.Seconds()
	c.rateAt, c.rateBytes = now, moved
	return c.rateSlow
}

// CloseWrite lets net/http half-close after an error response (431, 413)
// so the client reads the response instead of a reset.
func (c *trackedConn) CloseWrite() error {
	c.mu.Lock()
	if !c.gone && c.halfClosed.CompareAndSwap(0, mono()) {
		c.t.lingering.Add(1)
	}
	c.mu.Unlock()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the sendfile path of the underlying connection for
// files; anything else goes through Write, which is watched for clients
// that do not read. A sendfile is not watched: it keeps the send queue
// full, so the queue's level says nothing of whether the client reads,
// and the connection counts as busy while it runs.
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok && isFile(r) {
		c.sending.Add(1)
		n, err := rf.ReadFrom(r)
		c.sending.Add(-1)
		c.outBytes.Add(n)
		return n, err
	}
	return io.Copy(struct{ io.Writer }{c}, r)
}

// isFile reports whether r is a file, or part of one: what the kernel can
// send without copying.
func isFile(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	_, ok := r.(*os.File)
	return ok
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.t.remove(c)
	return err
}

// setState moves c to s and updates the counts. It returns false once the
// connection is gone.
func (c *trackedConn) setState(s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return
	}
	c.t.counts[c.state].Add(-1)
	c.state = s
	c.t.counts[s].Add(1)
	if s != http.StateNew {
		c.inNew.Store(false)
	}
	if s == http.StateIdle {
		c.idleSince.Store(mono())
		c.idleRead.Store(false)
		c.inIdle.Store(true)
	} else {
		c.inIdle.Store(false)
	}
	if s == http.StateHijacked && c.l != nil {
		c.l.live.Add(-1) // no longer the listener's to move off at shutdown
	}
}

func (t *connTracker) remove(c *trackedConn) {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return
	}
	c.gone = true
	t.counts[c.state].Add(-1)
	hijacked := c.state == http.StateHijacked
	c.mu.Unlock()
	if c.halfClosed.Load() != 0 {
		t.lingering.Add(-1)
	}
	if !hijacked && c.l != nil {
		c.l.live.Add(-1)
	}

	t.mu.Lock()
	if c.elem != nil {
		t.order.Remove(c.elem)
		c.elem = nil
	}
	if hijacked {
		close(t.changed)
		t.changed = make(chan struct{})
	}
	t.mu.Unlock()
}

// add registers a newly accepted connection.
func (t *connTracker) add(c *trackedConn) {
	t.accepted.Add(1)
	c.state = http.StateNew
	t.counts[http.StateNew].Add(1)
	t.mu.Lock()
	c.elem = t.order.PushBack(c)
	c.inNew.Store(true)
	c.since = mono()
	t.mu.Unlock()
}

// makeRoom reports whether one more connection fits under the limit,
// evicting the lowest-ranked evictable connection to make room if need
// be. It reports false when every connection is busy, fresh or in a TLS
// handshake: the caller then waits before accepting, which leaves new
// connections queued in the kernel, as net/http does when it runs out of
// descriptors, rather than closing one.
func (t *connTracker) makeRoom() bool {
	m := t.max.Load()
	if m <= 0 {
		return true
	}
	t.mu.Lock()
	n := int64(t.order.Len())
	t.mu.Unlock()
	if n < m {
		return true
	}
	// Below the ceiling only a connection doing nothing useful goes; if
	// none may, every connection is busy, fresh, in its handshake or
	// stalled on its client, and past the default limit such connections
	// are let in up to the ceiling, near the descriptor limit, as
	// net/http lets them in until accept fails: long polls, streams and
	// WebSockets are real work, and the limit must not turn away clients
	// that plain net/http would serve. At the ceiling a stalled one goes
	// too (a body declared and not sent, an HTTP/2 window kept shut).
	below := n < t.ceiling.Load()
	upTo := rankStalled
	if below {
		upTo = rankPartial
	}
	return t.evictOne(upTo) || below
}

// evictOne closes the lowest-ranked connection of rank upTo or lower and
// reports whether there was one.
func (t *connTracker) evictOne(upTo int) bool {
	t.mu.Lock()
	var victim *trackedConn
	var skip []*trackedConn
	for range maxPendingChecks {
		victim = t.pickLocked(skip, false, upTo)
		if victim == nil || !victim.betweenRequests() || !hasPending(victim.Conn) {
			break
		}
		// Its bytes are in the socket, unread: the server is what is slow
		// (its goroutine waits to be scheduled), not the client, and an
		// idle connection with bytes waiting carries a request. (A busy
		// one's unread bytes are a request body or pipelined requests,
		// which say nothing of whether its client reads.)
		skip = append(skip, victim)
		victim = nil
	}
	if victim == nil && len(skip) == maxPendingChecks {
		// The checks ran out: only a busy connection, whose unread bytes
		// do not count, may go now.
		victim = t.pickLocked(skip, true, upTo)
	}
	t.mu.Unlock()
	if victim == nil {
		return false
	}
	t.evicted.Add(1)
	_ = victim.Close()
	if t.g.logger != nil {
		t.g.logger.Debug("netx: connection evicted")
	}
	return true
}

// maxPendingChecks bounds the candidates makeRoom passes over because
// their bytes wait unread, for one connection to accept.
const maxPendingChecks = 8

// pickLocked returns the connection of the lowest rank, at most upTo, the
// oldest within it, other than those in skip, and only one with a request
// being served if busyOnly; nil if there is none.
func (t *connTracker) pickLocked(skip []*trackedConn, busyOnly bool, upTo int) *trackedConn {
	var victim *trackedConn
	best := upTo + 1
	lowest := rankSilent // the scan stops at the first of this rank or lower
	switch {
	case busyOnly:
	case t.lingering.Load() > 0:
		lowest = rankLinger
	case t.counts[http.StateIdle].Load() > 0:
		lowest = rankIdle
	}
scan:
	for e := t.order.Front(); e != nil; e = e.Next() {
		tc := e.Value.(*trackedConn)
		for _, s := range skip {
			if s == tc {
				continue scan
			}
		}
		if busyOnly && tc.betweenRequests() {
			continue
		}
		if r := tc.rank(); r < best {
			victim, best = tc, r
			if r <= lowest {
				break
			}
		}
	}
	return victim
}

// ConnState is an [http.Server.ConnState] hook that keeps the connection
// counts of [Guard.Stats]; [NewServer] installs it. Call it from your own
// hook if you replace it.
func (g *Guard) ConnState(c net.Conn, s http.ConnState) {
	if tc := asTracked(c); tc != nil {
		if s == http.StateClosed {
			tc.t.remove(tc)
		} else {
			tc.setState(s)
		}
		return
	}
	t := &g.conns
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.foreign[c]
	if ok {
		t.counts[old].Add(-1)
	} else {
		t.accepted.Add(1)
	}
	if s == http.StateClosed {
		delete(t.foreign, c)
		return
	}
	if s == http.StateHijacked {
		// An untracked hijacked connection cannot be seen closing, so it
		// leaves the counts here; Guard.Listener tracks it to the end.
		delete(t.foreign, c)
		return
	}
	t.foreign[c] = s
	t.counts[s].Add(1)
}

func asTracked(c net.Conn) *trackedConn {
	switch v := c.(type) {
	case *trackedConn:
		return v
	case *tls.Conn:
		tc, _ := v.NetConn().(*trackedConn)
		return tc
	}
	return nil
}

func (t *connTracker) stats() ConnStats {
	return ConnStats{
		New:      t.counts[http.StateNew].Load(),
		Active:   t.counts[http.StateActive].Load(),
		Idle:     t.counts[http.StateIdle].Load(),
		Hijacked: t.counts[http.StateHijacked].Load(),
		Accepted: t.accepted.Load(),
		Evicted:  t.evicted.Load(),
		Waits:    t.waits.Load(),
		Max:      int(t.max.Load()),
		Ceiling:  int(t.ceiling.Load()),
	}
}

// hijacked returns the open hijacked connections and a channel closed
// when one of them closes.
func (t *connTracker) hijacked() ([]*trackedConn, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*trackedConn
	for e := t.order.Front(); e != nil; e = e.Next() {
		tc := e.Value.(*trackedConn)
		tc.mu.Lock()
		if !tc.gone && tc.state == http.StateHijacked {
			out = append(out, tc)
		}
		tc.mu.Unlock()
	}
	return out, t.changed
}

// waitHijacked waits until no hijacked connection is open or ctx ends,
// then closes those still open and returns how many it closed.
func (g *Guard) waitHijacked(ctx context.Context) int {
	for {
		open, changed := g.conns.hijacked()
		if len(open) == 0 {
			return 0
		}
		select {
		case <-changed:
		case <-ctx.Done():
			for _, c := range open {
				_ = c.Close()
			}
			return len(open)
		}
	}
}

// Listener wraps ln so that the Guard tracks every connection exactly
// (including hijacked ones until they close, which [ListenAndServe] waits
// for) and enforces the connection limit of [WithMaxConns]. [ListenAndServe]
// and [Serve] call it; call it yourself when you run srv.Serve directly.
// Wrap once per listener.
func (g *Guard) Listener(ln net.Listener) net.Listener {
	m, ceil := connLimits(g.maxConns, nofileSoftLimit())
	g.conns.max.Store(m)
	g.conns.ceiling.Store(ceil)
	return &guardListener{Listener: ln, t: &g.conns, stopped: make(chan struct{}), closing: make(chan struct{})}
}

// connLimits returns the connection count at which eviction starts and
// the one at which Accept waits when nothing can be evicted, for
// WithMaxConns(maxConns) under an RLIMIT_NOFILE soft limit of nofile (0:
// unknown). WithMaxConns(n) is both; by default eviction starts at 3/4 of
// the descriptor limit, keeping the rest for the process's files and
// outbound connections while connections can be evicted, and accepts go on
// up to all but 1/16 of it (at least 16) while none can, where net/http
// would take every descriptor.
func connLimits(maxConns int, nofile uint64) (limit, ceiling int64) {
	switch {
	case maxConns < 0:
		return 0, 0
	case maxConns > 0:
		return int64(maxConns), int64(maxConns)
	case nofile == 0 || nofile > math.MaxInt32:
		return 0, 0
	}
	n := int64(nofile)
	limit = n * 3 / 4
	return limit, max(limit, n-max(16, n/16))
}

type guardListener struct {
	net.Listener
	t      *connTracker
	closed atomic.Bool

	// live counts its connections that are not hijacked or closed;
	// closeConns, set at shutdown, makes their responses end them.
	live       atomic.Int64
	closeConns atomic.Bool

	// stopAccepting closes the socket before http.Server.Shutdown starts
	// (see Serve); Accept then waits for Close, so that the server sees
	// its own shutdown, not a failed listener.
	stopOnce, closeOnce sync.Once
	stopped, closing    chan struct{}
}

// stopAccepting closes the listening socket ahead of http.Server.Shutdown.
// Shutdown marks the server as shutting down before it closes its
// listeners, and from that moment every response ends its connection
// ("Connection: close"): a client whose connection ends in that window
// reconnects into the listen queue, which the close then resets
// ("connection reset by peer"). Closed first, the socket refuses such a
// reconnect instead ("connection refused", as after net/http's own
// Shutdown), while keep-alive connections go on being served.
func (l *guardListener) stopAccepting() {
	l.stopOnce.Do(func() {
		close(l.stopped)
		_ = l.Listener.Close()
	})
}

// Accept accepts the next connection, then, if it is one past the limit,
// evicts another to make room for it, or waits while none may be evicted
// (the connection is not handed to the server meanwhile, and the rest stay
// queued in the kernel). Evicting only for a connection that has come,
// not ahead of one, keeps every connection the limit allows.
func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	wait := 5 * time.Millisecond
	for err != nil && outOfDescriptors(err) && l.t.max.Load() > 0 {
		// The process ran out of descriptors below the ceiling (it holds
		// other files): make room the way a connection at the ceiling
		// would and take the one waiting, or, while none may go, wait
		// and look again, as for a connection past the limit; handed the
		// error, net/http would back off for up to a second.
		if !l.t.evictOne(rankStalled) {
			if l.closed.Load() {
				return nil, net.ErrClosed
			}
			l.t.waits.Add(1)
			time.Sleep(wait)
			wait = min(2*wait, 100*time.Millisecond)
		}
		c, err = l.Listener.Accept()
	}
	if err != nil {
		select {
		case <-l.stopped:
			<-l.closing // Shutdown is under way: let it close us
			return nil, net.ErrClosed
		default:
		}
		return nil, err // net/http backs off and calls again
	}
	wait = 5 * time.Millisecond
	counted := false
	for !l.t.makeRoom() {
		if l.closed.Load() {
			_ = c.Close()
			return nil, net.ErrClosed
		}
		if !counted {
			l.t.waits.Add(1)
			counted = true
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
	tc := &trackedConn{Conn: c, t: l.t, l: l}
	l.live.Add(1)
	l.t.add(tc)
	return tc, nil
}

func (l *guardListener) Close() error {
	l.closed.Store(true)
	l.closeOnce.Do(func() { close(l.closing) })
	select {
	case <-l.stopped:
		return nil // stopAccepting closed the socket
	default:
	}
	return l.Listener.Close()
}

// closeIdle closes the idle keep-alive connections accepted through
// Guard.Listener, a remedy under pressure: their clients reconnect when
// they next need to. It returns how many it closed.
func (t *connTracker) closeIdle() int {
	t.mu.Lock()
	var idle []*trackedConn
	for e := t.order.Front(); e != nil; e = e.Next() {
		tc := e.Value.(*trackedConn)
		tc.mu.Lock()
		if !tc.gone && tc.state == http.StateIdle {
			idle = append(idle, tc)
		}
		tc.mu.Unlock()
	}
	t.mu.Unlock()
	for _, c := range idle {
		_ = c.Close()
	}
	return len(idle)
}
