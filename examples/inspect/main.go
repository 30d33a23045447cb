// Command inspect prints what gotune sees on this host and what it would
// set, changing nothing:
//
//	go run ./examples/inspect             # this process's view of this host
//	go run ./examples/inspect -json       # the same as JSON
//	go run ./examples/inspect -root DIR   # a fixture tree or /proc/PID/root
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"

	"github.com/gotune/gotune/tune"
)

func main() {
	root := flag.String("root", "/", "read /proc and /sys under `dir` (a fixture tree, or /proc/PID/root)")
	asJSON := flag.Bool("json", false, "print JSON instead of text")
	floor := flag.Bool("floor", false, "use the floor GOMAXPROCS policy (automaxprocs' rounding)")
	flag.Parse()
	if err := run(os.Stdout, *root, *asJSON, *floor); err != nil {
		fmt.Fprintln(os.Stderr, "inspect:", err)
		os.Exit(1)
	}
}

// output is what -json prints.
type output struct {
	Go   string      `json:"go"`
	OS   string      `json:"os"`
	Tune tune.Report `json:"tune"`
}

func run(w io.Writer, root string, asJSON, floor bool) error {
	opts := []tune.Option{tune.WithRoot(root)}
	if floor {
		opts = append(opts, tune.WithMaxProcs(tune.MaxProcsFloor))
	}
	r, err := tune.Detect(opts...)
	if err != nil {
		return err
	}
	out := output{Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Tune: r}
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
	tw.Flush()
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
