package tlscache

import (
	"container/heap"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotune/gotune/internal/histogram"
	"github.com/gotune/gotune/internal/stripe"
)

// The hit path compares a certificate's NotAfter with a coarse clock,
// Cache.now, in whole seconds: reading the real clock costs about 60 ns
// here, twice the hit path's budget. Cache.now is set from the cache's
// clock on every miss, on every timer callback, by a timer that re-arms
// every clockTick while entries are cached, and by every clockSample-th
// hit on each P (see Cache.hit). While timers run on time it lags the
// clock by at most clockTick plus under a second of truncation, and a
// certificate stops being served clockMargin before its NotAfter, which
// covers that with seconds to spare. Only timers late by more than that
// spare, or a VM resumed after its certificates expired, leave it further
// behind, and then only until the next miss, timer or sampled hit.
const (
	clockTick   = time.Second
	clockMargin = 5 * time.Second
	clockSample = 1024 // see Cache.hit
)

// Loader loads the certificate for a name. The cache calls it at most once
// at a time per name, on a context that carries the cache's load timeout
// and is cancelled by [Cache.Close]; it is never a handshake's context.
//
// name is normalised (lower case, no trailing dot) and, unless it is empty
// or the name set by [WithDefaultName], a DNS host name: the cache refuses
// any other server name before calling a loader. It is still the SNI the
// client sent, so it is attacker-chosen: loaders that turn it into a path
// or a query should validate it themselves too. A loader with nothing for a name should return an
// error that wraps [ErrNotFound]. Loaders must be safe for concurrent use
// for different names.
type Loader interface {
	Load(ctx context.Context, name string) (*tls.Certificate, error)
}

// LoaderFunc adapts a function to [Loader].
type LoaderFunc func(ctx context.Context, name string) (*tls.Certificate, error)

// Load calls f(ctx, name).
func (f LoaderFunc) Load(ctx context.Context, name string) (*tls.Certificate, error) {
	return f(ctx, name)
}

// Cache is a bounded certificate cache for [tls.Config.GetCertificate].
//
// A hit is one hash lookup with no lock and no allocation; it returns the
// same *tls.Certificate, with Leaf parsed once, to every handshake. A miss
// loads the name through the [Loader] once however many handshakes miss at
// the same time (the others wait, each until its own hello.Context() ends).
// Failed loads are remembered for a short, jittered, backing-off time in a
// separate bounded negative cache, so a flood of unknown SNI costs one load
// per name per negative TTL and bounded memory.
//
// Entries expire at the earlier of load time + TTL and NotAfter − skew, and
// are reloaded in the background ahead of that while the old certificate
// keeps serving; the cache's timer removes an entry at its expiry. The
// timer is not what keeps expired certificates out, though: timers can be
// late (a loaded machine) and do not run while a VM is paused, so every hit
// also compares the certificate's NotAfter, less a margin of a few seconds,
// with a coarse clock kept by the cache (one atomic load; reading the real
// clock would cost more than the rest of the hit). A certificate past that
// point goes to the miss path, which removes it and loads the name again.
//
// Loads in progress are bounded ([WithMaxConcurrentLoads]): when that many
// loader calls are running, a miss that would start another fails at once
// with [ErrOverloaded] instead of adding goroutines.
//
// All methods are safe for concurrent use. New starts no goroutines; a
// timer and load goroutines run only while there is work, and [Cache.Close]
// stops and waits for them.
type Cache struct {
	loader  Loader
	cfg     config
	tab     *table
	hits    *stripe.Counter
	invalid *stripe.Counter      // refused server names; a flood's hot path
	loadDur *histogram.Histogram // Stats.LoadDuration
	now     atomic.Int64         // coarse clock for the hit path, Unix seconds

	ctx    context.Context // parent of every load; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	count    int    // entries in tab
	head     *entry // SIEVE queue: newest at head
	tail     *entry
	hand     *entry
	sched    schedule // entries by due time
	timer    *time.Timer
	timerAt  time.Time
	timerGen uint64
	tick     *time.Timer // keeps now current while entries are cached
	loading  int         // loader calls running, including abandoned ones
	flights  map[string]*flight
	neg      map[string]*negEntry // remembered failures; see negative.go
	negHeap  negHeap
	negBytes int
	sweep    *time.Timer // frees lapsed failures while any remain
	st       Stats       // counters other than hits, guarded by mu
}

