package tune_test

import (
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gotune/gotune/tune"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const mib = 1 << 20

func fixture(name string) string {
	return filepath.Join("..", "internal", "cgroup", "testdata", name)
}

// noEnv hides the real environment, so a GOMAXPROCS set on the machine that
// runs the tests cannot change their outcome.
var noEnv = tune.WithEnv(map[string]string{})

func TestDetectFixtures(t *testing.T) {
	tests := []struct {
		name       string
		opts       []tune.Option
		wantProcs  int64
		procsSrc   tune.Source
		procsWhy   string
		wantLimit  int64
		limitSrc   tune.Source
		limitWhy   string
		wantCPUs   int
		wantCgroup string
	}{
		{
			name: "v2-nested", opts: []tune.Option{tune.WithNumCPU(16)},
			// The parent's 1.5 CPUs bind although the leaf has no quota.
			wantProcs: 2, procsSrc: tune.SourceCgroup, procsWhy: "ancestor's cpu quota 1.5",
			// memory.high 400MiB is tighter than memory.max 512MiB.
			wantLimit: frac(0.9, 400*mib), limitSrc: tune.SourceCgroup, limitWhy: "memory.high 400MiB",
			wantCPUs: 4, wantCgroup: "v2",
		},
		{
			name: "v2-nested", opts: []tune.Option{tune.WithNumCPU(16), tune.WithMaxProcs(tune.MaxProcsFloor), tune.WithMemoryReserve(40 * mib)},
			wantProcs: 1, procsSrc: tune.SourcePolicy, procsWhy: "floor",
			wantLimit: frac(0.9, 400*mib) - 40*mib, limitSrc: tune.SourceCgroup, limitWhy: "reserve 40MiB",
			wantCPUs: 4, wantCgroup: "v2",
		},
		{
			name: "v1-container", opts: nil,
			wantProcs: 2, procsSrc: tune.SourceCgroup, procsWhy: "cpu quota 1.5",
			wantLimit: frac(0.9, 512*mib), limitSrc: tune.SourceCgroup, limitWhy: "0.9 × memory.max 512MiB",
			wantCPUs: 2, wantCgroup: "v1",
		},
		{
			name: "v1-nested", opts: []tune.Option{tune.WithNumCPU(8), tune.WithMemoryRatio(0.5)},
			wantProcs: 2, procsSrc: tune.SourceCgroup, procsWhy: "ancestor",
			wantLimit: 128 * mib, limitSrc: tune.SourceCgroup, limitWhy: "0.5 × memory.max 256MiB",
			wantCPUs: 4, wantCgroup: "v1",
		},
		{
			name: "hybrid", opts: []tune.Option{tune.WithNumCPU(64)},
			wantProcs: 3, procsSrc: tune.SourceCgroup, procsWhy: "cpu quota 3",
			wantLimit: frac(0.9, 1024*mib), limitSrc: tune.SourceCgroup, limitWhy: "memory.max 1GiB",
			wantCPUs: 64, wantCgroup: "hybrid",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tune.ResetState()
			opts := append([]tune.Option{noEnv, tune.WithRoot(fixture(tc.name))}, tc.opts...)
			r, err := tune.Detect(opts...)
			if err != nil {
				t.Fatalf("Detect(%s): %v", tc.name, err)
			}
			if r.Applied {
				t.Errorf("Detect reports Applied")
			}
			if r.Limits.CPUs != tc.wantCPUs || r.Limits.Cgroup != tc.wantCgroup {
				t.Errorf("Detect(%s) limits = %+v, want %d CPUs on %s", tc.name, r.Limits, tc.wantCPUs, tc.wantCgroup)
			}
			g := r.GOMAXPROCS
			if g.After != tc.wantProcs || g.Source != tc.procsSrc || !strings.Contains(g.Reason, tc.procsWhy) {
				t.Errorf("Detect(%s) GOMAXPROCS = %+v, want %d from %s (%q)", tc.name, g, tc.wantProcs, tc.procsSrc, tc.procsWhy)
			}
			m := r.GOMEMLIMIT
			if m.After != tc.wantLimit || m.Source != tc.limitSrc || !strings.Contains(m.Reason, tc.limitWhy) || !m.Set {
				t.Errorf("Detect(%s) GOMEMLIMIT = %+v, want %d from %s (%q)", tc.name, m, tc.wantLimit, tc.limitSrc, tc.limitWhy)
			}
			if got := int64(runtime.GOMAXPROCS(0)); g.Before != got {
				t.Errorf("GOMAXPROCS.Before = %d, want this process's %d", g.Before, got)
			}
		})
	}
}

