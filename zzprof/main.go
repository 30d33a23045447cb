package main

import (
	"os"
	"runtime/pprof"

	gcguardbench "github.com/gotune/gotune/bench/gcguard"
)

func main() {
	f, _ := os.Create(os.Args[1])
	pprof.StartCPUProfile(f)
	gcguardbench.RunChild()
	pprof.StopCPUProfile()
}
