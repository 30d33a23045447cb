// Package auto applies gotune's defaults when it is imported:
//
//	import _ "github.com/gotune/gotune/tune/auto"
//
// At init it reads the cgroup limits, sets GOMAXPROCS, GOMEMLIMIT and (when
// asked) GOGC as [tune.Apply] does, logs one line through [slog.Default],
// and starts a goroutine that re-reads the limits every 10 seconds so the
// settings follow an in-place resize. [Stop] ends that goroutine.
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
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/gotune/gotune/tune"
)

var (
	mu     sync.Mutex
	tuner  *tune.Tuner
	err    error
	cancel context.CancelFunc
	done   chan struct{}
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
	if _, aerr := t.Apply(); aerr != nil {
		err = aerr // logged by Apply; the refresh loop may still succeed later
	}
	tuner = t
	if env.Refresh > 0 {
		ctx, c := context.WithCancel(context.Background())
		cancel, done = c, make(chan struct{})
		go func(done chan struct{}) {
			defer close(done)
			t.Run(ctx) //nolint:errcheck // returns ctx's error
		}(done)
	}
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

// Stop ends the refresh goroutine and waits for it. The settings stay as
// they are; call Tuner().Undo() to restore the ones from before. It is safe
// to call more than once.
func Stop() {
	mu.Lock()
	c, d := cancel, done
	cancel = nil
	mu.Unlock()
	if c != nil {
		c()
		<-d
	}
}