// TestDetectRealCapture reads the capture of a real 16-CPU host with no
// limits: nothing to set.
func TestDetectRealCapture(t *testing.T) {
	root := fixture("cgroup2-nested-16cpu")
	tune.ResetState()
	r, err := tune.Detect(noEnv, tune.WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	if r.Limits.CPUs != 16 || r.Limits.CPUList != "0-15" || r.Limits.CPUQuota != 0 || r.Limits.MemoryMax != 0 {
		t.Errorf("limits = %+v, want 16 CPUs 0-15, no quota, no memory limit", r.Limits)
	}
	if r.GOMAXPROCS.After != 16 || r.GOMAXPROCS.Source != tune.SourceDefault {
		t.Errorf("GOMAXPROCS = %+v, want 16 from default", r.GOMAXPROCS)
	}
	if r.GOMEMLIMIT.Set || r.GOMEMLIMIT.After != r.GOMEMLIMIT.Before {
		t.Errorf("GOMEMLIMIT = %+v, want it left alone", r.GOMEMLIMIT)
	}
}

func TestEnvironmentWins(t *testing.T) {
	tune.ResetState()
	env := tune.WithEnv(map[string]string{"GOMAXPROCS": "3", "GOMEMLIMIT": "1GiB", "GOGC": "50"})
	r, err := tune.Detect(env, tune.WithRoot(fixture("v1-container")), tune.WithGOGC(400))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]tune.Setting{"GOMAXPROCS": r.GOMAXPROCS, "GOMEMLIMIT": r.GOMEMLIMIT, "GOGC": r.GOGC} {
		if s.Source != tune.SourceEnv || s.Set || s.After != s.Before || !strings.Contains(s.Reason, name+"=") {
			t.Errorf("%s = %+v, want it left to the environment", name, s)
		}
	}
}

func TestBadEnvironmentValuesAreReported(t *testing.T) {
	tune.ResetState()
	env := tune.WithEnv(map[string]string{"GOMAXPROCS": "lots", "GOGC": "fast"})
	r, err := tune.Detect(env, tune.WithRoot(fixture("v1-container")))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(r.Warnings, "\n")
	if !strings.Contains(w, `GOMAXPROCS="lots"`) || !strings.Contains(w, `GOGC="fast"`) {
		t.Errorf("warnings = %q, want both bad values quoted", w)
	}
	// The runtime ignores the bad GOMAXPROCS, so the cgroup decides.
	if r.GOMAXPROCS.Source != tune.SourceCgroup {
		t.Errorf("GOMAXPROCS source = %s, want cgroup", r.GOMAXPROCS.Source)
	}
}

func TestGODEBUGOffIsRespected(t *testing.T) {
	tune.ResetState()
	env := tune.WithEnv(map[string]string{"GODEBUG": "http2client=0,containermaxprocs=0"})
	r, err := tune.Detect(env, tune.WithRoot(fixture("v1-container")))
	if err != nil {
		t.Fatal(err)
	}
	if r.GOMAXPROCS.Source != tune.SourceEnv || r.GOMAXPROCS.Set || !strings.Contains(r.GOMAXPROCS.Reason, "containermaxprocs=0") {
		t.Errorf("GOMAXPROCS = %+v, want it left alone by GODEBUG", r.GOMAXPROCS)
	}
}

func TestCodeSetMemoryLimitWins(t *testing.T) {
	tune.ResetState()
	old := debug.SetMemoryLimit(300 * mib)
	defer debug.SetMemoryLimit(old)

	r, err := tune.Detect(noEnv, tune.WithRoot(fixture("v1-container")))
	if err != nil {
		t.Fatal(err)
	}
	if r.GOMEMLIMIT.Source != tune.SourceCode || r.GOMEMLIMIT.Set || r.GOMEMLIMIT.After != 300*mib {
		t.Errorf("GOMEMLIMIT = %+v, want the code-set 300MiB kept", r.GOMEMLIMIT)
	}
	r, err = tune.Detect(noEnv, tune.WithRoot(fixture("v1-container")), tune.WithOverrideCode())
	if err != nil {
		t.Fatal(err)
	}
	if r.GOMEMLIMIT.Source != tune.SourceCgroup || r.GOMEMLIMIT.After != frac(0.9, 512*mib) {
		t.Errorf("GOMEMLIMIT with WithOverrideCode = %+v, want 0.9 × 512MiB from cgroup", r.GOMEMLIMIT)
	}
	// No cgroup limit never turns a code-set limit into "unlimited".
	r, err = tune.Detect(noEnv, tune.WithRoot(t.TempDir()), tune.WithOverrideCode())
	if err != nil {
		t.Fatal(err)
	}
	if r.GOMEMLIMIT.Set || r.GOMEMLIMIT.After != 300*mib {
		t.Errorf("GOMEMLIMIT without a cgroup limit = %+v, want 300MiB kept", r.GOMEMLIMIT)
	}
}

