// Command inspect prints what gotune sees on this host and what it would
// set, changing nothing:
//
//	go run ./examples/inspect             # this process's view of this host
//	go run ./examples/inspect -json       # the same as JSON
//	go run ./examples/inspect -root DIR   # a fixture tree or /proc/PID/root
//	go run ./examples/inspect -pin 0      # pin every thread to NUMA node 0 and show the result
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"

	"github.com/gotune/gotune/internal/cpulist"
	"github.com/gotune/gotune/numa"
	"github.com/gotune/gotune/tune"
)

func main() {
	root := flag.String("root", "/", "read /proc and /sys under `dir` (a fixture tree, or /proc/PID/root)")
	asJSON := flag.Bool("json", false, "print JSON instead of text")
	floor := flag.Bool("floor", false, "use the floor GOMAXPROCS policy (automaxprocs' rounding)")
	pin := flag.Int("pin", -1, "pin every thread of this process to NUMA `node` and show the result (this host only)")
	flag.Parse()
	if *pin >= 0 && *root != "/" {
		fmt.Fprintln(os.Stderr, "inspect: -pin acts on this process and cannot be combined with -root")
		os.Exit(2)
	}
	if err := run(os.Stdout, *root, *asJSON, *floor, *pin); err != nil {
		fmt.Fprintln(os.Stderr, "inspect:", err)
		os.Exit(1)
	}
}

// output is what -json prints.
type output struct {
	Go        string          `json:"go"`
	OS        string          `json:"os"`
	Tune      tune.Report     `json:"tune"`
	NUMA      *numa.Topology  `json:"numa,omitempty"`
	NUMAError string          `json:"numa_error,omitempty"`
	Pin       *numa.PinReport `json:"pin,omitempty"`
	PinError  string          `json:"pin_error,omitempty"`
	// CPUNow and NodeNow are where this thread ran after the pin (getcpu).
	CPUNow  *int `json:"cpu_now,omitempty"`
	NodeNow *int `json:"node_now,omitempty"`
}

func run(w io.Writer, root string, asJSON, floor bool, pin int) error {
	opts := []tune.Option{tune.WithRoot(root)}
	if floor {
		opts = append(opts, tune.WithMaxProcs(tune.MaxProcsFloor))
	}
	r, err := tune.Detect(opts...)
	if err != nil {
		return err
	}
	out := output{Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Tune: r}
	if topo, err := numa.Discover(numa.WithRoot(root)); err != nil {
		out.NUMAError = err.Error()
	} else {
		out.NUMA = topo
	}
	if pin >= 0 {
		var rep numa.PinReport
		undo, err := numa.Pin(pin, numa.WithReport(&rep))
		if err != nil {
			out.PinError = err.Error()
		} else {
			out.Pin = &rep
			if cpu, node, err := numa.Getcpu(); err == nil {
				out.CPUNow, out.NodeNow = &cpu, &node
			}
			// The process exits right after printing; undo anyway, as a
			// program that only inspects should.
			defer undo() //nolint:errcheck // best effort on the way out
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printText(w, out)
	return nil
}

func printText(w io.Writer, o output) {
	r := o.Tune
	l := r.Limits
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "gotune inspect\t%s on %s, root %s\n", o.Go, o.OS, r.Root)
	fmt.Fprintf(tw, "\n-- limits\t\n")
	fmt.Fprintf(tw, "cgroup\t%s %s\n", l.Cgroup, l.Path)
	fmt.Fprintf(tw, "cpu quota\t%s CPUs (leaf %s)\t%s\n", quota(l.CPUQuota), quota(l.LeafCPUQuota), l.Files["cpu_quota"])
	fmt.Fprintf(tw, "cpus allowed\t%d [%s]\t%s\n", l.CPUs, l.CPUList, l.Files["cpuset"])
	fmt.Fprintf(tw, "memory.max\t%s\t%s\n", tune.FormatBytes(l.MemoryMax), l.Files["memory_max"])
	fmt.Fprintf(tw, "memory.high\t%s\t%s\n", tune.FormatBytes(l.MemoryHigh), l.Files["memory_high"])
	swap := "no limit"
	if l.SwapMax >= 0 {
		swap = tune.FormatBytes(l.SwapMax)
		if l.SwapMax == 0 {
			swap = "0 (no swap)"
		}
	}
	fmt.Fprintf(tw, "swap\t%s\t%s\n", swap, l.Files["swap_max"])
	fmt.Fprintf(tw, "\n-- settings\tnow -> would be (source: reason)\n")
	fmt.Fprintf(tw, "GOMAXPROCS\t%d -> %d\t(%s: %s)\n", r.GOMAXPROCS.Before, r.GOMAXPROCS.After, r.GOMAXPROCS.Source, r.GOMAXPROCS.Reason)
	fmt.Fprintf(tw, "GOMEMLIMIT\t%s -> %s\t(%s: %s)\n", tune.FormatBytes(r.GOMEMLIMIT.Before), tune.FormatBytes(r.GOMEMLIMIT.After), r.GOMEMLIMIT.Source, r.GOMEMLIMIT.Reason)
	fmt.Fprintf(tw, "GOGC\t%s -> %s\t(%s: %s)\n", gogc(r.GOGC.Before), gogc(r.GOGC.After), r.GOGC.Source, r.GOGC.Reason)
	for _, warn := range r.Warnings {
		fmt.Fprintf(tw, "warning\t%s\n", warn)
	}
	printNUMA(tw, o)
	tw.Flush()
}

func printNUMA(tw io.Writer, o output) {
	fmt.Fprintf(tw, "\n-- numa\t\n")
	if o.NUMA == nil {
		fmt.Fprintf(tw, "topology\tunavailable: %s\n", o.NUMAError)
	} else {
		t := o.NUMA
		kind := "NUMA"
		if !t.NUMA {
			kind = "no NUMA support: one node"
		}
		fmt.Fprintf(tw, "nodes\t%d (%s)\n", len(t.Nodes), kind)
		for _, n := range t.Nodes {
			mem := tune.FormatBytes(int64(n.MemTotal))
			switch {
			case !n.HasMemory:
				mem = "memoryless"
			case n.MemTotal == 0:
				mem = "unknown"
			}
			fmt.Fprintf(tw, "node %d\tcpus [%s], allowed [%s], memory %s, distances %v\n", n.ID, cpulist.Format(n.CPUs), cpulist.Format(n.AllowedCPUs), mem, n.Distances)
		}
		spans := ""
		if t.SpansNodes {
			spans = " (the allowed CPUs span nodes)"
		}
		fmt.Fprintf(tw, "local node\t%d%s\n", t.Local, spans)
		fmt.Fprintf(tw, "allowed\tcpus [%s], memory nodes [%s]\n", cpulist.Format(t.AllowedCPUs), cpulist.Format(t.AllowedMems))
		for _, note := range t.Notes {
			fmt.Fprintf(tw, "note\t%s\n", note)
		}
	}
	switch {
	case o.PinError != "":
		fmt.Fprintf(tw, "pin\tfailed: %s\n", o.PinError)
	case o.Pin != nil:
		fmt.Fprintf(tw, "pin\t%s\n", o.Pin)
		if o.CPUNow != nil {
			fmt.Fprintf(tw, "running on\tcpu %d, node %d\n", *o.CPUNow, *o.NodeNow)
		}
	}
}

func quota(q float64) string {
	if q <= 0 {
		return "none"
	}
	return fmt.Sprint(q)
}

func gogc(v int64) string {
	if v < 0 {
		return "off"
	}
	return fmt.Sprint(v)
}
