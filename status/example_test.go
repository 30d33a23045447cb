package status_test

import (
	"fmt"

	"github.com/gotune/gotune/status"
)

// A section contributes its decisions to the summary and its figures to
// the plots; the page itself imports none of the packages it shows.
func Example() {
	limit := int64(483183820)
	page := status.New(status.Section{
		Name:     "memory",
		Snapshot: func() any { return map[string]int64{"limit_bytes": limit} },
		Summary: func() []status.Row {
			return []status.Row{{Name: "GOMEMLIMIT", Value: status.FormatBytes(float64(limit)),
				Source: "tune (cgroup)", Reason: "0.9 × memory.max 512 MiB."}}
		},
		Sample: func() []status.Point {
			return []status.Point{{Plot: status.PlotHeap, Series: "limit", Unit: status.Bytes, Value: float64(limit)}}
		},
	})
	// page.Start() samples the plots (page.Stop() ends it); mux.Handle("/debug/gotune", page)
	for _, r := range page.Snapshot().Summary {
		fmt.Printf("%s = %s from %s: %s\n", r.Name, r.Value, r.Source, r.Reason)
	}
	// Output:
	// GOMEMLIMIT = 460.8 MiB from tune (cgroup): 0.9 × memory.max 512 MiB.
}

func ExampleFormatBytes() {
	fmt.Println(status.FormatBytes(1<<30), status.FormatBytes(65536), status.FormatDuration(60e9), status.FormatShare(0.00094))
	// Output:
	// 1 GiB 64 KiB 60 s 0.094 %
}
