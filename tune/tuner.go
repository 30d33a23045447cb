package tune

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Tuner applies the settings and re-applies them at an interval, so they
// follow limits that change while the process runs (Kubernetes in-place pod
// resize). [Tuner.Start] applies them and starts the refresh;
// [Tuner.Stop] ends it and restores what the Tuner changed, the same
// Start/Stop shape as gcguard's Guard. It is safe for concurrent use. The
// zero Tuner is NewTuner(0): the defaults, refreshed every
// [DefaultRefresh].
type Tuner struct {
	cfg      config
	interval time.Duration

	loop    sync.Mutex // guards the fields below, held by Start and Stop
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex // serialises apply and guards the fields below
	report  Report     // the latest read
	lastErr string
	// orig holds the settings from before the first apply, and set which
	// of them any apply changed, so Undo restores the program's values and
	// not an earlier value of gotune's.
	orig Report
	set  struct{ procs, limit, gogc bool }

	sig signals // what the kernel measured about the limits biting

	cpuLevel, memLevel atomic.Int32 // CPUPressure, MemoryPressure

	refreshes atomic.Uint64
	errors    atomic.Uint64
	changes   atomic.Uint64
}

// TunerStats counts a Tuner's work.
type TunerStats struct {
	Refreshes uint64 `json:"refreshes"` // reads of the limits, the first Apply included
	Changes   uint64 `json:"changes"`   // applies that changed a setting
	Errors    uint64 `json:"errors"`    // reads that failed; the settings were kept
	LastError string `json:"last_error,omitempty"`
}

// NewTuner returns a Tuner that re-reads the limits every interval once
// started. Zero means [DefaultRefresh]; a negative interval turns the
// refresh off, so Start applies the settings once. It starts nothing and
// reads nothing: an invalid option is an error from [Tuner.Start].
func NewTuner(interval time.Duration, opts ...Option) *Tuner {
	return &Tuner{cfg: newConfig(opts), interval: interval}
}

// Start applies the settings, like [Apply], and unless the interval is
// negative starts a goroutine that re-applies them every interval; end it
// with [Tuner.Stop], which also restores them. A failed re-read keeps the
// settings as they are and is counted in [Tuner.Stats]; the loop goes on.
//
// Start returns the first apply's error. An invalid option starts nothing.
// A failed read of the limits (a malformed cgroup file) changes nothing but
// still starts the refresh, which may succeed later, so call Stop whenever
// Start was called. Starting twice, or after Stop, is an error.
func (t *Tuner) Start() error {
	t.loop.Lock()
	defer t.loop.Unlock()
	switch {
	case t.stopped:
		return errors.New("tune: Tuner.Start after Stop")
	case t.started:
		return errors.New("tune: Tuner.Start called twice")
	}
	_, err := t.apply(false)
	t.mu.Lock()
	bad := t.cfg.err
	t.mu.Unlock()
	if bad != nil {
		return err
	}
	t.started = true
	interval := t.interval
	switch {
	case interval == 0:
		interval = DefaultRefresh
	case interval < 0:
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan struct{})
	go t.run(ctx, interval, t.done)
	return err
}

func (t *Tuner) run(ctx context.Context, interval time.Duration, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.apply(true) //nolint:errcheck // counted in Stats and logged
		}
	}
}

func (t *Tuner) apply(refresh bool) (Report, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.lookupEnv == nil {
		t.cfg = newConfig(nil) // a zero Tuner: the defaults, applied once
	}
	t.refreshes.Add(1)
	r, err := apply(&t.cfg, refresh)
	if err != nil {
		t.errors.Add(1)
		t.lastErr = err.Error()
		if !refresh {
			t.report = r
		}
		return r, err
	}
	t.lastErr = ""
	if r.changed() {
		t.changes.Add(1)
	}
	if !t.orig.Applied {
		t.orig = r
	}
	t.set.procs = t.set.procs || r.GOMAXPROCS.Set
	t.set.limit = t.set.limit || r.GOMEMLIMIT.Set
	t.set.gogc = t.set.gogc || r.GOGC.Set
	t.report = r
	t.readSignals(r, time.Now())
	return r, nil
}

// Report returns the report of the latest read: the limits, and for each
// setting its value before that apply, after it, and why.
func (t *Tuner) Report() Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.report
}

// Stats returns the Tuner's counters.
func (t *Tuner) Stats() TunerStats {
	t.mu.Lock()
	last := t.lastErr
	t.mu.Unlock()
	return TunerStats{
		Refreshes: t.refreshes.Load(),
		Changes:   t.changes.Load(),
		Errors:    t.errors.Load(),
		LastError: last,
	}
}

// Stop ends the refresh that [Tuner.Start] started, waits for it, and
// restores the settings that any of the Tuner's applies changed to their
// values from before the first one, except those another owner (gcguard,
// numa.Pin) has taken over since and those the program set since. It is
// safe to call more than once, from any goroutine, and on a nil, zero or
// unstarted Tuner.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.loop.Lock()
	t.stopped = true
	cancel, done := t.cancel, t.done
	t.cancel = nil
	t.loop.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	t.restore()
}

// restore is Stop's undo, without the loop (tests call it between applies).
func (t *Tuner) restore() {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.orig
	o.GOMAXPROCS.Set, o.GOMEMLIMIT.Set, o.GOGC.Set = t.set.procs, t.set.limit, t.set.gogc
	if o.Applied {
		o.undo()
	}
	t.set.procs, t.set.limit, t.set.gogc = false, false, false
}

// String describes the Tuner for logs.
func (t *Tuner) String() string {
	return fmt.Sprintf("tune.Tuner(every %v)", t.interval)
}
