package netx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Shed reasons, as used in ServerStats.Shed, Refusal.Reason and the reason
// label of gotune_netx_server_shed_total.
const (
	shedInFlight  = "in_flight"
	shedPressure  = "pressure"
	shedRateLimit = "rate_limit"
)

// Server phases, as reported by ServerStats.Phase and the phase label of
// gotune_netx_server_phase.
const (
	phaseServing  = "serving"
	phaseDraining = "draining"
	phaseShutdown = "shutdown"
	phaseClosing  = "closing"
	phaseStopped  = "stopped"
)

var phases = [...]string{phaseServing, phaseDraining, phaseShutdown, phaseClosing, phaseStopped}

// NewServer returns an [*http.Server] whose handler is h behind a [Guard]
// built with the same options, with ReadHeaderTimeout, ReadTimeout,
// WriteTimeout, IdleTimeout and MaxHeaderBytes set (defaults in the package
// overview; change them on the returned server) and ConnState feeding the
// Guard's connection counts. Get the Guard back with [GuardOf]; serve with
// [ListenAndServe] or [Serve]. It panics if an option's value is invalid.
//
// srv.Addr is left empty; set it, or pass a listener to [Serve].
func NewServer(h http.Handler, opts ...ServerOption) *http.Server {
	c := newServerConfig(opts)
	g := newGuard(h, c)
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: defaultReadHeaderTimeout,
		ReadTimeout:       defaultReadTimeout,
		WriteTimeout:      defaultWriteTimeout,
		IdleTimeout:       defaultIdleTimeout,
		MaxHeaderBytes:    defaultMaxHeaderBytes,
		ConnState:         g.ConnState,
		ConnContext:       g.connContext,
	}
	g.readTimeout.Store(int64(srv.ReadTimeout))
	g.writeTimeout.Store(int64(srv.WriteTimeout))
	if c.logger != nil {
		srv.ErrorLog = slog.NewLogLogger(c.logger.Handler(), slog.LevelWarn)
	}
	g.hooked[srv] = hookState{chained: true}
	return srv
}

// GuardOf returns the [*Guard] serving srv's requests if srv was built by
// [NewServer] (or its Handler is a Guard), else nil.
func GuardOf(srv *http.Server) *Guard {
	if srv == nil {
		return nil
	}
	g, _ := srv.Handler.(*Guard)
	return g
}

// Guard is the server-side middleware of [NewServer]: it answers the
// health and readiness endpoints, sheds load (pressure signal, rate limit,
// in-flight limit), bounds request bodies, recovers panics, tracks
// connections through [Guard.ConnState] and [Guard.Listener], and counts it
// all for [Guard.Stats]. Build it with [NewGuard] to put it into a server
// of your own. It is safe for concurrent use.
type Guard struct {
	next      http.Handler
	logger    *slog.Logger
	livePath  string
	readyPath string
	maxBody   int64
	pressure  *pressure
	exempt    []string
	maxConns  int
	refusal   func(http.ResponseWriter, *http.Request, Refusal)

	// Progress timeouts, and the server's totals they never extend (from
	// NewServer, updated by Serve).
	writeStall   time.Duration
	minBodyRate  int
	bodyGrace    time.Duration
	readTimeout  atomic.Int64
	writeTimeout atomic.Int64
	busyConns    atomic.Int64 // connections with requests in the handler

	// hooked holds the servers whose ConnState feeds this Guard (set by
	// NewServer, or chained in by Serve), so Serve chains a server once
	// even when it serves it on several listeners at once.
	hookMu sync.Mutex
	hooked map[*http.Server]hookState

	limit *inflightLimit
	rate  *rateLimiter
	conns connTracker

	ready    atomic.Bool
	draining atomic.Bool
	phase    atomic.Int32

	requests      counter
	shedInFlight  atomic.Uint64
	shedPressure  atomic.Uint64
	shedRateLimit atomic.Uint64
	shedConnShare atomic.Uint64
	bodyTooLarge  atomic.Uint64
	panics        atomic.Uint64
	remedies      atomic.Uint64
	writeStalls   atomic.Uint64
	slowBodies    atomic.Uint64
}