// flight is one load in progress; waiters block on done.
type flight struct {
	name    string
	refresh *entry // the entry being refreshed, nil for a miss
	stale   bool   // Invalidate ran since it started: do not cache the result
	done    chan struct{}
	cert    *tls.Certificate
	err     error
}

// New returns a cache that loads certificates through loader. It starts no
// goroutines.
//
// An option's zero value means its documented default, and a negative
// value means "off" where an option can be switched off ([NoTTL],
// [NoRefreshAhead], [NoSkew], [NoNegativeCache]). New returns an error,
// naming the option and the value, for a nil loader and for a value an
// option refuses: a negative bound or timeout that cannot be switched
// off, a [WithMaxEntries] bound over [MaxEntriesLimit], a
// [WithNegativeTTL] max below its base.
func New(loader Loader, opts ...Option) (*Cache, error) {
	if loader == nil {
		return nil, errors.New("tlscache: New: nil Loader")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{
		loader:  loader,
		cfg:     cfg,
		tab:     newTable(cfg.maxEntries),
		hits:    stripe.New(),
		loadDur: histogram.New(loadBuckets...),
		invalid: stripe.New(),
		ctx:     ctx,
		cancel:  cancel,
		flights: make(map[string]*flight),
		neg:     make(map[string]*negEntry),
	}
	c.st.MaxEntries = cfg.maxEntries
	c.st.MaxNegativeEntries = cfg.maxNegative
	c.st.MaxNegativeBytes = cfg.maxNegBytes
	c.st.MaxConcurrentLoads = cfg.maxLoads
	c.now.Store(cfg.now().Unix())
	return c, nil
}

// GetCertificate returns the certificate for hello.ServerName, loading it
// on a miss. It has the signature of [tls.Config.GetCertificate].
//
// Entries are keyed by the exact normalised name. Wildcard matching is the
// loader's business ([Static] and [Dir] follow RFC 6125), so an exact
// certificate always wins over a wildcard that also covers the name; names
// served by one wildcard certificate share its *tls.Certificate but each
// takes an entry. Handshakes without SNI use the name set by
// [WithDefaultName].
//
// A server name that cannot be a DNS host name (longer than 253 bytes, a
// label longer than 63, a byte other than a letter, digit, hyphen or
// underscore after lower-casing, an IP literal) is refused with an error
// wrapping [ErrInvalidName] before it reaches the cache, the negative
// cache or the loader, and is counted in [Stats].InvalidNames. Such a
// name costs no memory beyond the handshake's own, and errors quote at
// most its first 64 bytes.
func (c *Cache) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	raw := hello.ServerName
	if len(raw) > maxNameLen+1 { // one trailing dot is dropped below
		return nil, c.invalidName(raw, "longer than 253 bytes")
	}
	// Keys are stored normalised and valid, so a raw name that hits was
	// already both; checking first would cost as much as the lookup.
	now := c.now.Load()
	if it := c.tab.get(raw); it != nil && now < it.serveUntil {
		c.hit()
		return it.cert, nil
	}
	name := normalize(raw)
	if raw == "" {
		name = c.cfg.defaultName
	} else if why := checkServerName(name); why != "" {
		return nil, c.invalidName(raw, why)
	}
	if name != raw {
		if it := c.tab.get(name); it != nil && now < it.serveUntil {
			c.hit()
			return it.cert, nil
		}
	}
	return c.miss(hello, name)
}

// invalidName counts and returns the error for a refused server name.
func (c *Cache) invalidName(raw, why string) error {
	c.invalid.Inc()
	return fmt.Errorf("tlscache: server name %s: %w: %s", quoteName(raw), ErrInvalidName, why)
}

// hit counts a hit. Every clockSample-th hit on a P also reads the clock
// into the coarse one, so that after a pause in which no timer ran (a
// suspended VM) a busy cache catches up within a few hits rather than at
// the next timer, for a clock read amortised to well under a nanosecond.
func (c *Cache) hit() {
	if c.hits.Inc()%clockSample == 0 {
		c.setNow(c.cfg.now())
	}
}