func TestApplyAndUndo(t *testing.T) {
	tune.ResetState()
	procs := runtime.GOMAXPROCS(0)
	limit := debug.SetMemoryLimit(-1)
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)

	// v2-namespace: 0.5 CPU, memory.max 512MiB, memory.high 384MiB.
	r, undo, err := tune.Apply(noEnv, tune.WithRoot(fixture("v2-namespace")), tune.WithNumCPU(8),
		tune.WithMaxProcs(tune.MaxProcsFloor), tune.WithGOGC(tune.GOGCOff))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Applied {
		t.Fatal("Apply: report not marked applied")
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS after Apply = %d, want 1 (floor of 0.5)", got)
	}
	if got, want := debug.SetMemoryLimit(-1), frac(0.9, 384*mib); got != want {
		t.Errorf("memory limit after Apply = %d, want %d", got, want)
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC after Apply = %d, want off", got)
	}
	undo()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS after Undo = %d, want %d", got, procs)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("memory limit after Undo = %d, want %d", got, limit)
	}
	if got := debug.SetGCPercent(gogc); got != gogc {
		t.Errorf("GOGC after Undo = %d, want %d", got, gogc)
	}
}

func TestGOGCOffNeedsALimit(t *testing.T) {
	tune.ResetState()
	r, err := tune.Detect(noEnv, tune.WithRoot(t.TempDir()), tune.WithGOGC(tune.GOGCOff))
	if err != nil {
		t.Fatal(err)
	}
	if r.GOGC.Set || !strings.Contains(strings.Join(r.Warnings, "\n"), "no memory limit bounds the heap") {
		t.Errorf("GOGC = %+v, warnings %q: want a refusal", r.GOGC, r.Warnings)
	}
}

func TestBadOptions(t *testing.T) {
	tests := []struct {
		opt  tune.Option
		want string
	}{
		{tune.WithMemoryRatio(-0.5), "WithMemoryRatio(-0.5)"},
		{tune.WithMemoryRatio(1.5), "WithMemoryRatio(1.5)"},
		{tune.WithMemoryRatio(math.NaN()), "WithMemoryRatio(NaN)"},
		{tune.WithMemoryReserve(-1), "WithMemoryReserve(-1)"},
		{tune.WithGOGC(-7), "WithGOGC(-7)"},
		{tune.WithMaxProcs(tune.MaxProcsPolicy(9)), "WithMaxProcs(9)"},
		{tune.WithMaxProcs(tune.MaxProcsPolicy(-1)), "WithMaxProcs(-1)"},
	}
	for _, tc := range tests {
		procs := runtime.GOMAXPROCS(0)
		r, undo, err := tune.Apply(noEnv, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Apply(%s) error = %v, want one naming it", tc.want, err)
		}
		if r.Applied || undo != nil || runtime.GOMAXPROCS(0) != procs {
			t.Errorf("Apply(%s) changed settings after an error", tc.want)
		}
		tu := tune.NewTuner(-1, noEnv, tc.opt)
		if err := tu.Start(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewTuner(-1, %s).Start() = %v, want an error naming it", tc.want, err)
		}
		tu.Stop()
	}
}

// The zero value of every option's argument is the default: the same
// report as no option at all.
func TestZeroOptionsAreDefaults(t *testing.T) {
	root := tune.WithRoot(fixture("v2-namespace"))
	want, err := tune.Detect(noEnv, root, tune.WithNumCPU(8))
	if err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]tune.Option{
		"WithMemoryRatio(0)":   tune.WithMemoryRatio(0),
		"WithMemoryReserve(0)": tune.WithMemoryReserve(0),
		"WithGOGC(0)":          tune.WithGOGC(0),
		"WithMaxProcs(0)":      tune.WithMaxProcs(0),
	} {
		got, err := tune.Detect(noEnv, root, tune.WithNumCPU(8), opt)
		if err != nil || got.String() != want.String() {
			t.Errorf("Detect(%s) = %v, %v; want the default %v", name, got, err, want)
		}
	}
	// WithRoot("") is the default root, "/".
	a, errA := tune.Detect(noEnv, tune.WithRoot(""))
	b, errB := tune.Detect(noEnv)
	if (errA == nil) != (errB == nil) || a.Root != b.Root {
		t.Errorf("Detect(WithRoot(\"\")) = root %q, %v; want the default's %q, %v", a.Root, errA, b.Root, errB)
	}
}