// hookState is what Serve learned about a server it serves for a Guard.
type hookState struct {
	chained  bool // the Guard's ConnState is installed
	tls      bool // the server serves TLS
	tlsKnown bool
	shutDown bool // a Serve shut it down: net/http serves it no more
}

// NewGuard returns a [*Guard] in front of h, configured by the server
// options. It starts ready and in phase "serving". It panics if an option's
// value is invalid.
func NewGuard(h http.Handler, opts ...ServerOption) *Guard {
	return newGuard(h, newServerConfig(opts))
}

func newGuard(h http.Handler, c *serverConfig) *Guard {
	c.validate()
	if h == nil {
		h = http.DefaultServeMux
	}
	g := &Guard{
		next:      h,
		logger:    c.logger,
		livePath:  c.livePath,
		readyPath: c.readyPath,
		maxBody:   c.maxBody,
		pressure:  c.pressure,
		maxConns:  c.maxConns,
		refusal:   c.refusal,
		hooked:    make(map[*http.Server]hookState),
		exempt:    defaultExempt,
	}
	if c.exemptSet {
		g.exempt = c.exempt
	}
	g.writeStall = c.writeStall
	switch {
	case c.writeStall == 0:
		g.writeStall = defaultWriteStall
	case c.writeStall < 0:
		g.writeStall = 0
	}
	g.minBodyRate = c.minBodyRate
	g.bodyGrace = defaultBodyGrace
	switch {
	case c.minBodyRate == 0:
		g.minBodyRate = defaultBodyMinRate
	case c.minBodyRate < 0:
		g.minBodyRate = 0
	}
	switch {
	case c.maxBody == 0:
		g.maxBody = defaultMaxBodyBytes
	case c.maxBody < 0:
		g.maxBody = 0 // no limit
	}
	static := c.maxInFlight
	if static == 0 {
		static = max(256, 128*runtime.GOMAXPROCS(0))
	}
	g.limit = newInflightLimit(static, c.adaptive)
	if c.rateLimit != nil {
		g.rate = newRateLimiter(*c.rateLimit)
	}
	g.conns.init(g)
	g.ready.Store(true)
	return g
}

// SetReady sets what the readiness endpoint answers: 200 when true, 503
// when false. [ListenAndServe] sets it false when draining starts.
func (g *Guard) SetReady(ready bool) { g.ready.Store(ready) }

func (g *Guard) isReady() bool { return g.ready.Load() && !g.draining.Load() }

// Drain marks the server as draining: readiness fails, so load balancers
// stop sending. Requests are still served, keep-alive connections kept
// (see [Serve] for why). [Serve] calls it on a signal.
func (g *Guard) Drain() {
	g.draining.Store(true)
	g.setPhase(phaseDraining)
}

func (g *Guard) setPhase(p string) {
	for i, s := range phases {
		if s == p {
			g.phase.Store(int32(i))
		}
	}
	if g.logger != nil {
		g.logger.Info("netx: server phase", "phase", p)
	}
}