func (c *Cache) miss(hello *tls.ClientHelloInfo, name string) (*tls.Certificate, error) {
	ctx := hello.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	now := c.cfg.now()
	c.setNow(now)
	// Another handshake may have installed it since the lock-free lookup.
	if it := c.tab.get(name); it != nil {
		if now.Unix() < it.serveUntil {
			c.mu.Unlock()
			c.hits.Inc()
			return it.cert, nil
		}
		// Past its NotAfter (less the margin) but still cached: the timer
		// that should have removed it is late, or the VM was paused.
		if c.cfg.logger != nil {
			c.cfg.logger.Warn("tlscache: dropping a certificate about to expire that the timer missed",
				slog.String("name", name), slog.Time("not_after", it.cert.Leaf.NotAfter))
		}
		c.removeLocked(it.e)
		c.st.Evictions.Expired++
		c.armLocked(now)
	}
	c.st.Misses++
	if n := c.negativeLocked(name, now); n != nil {
		c.st.NegativeHits++
		err := n.err // read under mu: a failed reload rewrites it
		c.mu.Unlock()
		return nil, err
	}
	f := c.flights[name]
	if f == nil {
		if c.loading >= c.cfg.maxLoads {
			c.st.Overloaded++
			c.mu.Unlock()
			return nil, fmt.Errorf("tlscache: load %q: %w: %d loads already running", name, ErrOverloaded, c.cfg.maxLoads)
		}
		f = c.startLocked(name, nil)
	} else {
		c.st.Waits++
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.cert, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("tlscache: waiting for certificate for %q: %w", name, context.Cause(ctx))
	}
}

// startLocked starts loading name in a tracked goroutine. refresh is the
// entry being refreshed, or nil.
func (c *Cache) startLocked(name string, refresh *entry) *flight {
	f := &flight{name: name, refresh: refresh, done: make(chan struct{})}
	c.flights[name] = f
	c.st.InFlight++
	c.loading++
	// One share for the goroutine, one for ending the flight, which the
	// goroutine does unless the timeout callback does it first.
	c.wg.Add(2)
	go c.run(f)
	return f
}

type loadResult struct {
	cert *tls.Certificate
	err  error
}

// run performs f's load in one goroutine. If the load outlasts its
// timeout (a loader that ignores its context), a callback ends the flight
// at the timeout instead, and this goroutine only waits for the loader to
// return; until then the call still counts against the concurrent-load
// bound.
func (c *Cache) run(f *flight) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.loadTimeout)
	defer cancel()
	start := c.cfg.now()
	stop := context.AfterFunc(ctx, func() {
		defer c.wg.Done()
		r := loadResult{err: ErrClosed}
		if !errors.Is(c.ctx.Err(), context.Canceled) {
			r.err = fmt.Errorf("tlscache: load %q: %w after %v", f.name, ErrLoadTimeout, c.cfg.loadTimeout)
		}
		now := c.cfg.now()
		c.finish(f, r, now, now.Sub(start))
	})
	// What is left if the loader calls runtime.Goexit, which no recover
	// stops: the deferred call below still ends the flight and frees the
	// load's slot.
	r := loadResult{err: fmt.Errorf("tlscache: load %q: %w: it called runtime.Goexit", f.name, ErrLoaderPanic)}
	defer func() {
		// The slot first: a waiter woken by finish may start another load
		// at once.
		c.mu.Lock()
		c.loading--
		c.mu.Unlock()
		if stop() {
			now := c.cfg.now()
			if r.err == nil {
				r.cert, r.err = prepare(f.name, r.cert, now)
			}
			c.finish(f, r, now, now.Sub(start))
			c.wg.Done()
		}
	}()
	r.cert, r.err = c.safeLoad(ctx, f.name)
}

// safeLoad calls the loader, turning a panic into an error wrapping
// ErrLoaderPanic: loads run in the cache's goroutines, where a panic
// would take the process down and no caller could recover it.
func (c *Cache) safeLoad(ctx context.Context, name string) (cert *tls.Certificate, err error) {
	defer func() {
		if v := recover(); v != nil {
			cert, err = nil, fmt.Errorf("tlscache: load %q: %w: %.256v", name, ErrLoaderPanic, v)
		}
	}()
	cert, err = c.loader.Load(ctx, name)
	if err != nil {
		// Quote the name once: the ready loaders' errors already do.
		if msg := err.Error(); strings.Contains(msg, strconv.Quote(name)) || strings.Contains(msg, quoteName(name)) {
			return nil, fmt.Errorf("tlscache: load: %w", err)
		}
		return nil, fmt.Errorf("tlscache: load %q: %w", name, err)
	}
	return cert, nil
}

