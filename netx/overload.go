package netx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// shedConnShare is the shed reason for a request refused because its
// connection already held more than its fair share of the in-flight limit.
const shedConnShare = "conn_share"

// defaultExempt is the operator's endpoints, never shed: the pressure that
// sheds work must not also blind the people and machines watching it.
var defaultExempt = []string{"/metrics", "/debug/gotune", "/debug/pprof/"}

// pressureGrace is how long a rise in pressure is left to the remedies
// before shedding starts: dropping idle pool objects or idle connections
// takes effect at the next GC cycle, a second or less on a busy server.
const pressureGrace = time.Second

// maxPressureShed is the share of requests shed at the highest pressure
// level. Shedding everything would also shed the requests that let a
// server see the pressure has passed, and memory held by caches is not
// freed by refusing requests: half keeps the server useful while it
// recovers (a degradation, not a lock-out).
const maxPressureShed = 0.5

// WithPressure sheds a share of requests with 503 that grows with a
// pressure level: none at level 0 or below, and level/max × 50% at level
// 1 to max (so gotune's gcguard sheds a quarter while elevated and half
// while critical):
//
//	netx.WithPressure(guard.Level, gcguard.LevelCritical, bufs.DropIdle)
//
// When the level rises the remedies run first, once per rise, and the Guard
// closes its idle keep-alive connections; shedding starts only if the level
// is still up a second later. Shedding stops as soon as level reports 0.
// Requests to the exempt paths ([WithExempt]) are never shed. level is
// called once per request and must be cheap and safe for concurrent use;
// remedies are called from a request's goroutine and must return quickly.
// nil remedies are skipped. A panic in level reads as the level seen last, one in a
// remedy ends that remedy; either is logged and counted in
// [ServerStats].Panics, and the request goes on. NewServer and NewGuard
// panic if max is not positive.
func WithPressure[L ~int | ~int32 | ~int64](level func() L, max L, remedies ...func()) ServerOption {
	return serverOption(func(c *serverConfig) {
		if level == nil {
			c.pressure = nil
			return
		}
		p := &pressure{
			level: func() int64 { return int64(level()) },
			max:   int64(max),
		}
		for _, f := range remedies {
			if f != nil {
				p.remedies = append(p.remedies, f)
			}
		}
		c.pressure = p
	})
}

// WithExempt sets the paths that are never shed or rate limited: the
// operator's endpoints, so that a server under pressure can still be
// watched. A path ending in "/" matches every path under it. The health
// and readiness paths are always exempt. The default is "/metrics",
// "/debug/gotune" and "/debug/pprof/"; WithExempt() with no paths exempts
// only health and readiness.
func WithExempt(paths ...string) ServerOption {
	return serverOption(func(c *serverConfig) {
		c.exempt = append([]string{}, paths...)
		c.exemptSet = true
	})
}

type pressure struct {
	level    func() int64
	max      int64
	remedies []func()
	last     atomic.Int64 // the level seen last
	since    atomic.Int64 // mono when it last rose from 0
}

// shed reports whether this request is one of the share pressure sheds,
// running the remedies on a rise.
func (p *pressure) shed(g *Guard) bool {
	l := min(g.levelNow(p), p.max)
	prev := p.last.Load()
	if l <= 0 {
		if prev != 0 {
			p.last.CompareAndSwap(prev, 0)
		}
		return false
	}
	if l > prev && p.last.CompareAndSwap(prev, l) {
		if prev <= 0 {
			p.since.Store(mono())
		}
		g.remedy()
		return false
	} else if l < prev {
		p.last.CompareAndSwap(prev, l)
	}
	if mono()-p.since.Load() < int64(pressureGrace) {
		return false
	}
	share := maxPressureShed * float64(l) / float64(p.max)
	return rand.Float64() < share
}

// remedy runs the cheap remedies of a pressure rise: the caller's, then
// closing idle keep-alive connections (each holds buffers, and a client
// that comes back reconnects).
func (g *Guard) remedy() {
	g.remedies.Add(1)
	for _, f := range g.pressure.remedies {
		g.runHook("pressure remedy", f)
	}
	g.conns.closeIdle()
}

// levelNow reads the pressure level; a panic in it reads as the level
// seen last, so that a signal that fails now and then does not make the
// level flap (each rise reruns the remedies and closes idle connections).
func (g *Guard) levelNow(p *pressure) (l int64) {
	if !g.runHook("pressure level", func() { l = p.level() }) {
		return p.last.Load()
	}
	return l
}

// runHook calls a caller's hook, recovering a panic in it: logged, counted
// in Panics, and the request goes on without what the hook would have
// done. It reports whether f returned normally.
func (g *Guard) runHook(name string, f func()) (ok bool) {
	defer func() {
		if ok {
			return
		}
		v := recover()
		if v == nil {
			return // runtime.Goexit: let it go on
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		g.panics.Add(1)
		if g.logger != nil {
			g.logger.Error("netx: hook panic recovered", "hook", name, "panic", fmt.Sprint(v))
		}
	}()
	f()
	return true
}

func (g *Guard) isExempt(path string) bool {
	for _, e := range g.exempt {
		if path == e || (strings.HasSuffix(e, "/") && strings.HasPrefix(path, e)) {
			return true
		}
	}
	return false
}

// connShare counts one connection's requests in the handler, for the fair
// share of the in-flight limit. NewServer's ConnContext puts one in each
// connection's context; HTTP/2 streams inherit it.
type connShare struct {
	n  atomic.Int64
	tc *trackedConn // nil unless accepted through Guard.Listener
}

type connShareKey struct{}

// connContext is an http.Server.ConnContext hook.
func (g *Guard) connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connShareKey{}, &connShare{tc: asTracked(c)})
}

// admit takes an in-flight slot for a request on cs's connection (nil:
// one not counted per connection), or returns the reason it may not have
// one: shedInFlight past the limit, shedConnShare when its connection
// already has requests in the handler and either holds its fair share
// while the server is past half its limit (limit / (connections with
// requests in the handler + 1), the +1 keeping room for a connection that
// has none yet) or the slot would be one of the last eighth of the limit,
// which is kept for connections with nothing in the handler.
//
// The slot and the connection's place are taken first and the counts
// read after, so a burst of streams that arrives at once (HTTP/2 rapid
// reset) is judged on the counts it makes, not on counts read before any
// of it was added.
func (g *Guard) admit(cs *connShare) string {
	if !g.limit.acquire() {
		return shedInFlight
	}
	if cs == nil {
		return ""
	}
	n := cs.n.Add(1)
	if n == 1 {
		g.busyConns.Add(1)
		return "" // a connection's first request only meets the global limit
	}
	limit := g.limit.limit.Load()
	v := g.limit.inflight.Load()
	if v > limit-max(1, limit/8) || (v > limit/2 && n > max(1, limit/max(1, g.busyConns.Load()+1))) {
		g.releaseShare(cs)
		g.limit.inflight.Add(-1)
		return shedConnShare
	}
	return ""
}

func (g *Guard) releaseShare(cs *connShare) {
	if cs.n.Add(-1) == 0 {
		g.busyConns.Add(-1)
	}
}