func TestMalformedCgroupKeepsDefaults(t *testing.T) {
	tune.ResetState()
	limit := debug.SetMemoryLimit(-1)
	r, _, err := tune.Apply(noEnv, tune.WithRoot(fixture("malformed")))
	if err == nil || !strings.Contains(err.Error(), `"12abc"`) {
		t.Fatalf("Apply(malformed) error = %v, want it to quote the bad value", err)
	}
	if r.Applied || debug.SetMemoryLimit(-1) != limit {
		t.Errorf("Apply(malformed) changed the memory limit")
	}
}

func TestReportPrintsAndMarshals(t *testing.T) {
	tune.ResetState()
	r, err := tune.Detect(noEnv, tune.WithRoot(fixture("v1-container")))
	if err != nil {
		t.Fatal(err)
	}
	line := r.String()
	for _, want := range []string{"would set GOMAXPROCS=2", "GOMEMLIMIT=460.8MiB (cgroup: 0.9 × memory.max 512MiB)", "cgroup v1", "memory.max 512MiB"} {
		if !strings.Contains(line, want) {
			t.Errorf("Report.String() = %q, want it to contain %q", line, want)
		}
	}
	if strings.Contains(line, "\n") {
		t.Errorf("Report.String() spans lines: %q", line)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back tune.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.GOMEMLIMIT.After != r.GOMEMLIMIT.After || back.Limits.Files["memory_max"] != "sys/fs/cgroup/memory/memory.limit_in_bytes" {
		t.Errorf("JSON round trip lost data: %s", b)
	}
}

func TestRuntimeRules(t *testing.T) {
	tests := []struct {
		quota          float64
		cpus           int
		runtime, floor int64
	}{
		{0, 2, 2, 2},
		{0.5, 2, 2, 1},
		{0.5, 1, 1, 1},
		{1.5, 2, 2, 1},
		{3, 2, 2, 2},
		{2.5, 16, 3, 2},
		{0.1, 16, 2, 1},
	}
	for _, tc := range tests {
		if got := tune.RuntimeProcs(tc.quota, tc.cpus); got != tc.runtime {
			t.Errorf("runtimeProcs(%v, %d) = %d, want %d", tc.quota, tc.cpus, got, tc.runtime)
		}
		if got := tune.FloorProcs(tc.quota, tc.cpus); got != tc.floor {
			t.Errorf("floorProcs(%v, %d) = %d, want %d", tc.quota, tc.cpus, got, tc.floor)
		}
	}
}

func TestLookupGODEBUG(t *testing.T) {
	tests := []struct {
		list, key, want string
		ok              bool
	}{
		{"", "containermaxprocs", "", false},
		{"containermaxprocs=0", "containermaxprocs", "0", true},
		{"a=1, containermaxprocs=0,containermaxprocs=1", "containermaxprocs", "1", true},
		{"updatemaxprocs=0", "containermaxprocs", "", false},
	}
	for _, tc := range tests {
		got, ok := tune.LookupGODEBUG(tc.list, tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("lookupGODEBUG(%q, %q) = %q, %v, want %q, %v", tc.list, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

// TestOldGoLine checks that a binary whose go line turns the runtime's
// cgroup support off gets GOMAXPROCS set by gotune, on the live host.
func TestOldGoLine(t *testing.T) {
	tune.ResetState()
	restore := tune.SetDefaultDebug("containermaxprocs=0,updatemaxprocs=0")
	defer restore()
	r, err := tune.Detect(noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if r.Limits.CPUQuota > 0 && (r.GOMAXPROCS.Source != tune.SourceCgroup || !strings.Contains(r.GOMAXPROCS.Reason, "cgroup support is off")) {
		t.Errorf("GOMAXPROCS = %+v, want gotune to act", r.GOMAXPROCS)
	}
	if r.Limits.CPUQuota == 0 && r.GOMAXPROCS.After != int64(r.Limits.CPUs) {
		t.Errorf("GOMAXPROCS = %+v, want the %d allowed CPUs", r.GOMAXPROCS, r.Limits.CPUs)
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"1024", 1024}, {"460MiB", 460 * mib}, {"2GiB", 2 << 30}, {"1TiB", 1 << 40}, {"8KiB", 8192}, {"5B", 5}, {"off", math.MaxInt64},
	}
	for _, tc := range tests {
		if got, err := tune.ParseBytes(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "+5", "1.5GiB", "1 GiB", "1gb", "99999999999TiB"} {
		if got, err := tune.ParseBytes(in); err == nil || !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseBytes(%q) = %d, %v, want an error quoting it", in, got, err)
		}
	}
}

func TestParseEnv(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	e, err := tune.ParseEnv(env(map[string]string{
		"GOTUNE": "on", "GOTUNE_REFRESH": "2s", "GOTUNE_MAXPROCS": "floor", "GOTUNE_MEMORY_RATIO": "0.8",
		"GOTUNE_MEMORY_RESERVE": "64MiB", "GOTUNE_GOGC": "off", "GOTUNE_LOG": "off",
	}))
	if err != nil || e.Off || !e.Quiet || e.Refresh.Seconds() != 2 || len(e.Options) != 4 {
		t.Errorf("ParseEnv(good) = %+v, %v", e, err)
	}
	if e, err := tune.ParseEnv(env(map[string]string{"GOTUNE": "off"})); err != nil || !e.Off {
		t.Errorf("ParseEnv(GOTUNE=off) = %+v, %v", e, err)
	}
	// GOTUNE_REFRESH=0 is off, which NewTuner spells negative (zero is its default).
	if e, err := tune.ParseEnv(env(map[string]string{"GOTUNE_REFRESH": "0"})); err != nil || e.Refresh >= 0 {
		t.Errorf("ParseEnv(GOTUNE_REFRESH=0) = %+v, %v; want a negative Refresh", e, err)
	}
	if e, err := tune.ParseEnv(env(nil)); err != nil || e.Refresh != tune.DefaultRefresh {
		t.Errorf("ParseEnv(unset) = %+v, %v; want Refresh %v", e, err, tune.DefaultRefresh)
	}
	bad := map[string]string{
		"GOTUNE": "maybe", "GOTUNE_REFRESH": "soon", "GOTUNE_MAXPROCS": "ceil", "GOTUNE_MEMORY_RATIO": "1.2",
		"GOTUNE_MEMORY_RESERVE": "lots", "GOTUNE_GOGC": "-3", "GOTUNE_LOG": "loud",
	}
	_, err = tune.ParseEnv(env(bad))
	if !errors.Is(err, tune.ErrBadEnv) {
		t.Fatalf("ParseEnv(bad) error = %v, want ErrBadEnv", err)
	}
	for k, v := range bad {
		if !strings.Contains(err.Error(), k+`="`+v+`"`) {
			t.Errorf("ParseEnv(bad) error does not name %s=%q: %v", k, v, err)
		}
	}
}

func FuzzParseEnv(f *testing.F) {
	f.Add("off", "1s", "floor", "0.9", "64MiB", "200")
	f.Add("", "", "", "", "", "")
	f.Add("x", "-1s", "y", "NaN", "1e9", "0")
	empty := f.TempDir()
	f.Fuzz(func(t *testing.T, on, refresh, procs, ratio, reserve, gogc string) {
		m := map[string]string{"GOTUNE": on, "GOTUNE_REFRESH": refresh, "GOTUNE_MAXPROCS": procs,
			"GOTUNE_MEMORY_RATIO": ratio, "GOTUNE_MEMORY_RESERVE": reserve, "GOTUNE_GOGC": gogc}
		var e tune.EnvConfig
		var err error
		n := len(on) + len(refresh) + len(procs) + len(ratio) + len(reserve) + len(gogc)
		checkAlloc(t, "ParseEnv", 32*n+64<<10, func() {
			e, err = tune.ParseEnv(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
		})
		if err != nil {
			return
		}
		// Whatever ParseEnv accepts, the options accept too.
		if _, err := tune.Detect(append(e.Options, noEnv, tune.WithRoot(empty))...); err != nil {
			t.Fatalf("ParseEnv accepted %v but Detect rejects: %v", m, err)
		}
	})
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"460MiB", "off", "1", "9223372036854775807B", "8EiB", "0", "-1", "18446744073709551616", "1e3MiB", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n int64
		var err error
		checkAlloc(t, "ParseBytes", 32*len(s)+64<<10, func() { n, err = tune.ParseBytes(s) })
		if err == nil && n < 0 {
			t.Fatalf("ParseBytes(%q) = %d", s, n)
		}
	})
}

// checkAlloc fails t if fn allocates more than limit bytes: every parser
// must cost what its input is worth (issue 15).
func checkAlloc(t *testing.T, name string, limit int, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(limit) {
		t.Fatalf("%s allocated %d bytes, want at most %d", name, n, limit)
	}
}

// frac is how automemlimit applies a ratio.
func frac(r float64, n int64) int64 { return int64(float64(n) * r) }