// prepare checks a loaded certificate and parses its leaf once, so every
// handshake shares the parsed Leaf. A zero now skips the validity period
// checks (for loaders that parse ahead of time).
func prepare(name string, cert *tls.Certificate, now time.Time) (*tls.Certificate, error) {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, fmt.Errorf("tlscache: load %q: %w: empty chain", name, ErrInvalidCertificate)
	}
	if cert.PrivateKey == nil {
		return nil, fmt.Errorf("tlscache: load %q: %w: no private key", name, ErrInvalidCertificate)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("tlscache: load %q: %w: %w", name, ErrInvalidCertificate, err)
		}
		cp := *cert
		cp.Leaf = leaf
		cert = &cp
	}
	if now.IsZero() {
		return cert, nil
	}
	if !now.Before(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("tlscache: load %q: %w at %v", name, ErrExpired, cert.Leaf.NotAfter.UTC())
	}
	if now.Unix() >= serveUntil(cert) {
		return nil, fmt.Errorf("tlscache: load %q: %w at %v, less than %v from now", name, ErrExpired, cert.Leaf.NotAfter.UTC(), clockMargin)
	}
	if now.Before(cert.Leaf.NotBefore) {
		return nil, fmt.Errorf("tlscache: load %q: %w: not valid before %v", name, ErrInvalidCertificate, cert.Leaf.NotBefore.UTC())
	}
	return cert, nil
}

// serveUntil returns the first Unix second at which the cache no longer
// serves cert: clockMargin before its NotAfter.
func serveUntil(cert *tls.Certificate) int64 {
	return cert.Leaf.NotAfter.Add(-clockMargin).Unix()
}

// setNow advances the hit path's coarse clock to t. It writes only when
// the second changes, so hits share its cache line undisturbed.
func (c *Cache) setNow(t time.Time) {
	if s := t.Unix(); c.now.Load() != s {
		c.now.Store(s)
	}
}

func (c *Cache) finish(f *flight, r loadResult, now time.Time, dur time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.InFlight--
	c.st.Loads++
	c.loadDur.Observe(dur)
	f.cert, f.err = r.cert, r.err
	if c.flights[f.name] == f {
		delete(c.flights, f.name)
	}
	defer close(f.done)
	if c.closed {
		// Close cancelled the load, so whatever the loader made of that
		// (often context.Canceled) is Close's doing: waiters get ErrClosed.
		f.cert = nil
		if !errors.Is(f.err, ErrClosed) {
			f.err = ErrClosed
		}
		return
	}
	if r.err != nil {
		c.st.LoadErrors++
		if errors.Is(r.err, ErrLoadTimeout) {
			c.st.LoadTimeouts++
		}
		if errors.Is(r.err, ErrLoaderPanic) {
			c.st.LoaderPanics++
		}
		if e := f.refresh; e != nil && e.heapIdx >= 0 && !f.stale {
			c.st.RefreshErrors++
			c.retryRefreshLocked(e, now)
			if c.cfg.logger != nil {
				c.cfg.logger.Warn("tlscache: refresh failed, serving the cached certificate",
					slog.String("name", f.name), slog.Time("expires", e.expireAt), slog.Any("error", r.err))
			}
			return
		}
		if !f.stale && !errors.Is(r.err, ErrClosed) {
			c.addNegativeLocked(f.name, r.err, now)
		}
		if c.cfg.logger != nil {
			// Unknown names are the client's doing (any client can send
			// random SNI), so they log at Debug: a flood must not become a
			// log flood.
			level := slog.LevelWarn
			if errors.Is(r.err, ErrNotFound) {
				level = slog.LevelDebug
			}
			c.cfg.logger.Log(context.Background(), level, "tlscache: load failed",
				slog.String("name", f.name), slog.Any("error", r.err))
		}
		return
	}
	if f.stale {
		return
	}
	c.forgetNegativeLocked(f.name)
	c.installLocked(f.name, r.cert, now)
	c.armLocked(now)
}

