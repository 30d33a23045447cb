// Command child imports tune/auto and reports what it set, one JSON line for
// each line read from stdin, until stdin closes. The tests in tune/auto run
// it inside real cgroups.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/debug"

	"go.uber.org/automaxprocs/maxprocs"

	"github.com/gotune/gotune/tune"
	"github.com/gotune/gotune/tune/auto"
)

type state struct {
	GOMAXPROCS   int          `json:"gomaxprocs"`
	GOMEMLIMIT   int64        `json:"gomemlimit"`
	Automaxprocs int          `json:"automaxprocs,omitempty"`
	Report       *tune.Report `json:"report,omitempty"`
	Stats        tune.TunerStats
	Err          string `json:"err,omitempty"`
}

func main() {
	setLimit := flag.Int64("setlimit", 0, "set this memory limit in code after init")
	amp := flag.Bool("automaxprocs", false, "also report what automaxprocs would set")
	flag.Parse()
	if *setLimit > 0 {
		debug.SetMemoryLimit(*setLimit)
	}
	sc := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		s := state{GOMAXPROCS: runtime.GOMAXPROCS(0), GOMEMLIMIT: debug.SetMemoryLimit(-1)}
		if t := auto.Tuner(); t != nil {
			r := t.Report()
			s.Report, s.Stats = &r, t.Stats()
		}
		if err := auto.Err(); err != nil {
			s.Err = err.Error()
		}
		if *amp {
			// Start automaxprocs from the CPU count, as in a process of
			// its own: where it finds no quota it leaves the value alone.
			before := runtime.GOMAXPROCS(runtime.NumCPU())
			undo, err := maxprocs.Set()
			if err == nil {
				s.Automaxprocs = runtime.GOMAXPROCS(0)
			}
			undo()
			runtime.GOMAXPROCS(before)
		}
		if err := enc.Encode(s); err != nil {
			os.Exit(1)
		}
	}
}
