package gcguardbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/tune"
)

// resizeEnv makes the test binary run resizeChild; see TestResizeFollowed.
const resizeEnv = "GCGUARD_BENCH_RESIZE"

// resizeResult is what resizeChild reports: the guard's Stats and the
// memory limit in force before the parent resized the cgroup and once the
// guard had followed it (or the wait ran out).
type resizeResult struct {
	Before, After           gcguard.Stats
	LimitBefore, LimitAfter int64
	Err                     string
}

// resizeChild runs what examples/server runs: tune (as tune/auto does, with
// a refresh loop, here every 100ms) and then gcguard. It prints "ready",
// waits for a line on stdin (the parent has resized the cgroup), waits up to
// 20s for the guard's target and hard limit to move, and prints a
// resizeResult as JSON.
func resizeChild() int {
	var r resizeResult
	defer func() { _ = json.NewEncoder(os.Stdout).Encode(&r) }()
	tu := tune.NewTuner(100 * time.Millisecond)
	defer tu.Stop()
	if err := tu.Start(); err != nil {
		r.Err = "tune: " + err.Error()
		return 0
	}
	g, err := gcguard.Start(gcguard.WithInterval(100 * time.Millisecond))
	if err != nil {
		r.Err = "gcguard: " + err.Error()
		return 0
	}
	defer g.Stop()
	r.Before, r.LimitBefore = g.Stats(), debug.SetMemoryLimit(-1)
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		r.Err = "waiting for the resize: " + err.Error()
		return 0
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		r.After, r.LimitAfter = g.Stats(), debug.SetMemoryLimit(-1)
		if r.After.Target != r.Before.Target && r.After.HardLimit != r.Before.HardLimit {
			break
		}
	}
	return 0
}
