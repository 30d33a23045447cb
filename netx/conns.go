package netx

import (
	"bytes"
	"container/list"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

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
	g        *Guard
	counts   [http.StateClosed + 1]atomic.Int64
	accepted atomic.Uint64
	evicted  atomic.Uint64
	waits    atomic.Uint64
	max      atomic.Int64

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
	mu    sync.Mutex
	state http.ConnState
	gone  bool
	elem  *list.Element

	// What arrived while the connection was new, for eviction: how much,
	// and the first bytes (a TLS record header says how long the
	// ClientHello record is).
	inNew       atomic.Bool
	slowBody    atomic.Bool  // its request body arrives below the minimum rate
	writing     atomic.Int64 // unix ns when the Write in progress started; 0 when none
	halfClosed  atomic.Bool  // the server has sent its last response and waits to close
	waiting     atomic.Int64 // unix ns of the server's first read, while nothing has come
	reading     atomic.Int64 // unix ns when the server's read in progress started; 0 when none
	lastIn      atomic.Int64 // unix ns when a read last returned bytes, while new
	lastOut     atomic.Int64 // unix ns when a write last started, while new
	readN       int
	head        [5]byte
	tail        [3]byte   // the last bytes read while new, to find "\r\n\r\n" across reads
	headersDone bool      // a whole HTTP/1 header block (or HTTP/2 preface) has arrived
	since       time.Time // accepted
}

// Read notes what a new connection has sent, so eviction can tell a
// client mid-handshake from one that has sent nothing.
func (c *trackedConn) Read(p []byte) (int, error) {
	if !c.inNew.Load() {
		return c.Conn.Read(p)
	}
	now := time.Now().UnixNano()
	c.waiting.CompareAndSwap(0, now)
	c.reading.Store(now)
	n, err := c.Conn.Read(p)
	c.reading.Store(0)
	if n > 0 {
		c.lastIn.Store(time.Now().UnixNano())
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
//   - an idle keep-alive connection: it has nothing in progress, and
//     every HTTP client reconnects when its idle connection is closed,
//     as it does when IdleTimeout closes it;
//   - one that has sent nothing for silentGrace;
//   - one that has sent part of its first TLS record or of its request
//     headers, or is sending a request body below the minimum rate of
//     WithProgressTimeouts.
//
// A connection whose write to its client has blocked for stuckWrite
// ranks with the partial ones.
//
// Never evicted: one accepted within silentGrace that has sent nothing
// yet (a real client whose first bytes the server has not read yet looks
// like that), one that has sent a whole TLS ClientHello record and is in
// its handshake, one that has sent whole request headers (either ranks as
// silent once the server has waited handshakeGrace for its next bytes: a
// client that completes a handshake and sends nothing), busy ones, and
// one whose last response is sent and which net/http holds open for a
// moment before closing it (half a second after an error such as 431, so
// that the client reads it): it goes by itself, and evicting it would let
// an attacker who earns such an answer on purpose reconnect at once, as
// fast as the server accepts, instead of once per half second.
// Reconnecting attackers keep their connections young, so age alone would
// pick the real client whose handshake is older; what a connection has
// sent tells them apart. The oldest goes first within a rank.
const (
	rankIdle = iota
	rankSilent
	rankPartial
	rankFresh // not evicted: Accept waits instead
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
	case c.halfClosed.Load():
		return rankClosing
	case c.state == http.StateIdle:
		return rankIdle
	case c.state == http.StateActive && c.slowBody.Load():
		return rankPartial // a request whose body trickles: nothing useful
	case c.state == http.StateActive && c.writeBlocked():
		return rankPartial // a client that does not read what it asked for
	case c.state != http.StateNew:
		return rankBusy
	case c.readN == 0:
		// Silent only once the server has waited silentGrace for a first
		// byte: a connection the server has not read yet (a busy server,
		// a goroutine not scheduled) may have its request in the socket.
		w := c.waiting.Load()
		if w == 0 || time.Since(time.Unix(0, w)) < silentGrace {
			return rankFresh
		}
		return rankSilent
	case c.head[0] == 0x16 && c.readN >= len(c.head) &&
		c.readN >= len(c.head)+int(c.head[3])<<8|int(c.head[4]),
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
			if time.Since(time.Unix(0, r)) >= grace {
				return rankSilent
			}
		}
		return rankHandshake
	}
	return rankPartial
}

// stuckWrite is how long one write to a connection (writeChunk at most)
// may block before the connection ranks with the partial ones for
// eviction: its send buffer is full and the client has not made room for
// 16 KiB in a second, so it reads under 16 KiB/s, or not at all, and holds
// a descriptor while the server waits on it. A client that reads nothing
// of what it asked for would otherwise hold its connection until the
// write stall timeout.
var stuckWrite = time.Second

// writeChunk is the most Write passes down at once, so that a large
// write to a client that reads slowly but steadily shows its progress.
const writeChunk = 16 << 10

// Write notes when each write starts blocking on the client, so that a
// connection whose client does not read can be evicted when connections
// run short. (The sendfile path of ReadFrom is not watched.)
func (c *trackedConn) Write(p []byte) (n int, err error) {
	for len(p) > 0 && err == nil {
		k := min(len(p), writeChunk)
		now := time.Now().UnixNano()
		c.writing.Store(now)
		if c.inNew.Load() {
			c.lastOut.Store(now)
		}
		var m int
		m, err = c.Conn.Write(p[:k])
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

func (c *trackedConn) writeBlocked() bool {
	w := c.writing.Load()
	return w != 0 && time.Now().UnixNano()-w >= int64(stuckWrite)
}

// CloseWrite lets net/http half-close after an error response (431, 413)
// so the client reads the response instead of a reset.
func (c *trackedConn) CloseWrite() error {
	c.halfClosed.Store(true)
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the sendfile/splice path of the underlying connection.
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
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
	c.since = time.Now()
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
	if int64(t.order.Len()) < m {
		t.mu.Unlock()
		return true
	}
	var victim *trackedConn
	var skip []*trackedConn
	for range maxPendingChecks {
		victim = t.pickLocked(skip)
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

// pickLocked returns the evictable connection of the lowest rank, the
// oldest within it, other than those in skip; nil if there is none.
func (t *connTracker) pickLocked(skip []*trackedConn) *trackedConn {
	var victim *trackedConn
	best := rankFresh
scan:
	for e := t.order.Front(); e != nil; e = e.Next() {
		tc := e.Value.(*trackedConn)
		for _, s := range skip {
			if s == tc {
				continue scan
			}
		}
		if r := tc.rank(); r < best {
			victim, best = tc, r
			if r == rankIdle {
				break // the oldest of the lowest rank
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
	m := int64(g.maxConns)
	if m == 0 {
		if soft := nofileSoftLimit(); soft > 0 {
			m = int64(soft) * 3 / 4
		}
	}
	if m < 0 {
		m = 0
	}
	g.conns.max.Store(m)
	return &guardListener{Listener: ln, t: &g.conns, stopped: make(chan struct{}), closing: make(chan struct{})}
}

type guardListener struct {
	net.Listener
	t      *connTracker
	closed atomic.Bool

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
	if err != nil {
		select {
		case <-l.stopped:
			<-l.closing // Shutdown is under way: let it close us
			return nil, net.ErrClosed
		default:
		}
		return nil, err
	}
	wait := 5 * time.Millisecond
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
	tc := &trackedConn{Conn: c, t: l.t}
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
