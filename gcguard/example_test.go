package gcguard_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/gotune/gotune/gcguard"
)

// A guard in dry run reports what it would set without changing GOGC or the
// memory limit.
func ExampleStart() {
	g, err := gcguard.Start(gcguard.WithMemoryTarget(460<<20), gcguard.WithDryRun())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Stop()
	st := g.Stats()
	fmt.Println(st.Target>>20, "MiB from", st.TargetSource, "; GOGC:", st.GOGCSource)
	// Output: 460 MiB from option ; GOGC: dry-run
}

// Pools drop idle objects when the level rises; a load shedder takes the
// lock-free Pressure method as a func() bool.
func ExampleGuard_OnLevel() {
	g, err := gcguard.Start(gcguard.WithMemoryTarget(1<<30), gcguard.WithDryRun())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Stop()
	var idle sync.Map // a cache of idle objects
	cancel := g.OnLevel(func(l gcguard.Level) {
		if l >= gcguard.LevelElevated {
			idle.Clear()
		}
	})
	defer cancel()
	var shed func() bool = g.Pressure // or netx.WithPressure(g.Level, gcguard.LevelCritical)
	fmt.Println(shed(), g.Level())
	// Output: false ok
}

func ExampleLevel() {
	b, _ := json.Marshal(map[string]gcguard.Level{"level": gcguard.LevelCritical})
	os.Stdout.Write(b)
	fmt.Println()
	// Output: {"level":"critical"}
}
