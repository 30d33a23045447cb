package status

import "time"

// SampleAt takes one sample of the history as Run does, at a given time.
func SampleAt(h *Handler, t time.Time) { h.Sample(t) }

// HistoryShape reports the ring's size: the series it holds, the values
// each keeps, and the points it dropped for want of room.
func HistoryShape(h *Handler) (series, perSeries int, dropped uint64) {
	h.hist.mu.Lock()
	defer h.hist.mu.Unlock()
	perSeries = -1
	for _, s := range h.hist.series {
		if perSeries >= 0 && perSeries != len(s.vals) {
			return len(h.hist.series), -1, h.hist.dropped
		}
		perSeries = len(s.vals)
	}
	return len(h.hist.series), perSeries, h.hist.dropped
}

// Latest returns the newest value of one series, NaN when it has none.
func Latest(h *Handler, plot, series string) float64 {
	plots, _ := h.hist.plots()
	for _, p := range plots {
		for _, s := range p.Series {
			if p.Title == plot && s.Name == series {
				return s.Latest
			}
		}
	}
	return -1
}