// installLocked caches cert, loaded for name.
func (c *Cache) installLocked(name string, cert *tls.Certificate, now time.Time) {
	expireAt := cert.Leaf.NotAfter.Add(-c.cfg.skew)
	if c.cfg.ttl > 0 {
		expireAt = minTime(expireAt, now.Add(c.cfg.ttl))
	}
	// prepare made sure now is before last, which is strictly before
	// NotAfter. A certificate already inside its skew window (NotAfter −
	// skew is not after now), or one whose skew is shorter than the
	// margin, is served until last rather than failing every handshake,
	// and the cache keeps trying to replace it. So expireAt is always
	// after now and never after last.
	until := serveUntil(cert)
	if last := time.Unix(until, 0); !expireAt.Before(last) || !expireAt.After(now) {
		expireAt = last
	}
	e := c.tab.find(name)
	if e == nil {
		if c.count >= c.cfg.maxEntries {
			c.evictLocked()
		}
		e = &entry{key: name, cert: cert, serveUntil: until, heapIdx: -1}
		c.tab.put(e)
		c.count++
		c.pushHeadLocked(e)
	}
	if e.cert != cert || e.serveUntil != until {
		e.cert = cert
		e.serveUntil = until
		c.tab.update(e)
	}
	e.loadName = name
	e.expireAt = expireAt
	e.refreshing = false
	e.refreshErr = 0
	e.refreshAt = expireAt
	// life > 0 (see above), but the refresh arithmetic does not rely on
	// it: a panic here would be in a load goroutine, where no caller can
	// recover it.
	if ahead, life := c.cfg.refreshAhead, expireAt.Sub(now); ahead > 0 && life > 0 {
		ahead = min(ahead, life/2)
		jitter := time.Duration(rand.Int64N(int64(ahead)/2 + 1))
		// Refresh no sooner than one negative TTL from now, so a loader
		// that keeps returning a certificate about to expire is not
		// called in an ever faster loop as its lifetime shrinks.
		if at := expireAt.Add(-ahead - jitter); at.Sub(now) >= c.cfg.negTTL {
			e.refreshAt = at
		}
	}
	c.setDueLocked(e, e.refreshAt)
	c.st.Entries = c.count
	c.armTickLocked()
}

// armTickLocked starts the timer that keeps the coarse clock current, if
// entries are cached and it is not running. It re-arms itself while
// entries remain.
func (c *Cache) armTickLocked() {
	if c.closed || c.tick != nil || c.count == 0 {
		return
	}
	c.wg.Add(1)
	c.tick = time.AfterFunc(clockTick, func() {
		defer c.wg.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.tick = nil
		if c.closed {
			return
		}
		c.setNow(c.cfg.now())
		c.armTickLocked()
	})
}

func (c *Cache) retryRefreshLocked(e *entry, now time.Time) {
	e.refreshing = false
	e.refreshErr++
	next := now.Add(c.backoff(e.refreshErr))
	if next.After(e.expireAt) {
		next = e.expireAt
	}
	c.setDueLocked(e, next)
	c.armLocked(now)
}

// backoff returns the negative TTL for the n-th consecutive failure (n ≥ 1)
// with ±25% jitter.
func (c *Cache) backoff(n int) time.Duration {
	d := c.cfg.negTTL
	for i := 1; i < n && d < c.cfg.maxNegTTL; i++ {
		d *= 2
	}
	d = min(d, c.cfg.maxNegTTL)
	j := int64(d) / 4
	return d - time.Duration(j) + time.Duration(rand.Int64N(2*j+1))
}

