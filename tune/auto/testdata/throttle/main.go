// Command throttle is the child of tune/auto's throttling test: it imports
// tune/auto (logging to stderr), keeps every P busy for -burn, and prints
// what the Tuner's Signals and collector said before and after, as JSON.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gotune/gotune/tune"
	"github.com/gotune/gotune/tune/auto"
	"github.com/gotune/gotune/tune/tunemetrics"
)

type result struct {
	Before, After               tune.Signals
	ScrapedBefore, ScrapedAfter float64 // gotune_tune_cpu_throttled_periods_total{scope="leaf"}
	GOMAXPROCS                  int
}

// throttled is what a scrape of the collector says of the leaf's
// throttled periods, or -1 where the series is absent.
func throttled(t *tune.Tuner) float64 {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(tunemetrics.NewCollector(t, ""))
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gotune_tune_cpu_throttled_periods_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "scope" && l.GetValue() == "leaf" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

func main() {
	burn := flag.Duration("burn", 3*time.Second, "how long to keep every P busy")
	flag.Parse()
	t := auto.Tuner()
	if t == nil {
		os.Stderr.WriteString("auto.Tuner() is nil: " + errString(auto.Err()) + "\n")
		os.Exit(2)
	}
	r := result{Before: t.Signals(), ScrapedBefore: throttled(t), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	var wg sync.WaitGroup
	stop := time.Now().Add(*burn)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 1
			for time.Now().Before(stop) {
				for i := range 100000 {
					x = x*31 + i
				}
			}
			_ = x
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // one more refresh after the burn
	r.After, r.ScrapedAfter = t.Signals(), throttled(t)
	auto.Stop()
	json.NewEncoder(os.Stdout).Encode(r)
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
