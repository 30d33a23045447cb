// Package auto applies gotune's defaults when it is imported:
//
//	import _ "github.com/gotune/gotune/tune/auto"
//
// At init it starts a [tune.Tuner] ([tune.Tuner.Start]): it reads the
// cgroup limits, sets GOMAXPROCS, GOMEMLIMIT and (when asked) GOGC as
// [tune.Apply] does, logs one line through [slog.Default], and starts a
// goroutine that re-reads the limits every 10 seconds so the settings
// follow an in-place resize.
//
// # Stop
//
// [Stop] undoes the import, as Stop undoes Start everywhere in gotune: it
// ends the refresh goroutine and restores the settings from before the
// import ([tune.Tuner.Stop]), except a setting another owner holds (a
// running gcguard, a numa.Pin) or the program set since. Most programs
// never call it.
//
// The refresh never fights another gotune package: while gcguard runs it
// owns GOGC (and GOMEMLIMIT where it was given WithOverride), and while
// numa.Pin stands it owns GOMAXPROCS. The refresh leaves such a setting
// alone, the [tune.Report] names its owner ([tune.SourceGCGuard],
// [tune.SourceNUMA]), and tune takes it back when the owner ends. See
// tune's "Owners" section.
//
// # Metrics
//
// The import links no Prometheus code, so it costs what automaxprocs costs.
// Metrics are one explicit line, safe also where the import did nothing
// (GOTUNE=off: [Tuner] is nil and the collector exports nothing):
//
//	prometheus.MustRegister(tunemetrics.NewCollector(auto.Tuner(), ""))
//
// with [github.com/gotune/gotune/tune/tunemetrics].
//
// # Environment
//
// GOTUNE=off switches all of it off. The other knobs are listed at
// [tune.ParseEnv]. The user's own GOMAXPROCS, GOMEMLIMIT and GOGC always win.
// A malformed knob is logged, naming the variable and the value, and then
// nothing is changed: the runtime's defaults stay. The package never panics
// and never exits the process.
package auto

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/gotune/gotune/tune"
)

var (
	mu    sync.Mutex
	tuner *tune.Tuner
	err   error
)

func init() { start(os.LookupEnv, slog.Default()) }

// start applies the settings; extra options come after the environment's
// (tests point it at a hostile root with tune.WithRoot).
func start(lookup func(string) (string, bool), logger *slog.Logger, extra ...tune.Option) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("tune/auto: recovered from panic: %v", p)
			logger.Error("gotune: keeping the runtime's settings", slog.Any("error", err))
		}
	}()
	env, perr := tune.ParseEnv(lookup)
	if perr != nil {
		err = perr
		logger.Error("gotune: keeping the runtime's settings", slog.Any("error", perr))
		return
	}
	if env.Off {
		return
	}
	opts := append(append([]tune.Option{}, env.Options...), extra...)
	if !env.Quiet {
		opts = append(opts, tune.WithLogger(logger))
	}
	t := tune.NewTuner(env.Refresh, opts...)
	if serr := t.Start(); serr != nil {
		err = serr // logged by Start; the refresh may still succeed later
	}
	tuner = t
}

// Tuner returns the Tuner that the import started, or nil where GOTUNE=off
// or a knob was malformed. Its Report and Stats say what was set and why.
func Tuner() *tune.Tuner {
	mu.Lock()
	defer mu.Unlock()
	return tuner
}

// Err returns the error that kept the import from applying its settings at
// init, or nil.
func Err() error {
	mu.Lock()
	defer mu.Unlock()
	return err
}

// Stop ends the refresh goroutine, waits for it, and restores the settings
// from before the import, except those another owner holds (gcguard while
// it runs, a numa.Pin that stands) or the program set since. [Tuner] still
// returns the stopped Tuner, whose Report says what was last set. Stop is
// safe to call more than once, from any goroutine, and where the import
// did nothing.
func Stop() {
	mu.Lock()
	t := tuner
	mu.Unlock()
	t.Stop() // nil-safe
}
