// Command peers is what a service that does not use gotune blank-imports
// for the same job: automaxprocs and automemlimit. bench/binsize compares
// its binary with examples/minimal's.
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	_ "github.com/KimMachineGun/automemlimit" // GOMEMLIMIT from the cgroup at init
	_ "go.uber.org/automaxprocs"              // GOMAXPROCS from the cgroup at init
)

func main() {
	fmt.Println("GOMAXPROCS:", runtime.GOMAXPROCS(0))
	fmt.Println("GOMEMLIMIT:", debug.SetMemoryLimit(-1))
}