// ServeHTTP implements [http.Handler].
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cs, _ := r.Context().Value(connShareKey{}).(*connShare)
	if cs != nil && cs.tc != nil && cs.tc.l != nil && cs.tc.l.closeConns.Load() {
		// Its listener is shut: end the connection after this response
		// ("Connection: close", a GOAWAY over HTTP/2).
		w.Header().Set("Connection", "close")
	}
	path := r.URL.Path
	if path != "" && (path == g.livePath || path == g.readyPath) { // "" is a CONNECT's, and a switched-off endpoint's
		g.serveHealth(w, r)
		return
	}
	g.requests.inc()
	var tc *trackedConn // the connection, exempt requests included
	if cs != nil {
		tc = cs.tc
	}
	exempt := g.isExempt(path)
	if exempt {
		cs = nil // exempt requests are not counted against their connection
	}
	if !exempt {
		if g.pressure != nil && g.pressure.shed(g) {
			g.shedPressure.Add(1)
			g.refuse(w, r, Refusal{http.StatusServiceUnavailable, shedPressure, defaultRetryAfter})
			return
		}
		if g.rate != nil {
			if wait, ok := g.allowRate(r); !ok {
				g.shedRateLimit.Add(1)
				g.refuse(w, r, Refusal{http.StatusTooManyRequests, shedRateLimit, wait})
				return
			}
		}
		if reason := g.admit(cs); reason != "" {
			if reason == shedConnShare {
				g.shedConnShare.Add(1)
			} else {
				g.shedInFlight.Add(1)
			}
			g.refuse(w, r, Refusal{http.StatusServiceUnavailable, reason, defaultRetryAfter})
			return
		}
	}
	rw := &responseWriter{ResponseWriter: w, g: g, counted: !exempt, cs: cs, tc: tc}
	if tc != nil {
		tc.handlers.Add(1)
		tc.waitSince.Store(0) // a request not waiting on the client
	}
	if g.limit.adaptive || g.writeStall > 0 || g.minBodyRate > 0 {
		rw.start = time.Now() // the clock is read only where something needs it
		rw.dl, _ = w.(deadliner)
	}
	defer g.finish(rw, r)
	if r.Body != nil && r.Body != http.NoBody {
		if g.maxBody > 0 && r.ContentLength > g.maxBody {
			g.bodyTooLarge.Add(1)
			w.Header().Set("Connection", "close")
			g.refuse(rw, r, Refusal{Status: http.StatusRequestEntityTooLarge, Reason: "body_too_large"})
			return
		}
		// The handler gets a shallow copy with the wrapped body: net/http
		// keeps the request it holds, whose Body is its own type, and so
		// keeps its handling of a body the handler left unread (close the
		// connection at once if much is left, rather than read it).
		body := r.Body
		if g.maxBody > 0 {
			body = &limitedBody{rc: http.MaxBytesReader(w, body, g.maxBody), rw: rw, g: g}
		}
		if g.minBodyRate > 0 && rw.dl != nil {
			pb := &progressBody{rc: body, rw: rw}
			pb.arm(rw.start)
			body = pb
		}
		if tc != nil {
			body = &clientBody{rc: body, rw: rw}
		}
		r2 := *r
		r2.Body = body
		r = &r2
	}
	g.next.ServeHTTP(rw, r)
}

// finish releases the in-flight slot, feeds the adaptive limit and
// recovers a panic.
func (g *Guard) finish(rw *responseWriter, r *http.Request) {
	if rw.tc != nil {
		rw.tc.handlers.Add(-1)
	}
	if rw.counted {
		if g.limit.adaptive {
			g.limit.release(time.Since(rw.start))
		} else {
			g.limit.release(0)
		}
		if rw.cs != nil {
			g.releaseShare(rw.cs)
			if tc := rw.cs.tc; tc != nil && tc.slowBody.Load() {
				tc.slowBody.Store(false) // the next request on it starts afresh
			}
		}
	}
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v) // net/http's own way to abort a response quietly
	}
	g.panics.Add(1)
	if g.logger != nil {
		g.logger.Error("netx: handler panic recovered",
			"method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v),
			"stack", string(debug.Stack()))
	}
	if rw.wrote {
		// Headers are out; the only honest thing left is to cut the
		// connection so the client sees a truncated response.
		panic(http.ErrAbortHandler)
	}
	rw.Header().Set("Connection", "close")
	http.Error(rw, "internal server error", http.StatusInternalServerError)
}

