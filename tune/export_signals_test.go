package tune

// Refresh runs one refresh of t, as Run does at each tick.
func (t *Tuner) Refresh() { t.apply(true) } //nolint:errcheck // counted in Stats
