package numa_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gotune/gotune/numa"
)

// Discover on a fixture tree of a two-socket host whose cgroup cpuset
// straddles the sockets.
func ExampleDiscover() {
	topo, err := numa.Discover(numa.WithRoot("testdata/cpuset-spans"))
	if err != nil {
		log.Fatal(err)
	}
	local := topo.LocalNode()
	fmt.Println("allowed CPUs:", topo.AllowedCPUs)
	fmt.Println("local node:", local.ID, "with allowed CPUs", local.AllowedCPUs)
	fmt.Println("spans nodes:", topo.SpansNodes)
	fmt.Println("distance 0 -> 1:", topo.Distance(0, 1))
	// Output:
	// allowed CPUs: [13 14 15 16 17 18 19]
	// local node: 1 with allowed CPUs [16 17 18 19]
	// spans nodes: true
	// distance 0 -> 1: 21
}

// Pin the process to its local node for the lifetime of a service.
func ExamplePin() {
	topo, err := numa.Discover()
	if err != nil {
		log.Print(err) // not Linux, or /sys unreadable: run unpinned
		return
	}
	var rep numa.PinReport
	undo, err := numa.Pin(topo.LocalNode().ID, numa.WithReport(&rep))
	if errors.Is(err, numa.ErrUnavailable) {
		log.Print(err) // seccomp or no NUMA support: run unpinned
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer undo()
	log.Print(rep)
}

// Run a function on one CPU and see where it ran.
func ExampleRunOn() {
	err := numa.RunOn([]int{0}, func() {
		cpu, node, err := numa.Getcpu()
		fmt.Println(cpu, node, err)
	})
	if err != nil {
		log.Print(err)
	}
}

// Serve the per-node metrics.
func ExampleNewCollector() {
	topo, err := numa.Discover()
	if err != nil {
		log.Print(err) // a nil Topology gives a collector that exports nothing
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(numa.NewCollector(topo, "", numa.WithMinInterval(30*time.Second)))
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

// Keep a thread on the local node's CPUs for latency-sensitive calls.
func ExampleWorker() {
	topo, err := numa.Discover()
	if err != nil {
		log.Print(err)
		return
	}
	w, err := numa.NewWorker(topo.LocalNode().AllowedCPUs)
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(); err != nil {
		log.Print(err)
		return
	}
	defer w.Close()
	_ = w.Do(context.Background(), func() { /* work that should stay on the node */ })
}
