package netx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"time"
)

// ErrShutdownTimeout is returned (wrapped) by [ListenAndServe] and [Serve]
// when requests were still running at the end of the shutdown timeout and
// their connections had to be closed.
var ErrShutdownTimeout = errors.New("netx: shutdown timed out")

// ListenAndServe listens on srv.Addr (":http", or ":https" when srv has a
// TLS certificate configured) and serves with [Serve]. See Serve for the
// shutdown sequence; call [ListenReusePort] and Serve for SO_REUSEPORT.
func ListenAndServe(ctx context.Context, srv *http.Server, opts ...ServeOption) error {
	if err := checkServeArgs("ListenAndServe", ctx, srv); err != nil {
		return err
	}
	addr := srv.Addr
	tlsOn := hasTLS(srv)
	if addr == "" {
		addr = ":http"
		if tlsOn {
			addr = ":https"
		}
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, srv, ln, opts...)
}

func hasTLS(srv *http.Server) bool {
	return srv.TLSConfig != nil &&
		(len(srv.TLSConfig.Certificates) > 0 || srv.TLSConfig.GetCertificate != nil ||
			srv.TLSConfig.GetConfigForClient != nil)
}

// Serve serves srv on ln (with TLS when srv.TLSConfig holds a certificate
// or GetCertificate) until ctx is done or one of the signals of
// [WithSignals] arrives (default SIGTERM and SIGINT), then shuts down in
// phases so that nothing already accepted is lost:
//
//  1. Draining: the [Guard] (from [GuardOf] or [WithGuard]) fails its
//     readiness endpoint; the server keeps serving, keep-alive connections
//     included, for the drain delay ([WithDrainDelay], default 5s) so load
//     balancers notice and stop sending.
//  2. Shutdown: the listening socket is closed, so new connections are
//     refused rather than queued (closing a socket resets the
//     connections in its queue). Then every response ends its connection
//     ("Connection: close"; over HTTP/2 a GOAWAY), and Serve waits up to a
//     second (a quarter of the shutdown timeout if that is less) for the
//     keep-alive clients to send one more request each and be moved off
//     by its response, not by a connection closed under a request they
//     are sending; their reconnects are refused. Then
//     [http.Server.Shutdown] sends the remaining HTTP/2 clients a GOAWAY,
//     closes the idle HTTP/1 connections left, and waits, up to the
//     shutdown timeout ([WithShutdownTimeout], default 25s), for running
//     requests and hijacked connections to finish. Keep-alive clients are
//     not told to reconnect during the drain: a client that reconnected
//     then would land in the listen queue that closing the socket resets.
//  3. Closing: if the timeout passes, [http.Server.Close] and a close of
//     the remaining hijacked connections end the rest, and Serve returns an
//     error wrapping [ErrShutdownTimeout].
//
// Once the shutdown starts the signals are released, so a second SIGTERM
// or Ctrl-C ends the process at once. Serve returns nil after a clean
// shutdown, and the listener's error if serving fails. ln is wrapped with
// [Guard.Listener] when there is a Guard; unless srv came from
// [NewServer], the Guard's [Guard.ConnState] is chained in front of
// srv.ConnState (so serve such a server on several listeners only after
// the first Serve has started, or install the hook yourself).
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, opts ...ServeOption) error {
	if err := checkServeArgs("Serve", ctx, srv); err != nil {
		return err
	}
	if ln == nil {
		return errors.New("netx: Serve: nil net.Listener")
	}
	c := newServeConfig(opts)
	g := c.guard
	if g == nil {
		g = GuardOf(srv)
	}
	if g != nil && g.wasShutDown(srv) {
		_ = ln.Close() // as http.Server.Serve does
		return fmt.Errorf("netx: Serve: %w: an earlier Serve shut this server down (net/http serves it no more); build a new one", http.ErrServerClosed)
	}
	var logger *slog.Logger
	if g != nil {
		logger = g.logger
	}
	stopCtx, stop := ctx, context.CancelFunc(func() {})
	if len(c.signals) > 0 {
		stopCtx, stop = signal.NotifyContext(ctx, c.signals...)
	}
	defer stop()
	var tlsOn bool
	var gl *guardListener
	if g != nil {
		tlsOn = g.hook(srv)
		ln = g.Listener(ln)
		gl, _ = ln.(*guardListener)
		g.draining.Store(false)
		g.setPhase(phaseServing)
	}
	if g == nil {
		tlsOn = hasTLS(srv)
	}
	errc := make(chan error, 1)
	go func() {
		if tlsOn {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if g != nil {
			g.setPhase(phaseStopped)
		}
		if errors.Is(err, http.ErrServerClosed) {
			if g != nil {
				g.markShutDown(srv)
			}
			return nil // someone else shut it down
		}
		return fmt.Errorf("netx: serve %s: %w", ln.Addr(), err)
	case <-stopCtx.Done():
	}
	stop()
	if logger != nil {
		logger.Info("netx: shutting down", "addr", ln.Addr().String(), "cause", context.Cause(stopCtx).Error())
	}

	if g != nil {
		g.Drain()
	}
	if d := pick(c.drainDelay, defaultDrainDelay); d > 0 {
		t := time.NewTimer(d)
		<-t.C
	}

	if g != nil {
		g.setPhase(phaseShutdown)
	}
	timeout := pick(c.shutdownTimeout, defaultShutdownTimeout)
	sctx, cancel := context.Background(), context.CancelFunc(func() {})
	if timeout > 0 { // a negative option switches the bound off: wait for all
		sctx, cancel = context.WithTimeout(sctx, timeout)
	}
	defer cancel()
	if gl != nil {
		gl.stopAccepting() // before Shutdown: see stopAccepting
		moveWait := maxMoveWait
		if timeout > 0 {
			moveWait = min(maxMoveWait, timeout/4)
		}
		gl.moveClients(sctx, moveWait)
	}
	err := srv.Shutdown(sctx)
	if err == nil && g != nil {
		if n := g.waitHijacked(sctx); n > 0 {
			err = fmt.Errorf("%d hijacked connections open: %w", n, context.DeadlineExceeded)
		}
	}
	if err != nil {
		if g != nil {
			g.setPhase(phaseClosing)
		}
		_ = srv.Close()
		if g != nil {
			g.waitHijacked(sctx) // sctx is done: closes the rest
		}
		err = fmt.Errorf("netx: shutdown after %v: %w (%v)", timeout, ErrShutdownTimeout, err)
	}
	<-errc
	if g != nil {
		g.markShutDown(srv)
		g.setPhase(phaseStopped)
	}
	return err
}

// checkServeArgs refuses what would otherwise panic, in fn or in a
// goroutine it starts where the caller could not recover it.
func checkServeArgs(fn string, ctx context.Context, srv *http.Server) error {
	switch {
	case ctx == nil:
		return fmt.Errorf("netx: %s: nil context.Context", fn)
	case srv == nil:
		return fmt.Errorf("netx: %s: nil *http.Server", fn)
	}
	return nil
}

// markShutDown records that a Serve shut srv down; wasShutDown reports it.
func (g *Guard) markShutDown(srv *http.Server) {
	g.hookMu.Lock()
	defer g.hookMu.Unlock()
	h := g.hooked[srv]
	h.shutDown = true
	g.hooked[srv] = h
}

func (g *Guard) wasShutDown(srv *http.Server) bool {
	g.hookMu.Lock()
	defer g.hookMu.Unlock()
	return g.hooked[srv].shutDown
}

// maxMoveWait bounds how long Serve, with the listening socket closed,
// waits for keep-alive clients to send one more request and be told
// "Connection: close" before http.Server.Shutdown closes the idle
// connections that are left: a client that sends now and then sends
// again within this; one idle for longer is unlikely to send just as
// Shutdown closes its connection (that race is HTTP/1's own, and clients
// retry what they had not sent).
const maxMoveWait = time.Second

// moveClients makes every response on l's connections end its
// connection, then waits up to d (or until ctx ends) for them to close
// after their last response (hijacked ones are not waited for): each keep-alive client then learns from a response, not
// from a connection closed under a request it is sending, that it must
// reconnect (and its reconnect is refused, the socket being closed).
func (l *guardListener) moveClients(ctx context.Context, d time.Duration) {
	l.closeConns.Store(true)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if l.live.Load() <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-tick.C:
		}
	}
}

// hook chains the Guard's ConnState in front of srv's, once per server: a
// Guard in a server of the caller's needs the state changes to know which
// connections it may evict. It returns whether srv serves TLS, read once
// before the first Serve starts: net/http writes srv.TLSConfig when it
// starts serving, so a second Serve of the same server must not read it.
// The lock orders both writes before a concurrent Serve reads them.
func (g *Guard) hook(srv *http.Server) (tlsOn bool) {
	g.hookMu.Lock()
	defer g.hookMu.Unlock()
	if h, ok := g.hooked[srv]; ok && h.tlsKnown {
		return h.tls
	}
	h := g.hooked[srv]
	h.tls, h.tlsKnown = hasTLS(srv), true
	g.readTimeout.Store(int64(srv.ReadTimeout))
	g.writeTimeout.Store(int64(srv.WriteTimeout))
	if h.chained {
		g.hooked[srv] = h
		return h.tls
	}
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		g.ConnState(c, s)
		if prev != nil {
			prev(c, s)
		}
	}
	prevCtx := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		return g.connContext(ctx, c)
	}
	h.chained = true
	g.hooked[srv] = h
	return h.tls
}
