package status

import (
	"math"
	"runtime/metrics"
	"sync"
	"time"
)

// Unit says how a series' values print on the page.
type Unit int

// The units a series can have.
const (
	// Number is a plain count or gauge.
	Number Unit = iota
	// Bytes print as KiB, MiB, GiB.
	Bytes
	// Share is a fraction in [0, 1], printed as a percentage.
	Share
)

// The plots the page always draws, from runtime/metrics. A section's
// [Point] may name one of them to add a line to it (gcguard's target on
// [PlotHeap], say); any other name starts a plot of its own.
const (
	PlotHeap  = "heap against its limits"
	PlotGCCPU = "GC share of CPU"
	PlotGOGC  = "GOGC"
)

// Point is one figure a section adds to the history at each sample.
type Point struct {
	// Plot titles the plot the figure is drawn on; points with the same
	// Plot share one.
	Plot string
	// Series names the line within the plot.
	Series string
	// Unit says how the values print. A plot takes the unit of its first
	// series.
	Unit Unit
	// Value is the figure now.
	Value float64
	// Counter marks a cumulative total: the history keeps its rate per
	// second between samples, and the plot's unit reads "/s".
	Counter bool
	// Alert above OK puts the series at the top of the page while its
	// latest plotted value (the rate, for a counter) is above zero.
	Alert Level
}

// History size: HistoryLen samples, one per SampleInterval when driven by
// [Handler.Start], for at most MaxSeries series. Its memory is fixed at about
// (MaxSeries+1) × HistoryLen × 8 bytes (80 KiB) however long the process
// runs; points past MaxSeries are dropped and counted.
const (
	HistoryLen     = 300
	SampleInterval = time.Second
	MaxSeries      = 32
)

type series struct {
	plot, name string
	unit       Unit
	counter    bool
	alert      Level
	vals       [HistoryLen]float64 // NaN: no value at that sample
	prev       float64             // a counter's previous total
	hasPrev    bool
	seen       bool // written in the current sample
}

// history is a fixed ring of samples. The zero value is not ready: use
// newHistory.
type history struct {
	mu      sync.Mutex
	times   [HistoryLen]int64 // unix nanoseconds; 0: unused slot
	n       int               // samples taken
	series  []*series         // in order of first appearance
	byKey   map[[2]string]*series
	dropped uint64

	rt       []metrics.Sample
	lastTime int64
	cpu      [3]float64 // gc, total, idle cpu-seconds at the last sample
	hasCPU   bool
	gcShare  float64
}

const (
	mHeapObjects = "/memory/classes/heap/objects:bytes"
	mHeapGoal    = "/gc/heap/goal:bytes"
	mMemLimit    = "/gc/gomemlimit:bytes"
	mGOGC        = "/gc/gogc:percent"
	mCPUGC       = "/cpu/classes/gc/total:cpu-seconds"
	mCPUTotal    = "/cpu/classes/total:cpu-seconds"
	mCPUIdle     = "/cpu/classes/idle:cpu-seconds"
)

func newHistory() *history {
	h := &history{byKey: make(map[[2]string]*series)}
	for _, name := range []string{mHeapObjects, mHeapGoal, mMemLimit, mGOGC, mCPUGC, mCPUTotal, mCPUIdle} {
		h.rt = append(h.rt, metrics.Sample{Name: name})
	}
	// The built-in plots come first, in this order, even before they have
	// data.
	for _, p := range []Point{
		{Plot: PlotHeap, Series: "heap objects", Unit: Bytes},
		{Plot: PlotHeap, Series: "heap goal", Unit: Bytes},
		{Plot: PlotHeap, Series: "GOMEMLIMIT", Unit: Bytes},
		{Plot: PlotGCCPU, Series: "GC CPU", Unit: Share},
		{Plot: PlotGOGC, Series: "GOGC", Unit: Number},
	} {
		h.lookup(p)
	}
	return h
}

func (h *history) lookup(p Point) *series {
	k := [2]string{p.Plot, p.Series}
	if s := h.byKey[k]; s != nil {
		return s
	}
	if len(h.series) >= MaxSeries {
		return nil
	}
	s := &series{plot: p.Plot, name: p.Series, unit: p.Unit, counter: p.Counter, alert: p.Alert}
	for i := range s.vals {
		s.vals[i] = math.NaN()
	}
	h.series = append(h.series, s)
	h.byKey[k] = s
	return s
}

// runtimePoints reads runtime/metrics: no stop-the-world, no allocation
// after the first call.
func (h *history) runtimePoints(dt float64, add func(Point)) {
	metrics.Read(h.rt)
	u := func(i int) float64 {
		if h.rt[i].Value.Kind() == metrics.KindUint64 {
			return float64(h.rt[i].Value.Uint64())
		}
		return math.NaN()
	}
	f := func(i int) float64 {
		if h.rt[i].Value.Kind() == metrics.KindFloat64 {
			return h.rt[i].Value.Float64()
		}
		return math.NaN()
	}
	add(Point{Plot: PlotHeap, Series: "heap objects", Unit: Bytes, Value: u(0)})
	add(Point{Plot: PlotHeap, Series: "heap goal", Unit: Bytes, Value: u(1)})
	if lim := u(2); lim < math.MaxInt64/2 { // math.MaxInt64: no limit, nothing to draw
		add(Point{Plot: PlotHeap, Series: "GOMEMLIMIT", Unit: Bytes, Value: lim})
	}
	if g := u(3); g < math.MaxInt32 { // GOGC=off reads as a huge value
		add(Point{Plot: PlotGOGC, Series: "GOGC", Unit: Number, Value: g})
	}
	// The runtime updates its CPU classes at GC time, so a second without
	// a GC shows no change: keep the last share until the figures move.
	cpu := [3]float64{f(4), f(5), f(6)}
	if h.hasCPU {
		busy := (cpu[1] - h.cpu[1]) - (cpu[2] - h.cpu[2])
		if busy > 0 {
			h.gcShare = min(max((cpu[0]-h.cpu[0])/busy, 0), 1)
			h.cpu = cpu
		}
		add(Point{Plot: PlotGCCPU, Series: "GC CPU", Unit: Share, Value: h.gcShare})
	} else {
		h.cpu, h.hasCPU = cpu, true
	}
}