// pushHeadLocked inserts e at the head of the SIEVE queue.
func (c *Cache) pushHeadLocked(e *entry) {
	e.prev = nil
	e.next = c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

// evictLocked removes one entry chosen by SIEVE (Zhang et al., NSDI '24):
// the hand walks from the tail towards the head, clearing visited bits,
// and evicts the first entry not visited since the hand last passed.
func (c *Cache) evictLocked() {
	h := c.hand
	if h == nil {
		h = c.tail
	}
	for h != nil && c.tab.isVisited(h) {
		c.tab.clearVisited(h)
		h = h.prev
		if h == nil {
			h = c.tail
		}
	}
	if h == nil {
		return
	}
	c.hand = h.prev
	c.removeLocked(h)
	c.st.Evictions.Capacity++
}

// removeLocked drops e from the table, the queue and the schedule.
func (c *Cache) removeLocked(e *entry) {
	if e.heapIdx < 0 {
		return
	}
	c.tab.remove(e)
	c.count--
	c.st.Entries = c.count
	if c.hand == e {
		c.hand = e.prev
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
	heap.Remove(&c.sched, e.heapIdx)
	e.heapIdx = -1
}

func (c *Cache) setDueLocked(e *entry, due time.Time) {
	e.due = due
	if e.heapIdx < 0 {
		heap.Push(&c.sched, e)
	} else {
		heap.Fix(&c.sched, e.heapIdx)
	}
}

// armLocked points the timer at the earliest due time.
func (c *Cache) armLocked(now time.Time) {
	if c.closed {
		return
	}
	if len(c.sched) == 0 {
		c.stopTimerLocked()
		return
	}
	due := c.sched[0].due
	if c.timer != nil && c.timerAt.Equal(due) {
		return
	}
	c.stopTimerLocked()
	c.timerGen++
	gen := c.timerGen
	c.timerAt = due
	c.wg.Add(1)
	c.timer = time.AfterFunc(max(due.Sub(now), 0), func() {
		defer c.wg.Done()
		c.onTimer(gen)
	})
}

func (c *Cache) stopTimerLocked() {
	if c.timer != nil && c.timer.Stop() {
		c.wg.Done() // the callback that would have called Done never runs
	}
	c.timer = nil
	c.timerAt = time.Time{}
}

// onTimer expires and refreshes the entries that are due.
func (c *Cache) onTimer(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if gen == c.timerGen {
		c.timer = nil
		c.timerAt = time.Time{}
	}
	now := c.cfg.now()
	c.setNow(now)
	for len(c.sched) > 0 && !c.sched[0].due.After(now) {
		e := c.sched[0]
		if !now.Before(e.expireAt) {
			if c.cfg.logger != nil {
				c.cfg.logger.Warn("tlscache: entry expired before it could be refreshed",
					slog.String("name", e.loadName), slog.Time("expired", e.expireAt))
			}
			c.removeLocked(e)
			c.st.Evictions.Expired++
			continue
		}
		if !e.refreshing && c.flights[e.loadName] == nil && c.loading >= c.cfg.maxLoads {
			// Too many loads running: try again later, serving meanwhile.
			c.setDueLocked(e, minTime(now.Add(c.backoff(1)), e.expireAt))
			continue
		}
		if !e.refreshing {
			e.refreshing = true
			if f := c.flights[e.loadName]; f == nil {
				c.st.Refreshes++
				c.startLocked(e.loadName, e)
			}
		}
		// Wake again at expiry in case the refresh never lands.
		c.setDueLocked(e, e.expireAt)
	}
	c.armLocked(now)
}

// Invalidate drops name from the cache, and any remembered failure to load
// it, so the next handshake loads it again. A load of name already in
// progress still answers its waiters but is not cached. A wildcard pattern
// ("*.example.com") drops every cached name it covers, for use after a
// wildcard certificate has been replaced. Invalidate is safe for concurrent
// use.
func (c *Cache) Invalidate(name string) {
	name = normalize(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	drop := func(k string) {
		if e := c.tab.find(k); e != nil {
			c.removeLocked(e)
			c.st.Evictions.Invalidated++
		}
		c.forgetNegativeLocked(k)
		if f := c.flights[k]; f != nil {
			f.stale = true
		}
	}
	if parent, ok := strings.CutPrefix(name, "*"); ok && strings.HasPrefix(parent, ".") {
		var keys []string
		for e := c.head; e != nil; e = e.next {
			if wk, ok := wildcardKey(e.key); ok && wk == parent {
				keys = append(keys, e.key)
			}
		}
		for k := range c.flights {
			if wk, ok := wildcardKey(k); ok && wk == parent {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			drop(k)
		}
	}
	drop(name)
	if !c.closed {
		c.armLocked(c.cfg.now())
	}
}

// Close stops background refreshes, cancels loads in progress, drops every
// entry and waits for the cache's goroutines to finish (a loader that
// ignores its context delays Close until it returns). Afterwards
// GetCertificate returns [ErrClosed]. Close is idempotent and safe for
// concurrent use, but must not be called from a Loader, whose call it
// would wait for.
func (c *Cache) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.stopTimerLocked()
		if c.tick != nil && c.tick.Stop() {
			c.wg.Done()
		}
		c.tick = nil
		if c.sweep != nil && c.sweep.Stop() {
			c.wg.Done()
		}
		c.sweep = nil
		c.cancel()
		c.tab.clear()
		c.count = 0
		c.st.Entries = 0
		c.head, c.tail, c.hand = nil, nil, nil
		for _, e := range c.sched {
			e.heapIdx = -1
		}
		c.sched = nil
		c.neg = make(map[string]*negEntry)
		c.negHeap = nil
		c.negBytes = 0
		c.negStatsLocked()
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

// Stats returns a snapshot of the cache's counters. It is safe for
// concurrent use.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	s := c.st
	c.mu.Unlock()
	s.LoadDuration = histogramOf(c.loadDur.Snapshot())
	s.Hits = c.hits.Load()
	s.InvalidNames = c.invalid.Load()
	return s
}

// schedule orders entries by due time, soonest first.
type schedule = timeHeap[*entry]

func (e *entry) heapTime() time.Time { return e.due }
func (e *entry) heapIndex() *int     { return &e.heapIdx }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
