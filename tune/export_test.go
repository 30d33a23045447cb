package tune

// WithEnv replaces the environment seen by the package.
func WithEnv(env map[string]string) Option {
	return optionFunc(func(c *config) {
		c.lookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	})
}

// WithNumCPU replaces runtime.NumCPU for roots without CPU files.
func WithNumCPU(n int) Option {
	return optionFunc(func(c *config) { c.numCPU = func() int { return n } })
}

// ResetState forgets what gotune last set, for tests that set values by hand.
func ResetState() {
	lastProcs.release()
	lastLimit.release()
	origLimit.Store(0)
	lastGOGC.release()
}

var (
	RuntimeProcs    = runtimeProcs
	FloorProcs      = floorProcs
	LookupGODEBUG   = lookupGODEBUG
	SetDefaultDebug = func(s string) func() {
		old := defaultGODEBUG
		defaultGODEBUG = func() string { return s }
		return func() { defaultGODEBUG = old }
	}
)

// ApplyOnce runs one apply of t outside its loop, as Start's first one.
func (t *Tuner) ApplyOnce() (Report, error) { return t.apply(false) }

// Restore is Stop's undo without the loop.
func (t *Tuner) Restore() { t.restore() }
