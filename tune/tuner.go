package tune

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Tuner applies the settings and re-applies them at an interval, so they
// follow limits that change while the process runs (Kubernetes in-place pod
// resize). It is safe for concurrent use. The zero Tuner applies the
// defaults once, as NewTuner(0) does.
type Tuner struct {
	cfg      config
	interval time.Duration

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

// NewTuner returns a Tuner that re-reads the limits every interval. It starts
// nothing: call [Tuner.Apply] once and then [Tuner.Run]. An interval of zero
// or less makes Run return at once after its first apply.
func NewTuner(interval time.Duration, opts ...Option) *Tuner {
	return &Tuner{cfg: newConfig(opts), interval: interval}
}

// Apply reads the limits and applies them once, like [Apply].
func (t *Tuner) Apply() (Report, error) { return t.apply(false) }

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

// Run applies the settings and then re-applies them every interval until
// ctx is done, and returns ctx's error. A failed read keeps the settings as
// they are and is counted in [Tuner.Stats]; the loop goes on.
func (t *Tuner) Run(ctx context.Context) error {
	if t.refreshes.Load() == 0 {
		t.apply(false) //nolint:errcheck // counted in Stats and logged
	}
	if t.interval <= 0 {
		return nil
	}
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			t.apply(true) //nolint:errcheck // counted in Stats and logged
		}
	}
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

// Undo restores the settings that any of the Tuner's applies changed to
// their values from before the first one, except those another owner
// (gcguard, numa.Pin) has taken over since. Stop Run first. It is safe to
// call more than once, and on a nil or zero Tuner.
func (t *Tuner) Undo() {
	if t == nil {
		return
	}
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