// sample records one sample at now: the runtime's figures and points.
func (h *history) sample(now time.Time, points []Point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := now.UnixNano()
	dt := float64(t-h.lastTime) / 1e9
	if h.lastTime == 0 || dt <= 0 {
		dt = 0
	}
	i := h.n % HistoryLen
	h.times[i] = t
	for _, s := range h.series {
		s.vals[i] = math.NaN()
		s.seen = false
	}
	add := func(p Point) {
		s := h.lookup(p)
		if s == nil {
			h.dropped++
			return
		}
		if s.seen || math.IsNaN(p.Value) {
			return
		}
		s.seen = true
		if !s.counter {
			s.vals[i] = p.Value
			return
		}
		if s.hasPrev && dt > 0 && p.Value >= s.prev {
			s.vals[i] = (p.Value - s.prev) / dt
		}
		s.prev, s.hasPrev = p.Value, true
	}
	h.runtimePoints(dt, add)
	for _, p := range points {
		add(p)
	}
	// A counter that was not reported this time starts afresh: its next
	// total may belong to a new object.
	for _, s := range h.series {
		if s.counter && !s.seen {
			s.hasPrev = false
		}
	}
	h.n++
	h.lastTime = t
}

// Start starts sampling the history every [SampleInterval], one sample at
// once and then one a tick, in a goroutine of its own; [Handler.Stop] ends
// it and waits. Without Start (or calls of [Handler.Sample]) the page has
// no plots, only the summary and the sections. Start and Stop are the
// shape of every gotune loop (gcguard's Guard, tune's Tuner); Start on a
// started Handler does nothing. It is safe for concurrent use.
func (h *Handler) Start() {
	h.loopMu.Lock()
	defer h.loopMu.Unlock()
	if h.stop != nil {
		return
	}
	stop, done := make(chan struct{}), make(chan struct{})
	h.stop, h.done = stop, done
	go func() {
		defer close(done)
		t := time.NewTicker(SampleInterval)
		defer t.Stop()
		h.Sample(time.Now())
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				h.Sample(now)
			}
		}
	}()
}

// Stop ends the sampling that [Handler.Start] started and waits for it.
// The history stays, and Start may be called again. Stop is safe to call
// more than once, without Start, and on a nil Handler.
func (h *Handler) Stop() {
	if h == nil {
		return
	}
	h.loopMu.Lock()
	stop, done := h.stop, h.done
	h.stop, h.done = nil, nil
	h.loopMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Sample takes one sample at now, of the runtime and of every section's
// Sample func, as [Handler.Start]'s loop does each second: for a program that
// drives its own loop. The plots assume about [SampleInterval] between
// samples. A Sample func that panics loses its points for this sample. It
// is safe for concurrent use.
func (h *Handler) Sample(now time.Time) {
	h.sampleMu.Lock()
	defer h.sampleMu.Unlock()
	h.mu.RLock()
	secs := h.sections
	h.mu.RUnlock()
	pts := h.points[:0]
	for _, s := range secs {
		if s.Sample != nil {
			pts = samplePoints(s, pts)
		}
	}
	h.points = pts
	h.hist.sample(now, pts)
}

func samplePoints(s Section, pts []Point) (out []Point) {
	defer func() {
		if recover() != nil {
			out = pts
		}
	}()
	return append(pts, s.Sample()...)
}

// plotData is one plot, copied out of the ring under its lock.
type plotData struct {
	Title  string
	Unit   Unit
	Series []seriesData
}

type seriesData struct {
	Name   string
	Rate   bool      // a counter's rate per second
	Vals   []float64 // oldest first, NaN for gaps
	Times  []int64
	Latest float64
}

type alertSeries struct {
	level  Level
	plot   string
	name   string
	unit   Unit
	latest float64
}

// plots copies the ring out, oldest sample first, grouped by plot in order
// of first appearance.
func (h *history) plots() (out []plotData, alerts []alertSeries) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return nil, nil // not sampled: no plots rather than empty boxes
	}
	k := min(h.n, HistoryLen)
	start := h.n - k
	times := make([]int64, k)
	for j := range k {
		times[j] = h.times[(start+j)%HistoryLen]
	}
	idx := map[string]int{}
	for _, s := range h.series {
		vals := make([]float64, k)
		for j := range k {
			vals[j] = s.vals[(start+j)%HistoryLen]
		}
		latest := math.NaN() // the newest sample's figure, or none
		if k > 0 {
			latest = vals[k-1]
		}
		pi, ok := idx[s.plot]
		if !ok {
			pi = len(out)
			idx[s.plot] = pi
			out = append(out, plotData{Title: s.plot, Unit: s.unit})
		}
		out[pi].Series = append(out[pi].Series, seriesData{Name: s.name, Rate: s.counter, Vals: vals, Times: times, Latest: latest})
		if s.alert > OK && latest > 0 {
			alerts = append(alerts, alertSeries{level: s.alert, plot: s.plot, name: s.name, unit: s.unit, latest: latest})
		}
	}
	return out, alerts
}