// refuse answers a request the Guard will not hand to its handler,
// through the hook of WithRefusal if there is one.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, ref Refusal) {
	h := w.Header()
	if ref.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((ref.RetryAfter+time.Second-1)/time.Second), 10))
	}
	if g.logger != nil {
		g.logger.Debug("netx: request refused", "reason", ref.Reason, "status", ref.Status)
	}
	if g.refusal != nil {
		tw := &trackedWrite{ResponseWriter: w}
		saved := h.Clone()
		if g.runHook("refusal writer", func() { g.refusal(tw, r, ref) }) || tw.wrote {
			return
		}
		// It panicked before writing: the default answer instead, without
		// the headers it had set.
		clear(h)
		for k, v := range saved {
			h[k] = v
		}
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ref.Status)
	msg := "overloaded: " + ref.Reason + "\n"
	if ref.Status == http.StatusRequestEntityTooLarge {
		msg = "request body too large\n"
	}
	_, _ = io.WriteString(w, msg)
}

// allowRate asks the rate limiter; a panic in the key function lets the
// request through (counted in Panics).
func (g *Guard) allowRate(r *http.Request) (wait time.Duration, ok bool) {
	ok = true
	g.runHook("rate-limit key", func() { wait, ok = g.rate.allow(r, time.Now()) })
	return wait, ok
}

