// Command minimal shows the one-line import: run it inside a container (or
// a cgroup) with a CPU quota and a memory limit and it prints the settings
// that followed them.
//
//	go run ./examples/minimal
//	GOTUNE_MAXPROCS=floor go run ./examples/minimal
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	_ "github.com/gotune/gotune/tune/auto" // sets GOMAXPROCS and GOMEMLIMIT from the cgroup at init
)

func main() {
	fmt.Println("GOMAXPROCS:", runtime.GOMAXPROCS(0))
	if limit := debug.SetMemoryLimit(-1); limit == 1<<63-1 {
		fmt.Println("GOMEMLIMIT: none")
	} else {
		fmt.Printf("GOMEMLIMIT: %d bytes (%.1f MiB)\n", limit, float64(limit)/(1<<20))
	}
}
