//go:build linux

// Command allthreads is built with CGO_ENABLED=0 by the numa tests, so that
// Pin takes the syscall.AllThreadsSyscall path (unavailable in the cgo test
// binary). It pins to one CPU of the local node with MemBind, reports every
// thread's mask and a fresh thread's memory policy, undoes, and reports
// again, as one JSON line after "RESULT ".
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gotune/gotune/numa"
)

type state struct {
	Masks     map[string]string // tid -> Cpus_allowed_list
	MemMode   int               // a fresh thread's get_mempolicy mode
	MemNodes  uint64            // and the first word of its node mask
	GoMaxProc int
}

func snapshot() state {
	s := state{Masks: map[string]string{}, GoMaxProc: runtime.GOMAXPROCS(0)}
	dirs, _ := filepath.Glob("/proc/self/task/*/status")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				s.Masks[filepath.Base(filepath.Dir(p))] = strings.TrimSpace(v)
			}
		}
	}
	// A new locked thread shows what threads inherit.
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		var mode int32
		var nodes [16]uint64
		_, _, e := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&mode)), uintptr(unsafe.Pointer(&nodes[0])), 1024, 0, 0, 0)
		if e != 0 {
			s.MemMode = -int(e)
		} else {
			s.MemMode, s.MemNodes = int(mode), nodes[0]
		}
		// Exit locked: this thread is not reused.
	}()
	<-done
	return s
}

func main() {
	topo, err := numa.Discover()
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	local := topo.LocalNode()
	cpu := local.AllowedCPUs[len(local.AllowedCPUs)-1]

	// Park some locked threads so there is more than one to move.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			<-stop
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	res := struct {
		CPU                   int
		Before, Pinned, After state
		Report                numa.PinReport
	}{CPU: cpu}
	res.Before = snapshot()
	undo, err := numa.Pin(local.ID, numa.WithCPUs(cpu), numa.WithMemPolicy(numa.MemBind), numa.WithReport(&res.Report))
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	res.Pinned = snapshot()
	if err := undo(); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	res.After = snapshot()
	b, _ := json.Marshal(res)
	fmt.Println("RESULT " + string(b))
}