// trackedWrite notes whether a refusal writer has started its response.
type trackedWrite struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackedWrite) WriteHeader(code int) { w.wrote = true; w.ResponseWriter.WriteHeader(code) }
func (w *trackedWrite) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}
func (w *trackedWrite) Unwrap() http.ResponseWriter { return w.ResponseWriter }
func (w *trackedWrite) Flush()                      { _ = w.FlushError() }
func (w *trackedWrite) FlushError() error {
	w.wrote = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (g *Guard) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path == g.readyPath && !g.isReady() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not ready\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// ServerStats is a snapshot of a [Guard]. Counters only grow; the rest is
// as of the call.
type ServerStats struct {
	Ready bool `json:"ready"`
	// Phase is "serving", "draining" (readiness fails, see [Guard.Drain]),
	// "shutdown" (the listener is closed, running requests finish),
	// "closing" (the shutdown timeout passed; the rest are closed) or
	// "stopped".
	Phase string `json:"phase"`
	// Requests counts requests that reached the limits (health checks
	// excluded), shed or not.
	Requests      uint64 `json:"requests"`
	InFlight      int64  `json:"in_flight"`
	InFlightLimit int64  `json:"in_flight_limit"`
	// Shed counts shed requests by reason: "in_flight" (the in-flight
	// limit), "conn_share" (the request's connection held its fair share
	// of the in-flight limit), "pressure" ([WithPressure]), "rate_limit"
	// ([WithRateLimit]).
	Shed         map[string]uint64 `json:"shed"`
	BodyTooLarge uint64            `json:"body_too_large"`
	// Remedies counts pressure rises that ran the remedies of
	// [WithPressure]. WriteStalls and SlowBodies count responses and
	// request bodies ended by [WithProgressTimeouts].
	Remedies    uint64 `json:"remedies"`
	WriteStalls uint64 `json:"write_stalls"`
	SlowBodies  uint64 `json:"slow_bodies"`
	// Panics counts panics recovered: a handler's (answered 500), and
	// one in a hook of the Guard's (WithPressure's level or a remedy,
	// WithRateLimit's key, WithRefusal's writer), after which the request
	// goes on as if the hook were absent.
	Panics uint64    `json:"panics"`
	Conns  ConnStats `json:"conns"`
}

// ConnStats counts connections of a server by [http.ConnState], and the
// work of the connection limit of [WithMaxConns].
type ConnStats struct {
	New      int64 `json:"new"`
	Active   int64 `json:"active"`
	Idle     int64 `json:"idle"`
	Hijacked int64 `json:"hijacked"`
	// Accepted counts connections seen; Evicted counts idle or
	// header-pending connections closed to make room; Waits counts
	// accepts that waited because the limit was reached and every
	// connection was busy, just opened, or in a TLS handshake (new
	// connections stay queued in the kernel meanwhile).
	Accepted uint64 `json:"accepted"`
	Evicted  uint64 `json:"evicted"`
	Waits    uint64 `json:"accept_waits"`
	// Max is the connection limit in force (0: none): past it a new
	// connection evicts an evictable one. Ceiling is where accepts wait
	// when none can be evicted: Max under WithMaxConns, nearly the
	// descriptor limit by default (see WithMaxConns).
	Max     int `json:"max"`
	Ceiling int `json:"ceiling"`
}

// Stats returns a snapshot. Safe for concurrent use.
func (g *Guard) Stats() ServerStats {
	return ServerStats{
		Ready:         g.isReady(),
		Phase:         phases[g.phase.Load()],
		Requests:      g.requests.load(),
		InFlight:      g.limit.inflight.Load(),
		InFlightLimit: g.limit.limit.Load(),
		Shed: map[string]uint64{
			shedInFlight:  g.shedInFlight.Load(),
			shedPressure:  g.shedPressure.Load(),
			shedRateLimit: g.shedRateLimit.Load(),
			shedConnShare: g.shedConnShare.Load(),
		},
		Remedies:     g.remedies.Load(),
		WriteStalls:  g.writeStalls.Load(),
		SlowBodies:   g.slowBodies.Load(),
		BodyTooLarge: g.bodyTooLarge.Load(),
		Panics:       g.panics.Load(),
		Conns:        g.conns.stats(),
	}
}

// responseWriter notes whether headers were written, so a panic can still
// get a 500 and a body-limit failure can be turned into 413.
type responseWriter struct {
	http.ResponseWriter
	g  *Guard
	cs *connShare
	tc *trackedConn // its connection, for eviction; nil if not tracked
	// waits counts this request's calls blocked on its client (a write,
	// or a body read before the response started; several at once in a
	// duplex handler); the connection counts the request once.
	waits   atomic.Int32
	started atomic.Bool // the response has begun (read from a body-reading goroutine)
	wrote   bool
	tooBig  bool
	tooBigN bool // the 413 was counted
	counted bool // holds an in-flight slot
	// buffered counts the bytes written while all of them fit in
	// net/http's response buffer, where a write cannot block on the client.
	buffered int

	// Progress timeouts.
	start         time.Time
	dl            deadliner
	armedAt       time.Time
	writeDeadline time.Time
	stallArmed    bool // writeDeadline is the stall bound, not WriteTimeout
	stalled       bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote && w.tooBig && code >= 400 {
		code = http.StatusRequestEntityTooLarge
	}
	w.setWrote()
	w.ResponseWriter.WriteHeader(code)
}

// setWrote marks the response begun.
func (w *responseWriter) setWrote() {
	if !w.wrote {
		w.wrote = true
		w.started.Store(true)
	}
}

// waitClient and doneClient bracket a call blocked on the client; the
// connection counts the request as waiting while any such call runs.
func (w *responseWriter) waitClient() {
	if w.tc != nil && w.waits.Add(1) == 1 && w.tc.clientWaits.Add(1) >= w.tc.handlers.Load() {
		w.tc.allWaiting() // every request of the connection now waits on its client
	}
}

func (w *responseWriter) doneClient() {
	if w.tc != nil && w.waits.Add(-1) == 0 {
		w.tc.clientWaits.Add(-1)
		w.tc.waitSince.Store(0)
	}
}

// Write passes p on. While it blocks on the client, the request does not
// count against the in-flight limit or its connection's share: a client
// that reads slowly (or, over HTTP/2, opens no flow-control window) holds
// its own request, not the handler's resources, and must not lock others
// out; the stall timeout bounds it.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		if w.tooBig {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
		w.setWrote()
	}
	if w.dl != nil && w.g.writeStall > 0 {
		w.armWrite(time.Now())
	}
	if w.buffered >= 0 && w.buffered+len(p) <= unblockedWrite {
		// It only fills net/http's buffer: no need to step out of the
		// in-flight counts, which are shared by every request.
		w.buffered += len(p)
		n, err := w.ResponseWriter.Write(p)
		if err != nil {
			w.noteWriteErr(err)
		}
		return n, err
	}
	w.buffered = -1
	n, err := w.blockingWrite(p)
	if err != nil {
		w.noteWriteErr(err)
	}
	return n, err
}

