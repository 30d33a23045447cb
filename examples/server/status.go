package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/observe"
	"github.com/gotune/gotune/status"
	"github.com/gotune/gotune/tune"
)

// The status page's sections are observe's (one call per part in
// main.go); this file prints their summary rows as the start-up block, so
// the terminal and the page cannot disagree, and writes -help.

// guardSection is observe's gcguard section, with the target row naming
// this program where it chose the target (note says why).
func guardSection(g *gcguard.Guard, note string) status.Section {
	sec := observe.GCGuardSection(g)
	if note == "" {
		return sec
	}
	summary := sec.Summary
	sec.Summary = func() []status.Row {
		rows := summary()
		for i := range rows {
			if rows[i].Name == "gcguard target" {
				rows[i].Source, rows[i].Reason = "examples/server", note
			}
		}
		return rows
	}
	return sec
}

// printRows writes the summary rows as aligned lines: the start-up block
// and the page say the same thing.
func printRows(w io.Writer, rows []status.Row) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		mark := ""
		if r.Level > status.OK {
			mark = strings.ToUpper(r.Level.String()) + " "
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s: %s\n", r.Name, r.Value, mark, r.Source, r.Reason)
	}
	tw.Flush()
}

// describeLimits says in one line what tune read: the cgroup layout, the
// CPU quota and CPUs, and the memory limit.
func describeLimits(l tune.Limits) string {
	parts := []string{"cgroup " + l.Cgroup}
	if l.CPUQuota > 0 {
		parts = append(parts, fmt.Sprintf("CPU quota %g", l.CPUQuota))
	} else {
		parts = append(parts, "no CPU quota")
	}
	parts = append(parts, fmt.Sprintf("%d CPUs [%s]", l.CPUs, l.CPUList))
	switch {
	case l.MemoryMax > 0 && l.MemoryHigh > 0:
		parts = append(parts, "memory.max "+status.FormatBytes(float64(l.MemoryMax)), "memory.high "+status.FormatBytes(float64(l.MemoryHigh)))
	case l.MemoryMax > 0:
		parts = append(parts, "memory.max "+status.FormatBytes(float64(l.MemoryMax)))
	case l.MemoryHigh > 0:
		parts = append(parts, "memory.high "+status.FormatBytes(float64(l.MemoryHigh)))
	default:
		parts = append(parts, "no memory limit")
	}
	return strings.Join(parts, ", ") + " (read by tune)"
}

// usage is -help's text: the flags, then the environment variables that
// tune/auto reads before main runs.
func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\n", fs.Name())
	fmt.Fprintln(w, "gotune's example server: HTTPS on loopback with every gotune package wired in.")
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, `
Environment (read by tune/auto at start, before the flags):
  GOTUNE=off                 leave GOMAXPROCS, GOMEMLIMIT and GOGC to the runtime
  GOTUNE_LOG=off             do not log tune/auto's one start-up line
  GOTUNE_REFRESH=10s         how often the cgroup limits are re-read (0: never)
  GOTUNE_MAXPROCS=runtime    GOMAXPROCS policy: runtime, floor or off
  GOTUNE_MEMORY_RATIO=0.9    share of the memory limit given to GOMEMLIMIT
  GOTUNE_MEMORY_RESERVE=0    bytes taken off GOMEMLIMIT ("64MiB")
  GOTUNE_GOGC=               a GOGC percent, or off (only where a memory limit is set)
  GOMAXPROCS, GOMEMLIMIT, GOGC   the runtime's own; when set they win and are reported
`)
}