// blockingWrite writes p outside the in-flight counts (see leave); enter
// is deferred so that a panic below leaves no count behind.
func (w *responseWriter) blockingWrite(p []byte) (int, error) {
	w.leave()
	defer w.enter()
	return w.ResponseWriter.Write(p)
}

// unblockedWrite is how many bytes a response may write, in all, before a
// write might block on its client: net/http buffers the first 2 KiB of an
// HTTP/1 response (to compute its Content-Length) and 4 KiB of an HTTP/2
// one before it writes to the connection.
const unblockedWrite = 2048

// leave and enter take the request out of the in-flight counts around a
// write and put it back (past the limit if need be: it is already in).
func (w *responseWriter) leave() {
	w.waitClient()
	if w.counted {
		w.g.limit.inflight.Add(-1)
		if w.cs != nil {
			w.g.releaseShare(w.cs)
		}
	}
}

func (w *responseWriter) enter() {
	w.doneClient()
	if w.counted {
		w.g.limit.inflight.Add(1)
		if w.cs != nil && w.cs.n.Add(1) == 1 {
			w.g.busyConns.Add(1)
		}
	}
}

// ReadFrom keeps net/http's sendfile path for io.Copy into the response.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	w.setWrote()
	w.buffered = -1
	if w.dl != nil && w.g.writeStall > 0 {
		w.armWrite(time.Now())
	}
	n, err := w.blockingCopy(r)
	if err != nil {
		w.noteWriteErr(err)
	}
	return n, err
}

// Flush implements [http.Flusher].
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError flushes and returns the error, for [http.ResponseController];
// like a write, a flush that blocks on the client does not hold the
// in-flight limit, and one ended by the stall timeout is counted.
func (w *responseWriter) FlushError() error {
	w.setWrote()
	w.buffered = -1 // what follows is written to the connection at once
	if w.dl != nil && w.g.writeStall > 0 {
		w.armWrite(time.Now())
	}
	err := w.blockingFlush()
	if err != nil {
		w.noteWriteErr(err)
	}
	return err
}

// blockingCopy and blockingFlush are blockingWrite's kin.
func (w *responseWriter) blockingCopy(r io.Reader) (int64, error) {
	w.leave()
	defer w.enter()
	return io.Copy(w.ResponseWriter, r)
}

func (w *responseWriter) blockingFlush() error {
	w.leave()
	defer w.enter()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements [http.Hijacker]; the connection stays counted as
// hijacked until it is closed.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.setWrote()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets [http.ResponseController] reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clientBody counts a read of the request body, before the response has
// begun, as waiting on the client, and the bytes it returns as the
// connection's progress, for eviction (see trackedConn.stalledLocked).
// Once the response has begun the request is a stream (a duplex handler,
// a gRPC call) whose reads wait on a client that may rightly be quiet.
type clientBody struct {
	rc io.ReadCloser
	rw *responseWriter
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.rw.started.Load() {
		n, err := b.rc.Read(p)
		b.rw.tc.inBytes.Add(int64(n))
		return n, err
	}
	b.rw.waitClient()
	defer b.rw.doneClient()
	n, err := b.rc.Read(p)
	b.rw.tc.inBytes.Add(int64(n))
	return n, err
}

func (b *clientBody) Close() error { return b.rc.Close() }

// limitedBody marks the response when the body limit is hit.
type limitedBody struct {
	rc io.ReadCloser
	rw *responseWriter
	g  *Guard
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) && !b.rw.tooBigN {
			b.rw.tooBig, b.rw.tooBigN = true, true
			b.g.bodyTooLarge.Add(1)
		}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
