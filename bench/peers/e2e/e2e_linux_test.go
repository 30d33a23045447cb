//go:build linux

package e2epeers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	flagRuns     = flag.Int("e2e.runs", 3, "runs per case and configuration; medians are reported")
	flagDuration = flag.Duration("e2e.duration", 10*time.Second, "measured load per run")
	flagWarmup   = flag.Duration("e2e.warmup", 2*time.Second, "load before the measured part")
	flagRate     = flag.Float64("e2e.rate", 100, "requests per second")
	flagCases    = flag.String("e2e.cases", "leaf,parent,mem", "cases to run")
	flagConfigs  = flag.String("e2e.configs", "gotune,off,peers", "configurations to run")
)

const (
	mib      = 1 << 20
	v1CPU    = "/sys/fs/cgroup/cpu"
	v1Memory = "/sys/fs/cgroup/memory"
	period   = 100000 // cfs period, µs
)

// tcase is a cgroup layout and a handler. Limits of 0 are "none".
type tcase struct {
	name               string
	leafCPU, parentCPU float64 // CPUs
	leafMem, parentMem int64
	handler            string
	liveMiB            int
}

var cases = []tcase{
	{name: "leaf", leafCPU: 1.5, leafMem: 512 * mib, handler: "cpu"},
	{name: "parent", parentCPU: 1, parentMem: 256 * mib, handler: "cpu"},
	{name: "mem", leafCPU: 1.5, leafMem: 512 * mib, handler: "mem", liveMiB: 320},
}

// ownCgroup returns this process's directory in a v1 hierarchy.
func ownCgroup(mnt, ctrl string) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), ctrl) {
			return filepath.Join(mnt, f[2]), nil
		}
	}
	return "", fmt.Errorf("no cgroup v1 %s hierarchy in /proc/self/cgroup", ctrl)
}

// groups is a parent and a leaf group in the cpu and memory hierarchies.
type groups struct {
	cpuParent, cpuLeaf, memParent, memLeaf string
}

func write(path, v string) error { return os.WriteFile(path, []byte(v), 0) }

func makeGroups(tc tcase, tag string) (groups, error) {
	cpuBase, err := ownCgroup(v1CPU, "cpu")
	if err != nil {
		return groups{}, err
	}
	memBase, err := ownCgroup(v1Memory, "memory")
	if err != nil {
		return groups{}, err
	}
	g := groups{
		cpuParent: filepath.Join(cpuBase, "gotune-e2e-"+tag),
		memParent: filepath.Join(memBase, "gotune-e2e-"+tag),
	}
	g.cpuLeaf, g.memLeaf = filepath.Join(g.cpuParent, "leaf"), filepath.Join(g.memParent, "leaf")
	for _, d := range []string{g.cpuParent, g.cpuLeaf, g.memParent, g.memLeaf} {
		if err := os.Mkdir(d, 0o755); err != nil {
			g.remove()
			return groups{}, err
		}
	}
	var errs []error
	quota := func(dir string, cpus float64) {
		if cpus > 0 {
			errs = append(errs, write(filepath.Join(dir, "cpu.cfs_period_us"), strconv.Itoa(period)),
				write(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.Itoa(int(cpus*period))))
		}
	}
	limit := func(dir string, b int64) {
		if b > 0 {
			errs = append(errs, write(filepath.Join(dir, "memory.limit_in_bytes"), strconv.FormatInt(b, 10)))
		}
	}
	quota(g.cpuParent, tc.parentCPU)
	quota(g.cpuLeaf, tc.leafCPU)
	limit(g.memParent, tc.parentMem)
	limit(g.memLeaf, tc.leafMem)
	if err := errors.Join(errs...); err != nil {
		g.remove()
		return groups{}, err
	}
	return g, nil
}

func (g groups) remove() {
	for _, d := range []string{g.cpuLeaf, g.cpuParent, g.memLeaf, g.memParent} {
		for i := 0; i < 100; i++ { // the kernel may take a moment to let go
			if err := os.Remove(d); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// cpuGroup and memGroup are where the case's limits are.
func (g groups) cpuGroup(tc tcase) string {
	if tc.parentCPU > 0 {
		return g.cpuParent
	}
	return g.cpuLeaf
}

func (g groups) memGroup(tc tcase) string {
	if tc.parentMem > 0 {
		return g.memParent
	}
	return g.memLeaf
}

// stat reads "key value" lines (cpu.stat, memory.oom_control).
func stat(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == key {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return -1
}

func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v
}

// serverInfo is the server's first stdout line and its /stats answer.
type serverInfo struct {
	Config     string  `json:"config"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	GOMEMLIMIT int64   `json:"gomemlimit"`
	GOGC       int64   `json:"gogc"`
	Guard      string  `json:"guard"`
	CPU        float64 `json:"cpu_s"`
	GCCycles   uint64  `json:"gc_cycles"`
	Addr       string  `json:"addr"`
}

// result is one run of one case in one configuration.
type result struct {
	info               serverInfo
	p50, p99, p999     time.Duration
	sent, errs         int
	cpuPer1000         float64 // server CPU seconds per 1,000 answered requests, measured window
	gcCycles           uint64
	throttled, periods int64 // cpu.stat deltas over the measured window
	peakMem            int64 // memory.max_usage_in_bytes of the limited group
	oomKills           int64
	killed             bool // the server died before the end
	failed             string
}

func cleanEnv(config string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GOTUNE", "GODEBUG", "AUTOMEMLIMIT":
			continue
		}
		env = append(env, kv)
	}
	if config != "gotune" {
		env = append(env, "GOTUNE=off")
	}
	return env
}

func getStats(c *http.Client, addr string) (serverInfo, error) {
	var in serverInfo
	resp, err := c.Get("http://" + addr + "/stats")
	if err != nil {
		return in, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&in)
	return in, err
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p*float64(len(d))+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}

// runOne starts the server inside fresh groups, warms it up, measures,
// stops it and removes the groups.
func runOne(server string, tc tcase, config string, tag string) (r result) {
	g, err := makeGroups(tc, tag)
	if err != nil {
		r.failed = "cgroups: " + err.Error()
		return r
	}
	defer g.remove()
	// The shell joins the groups and then execs the server, so the Go
	// runtime and every library read the limits from their first
	// instruction on.
	script := `echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@"`
	args := []string{"-c", script, "sh", g.cpuLeaf, g.memLeaf, server, "-config", config, "-handler", tc.handler, "-live", strconv.Itoa(tc.liveMiB)}
	cmd := exec.Command("sh", args...)
	cmd.Env = cleanEnv(config)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.failed = err.Error()
		return r
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.failed = err.Error()
		return r
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			r.killed = true
		}
		r.peakMem = readInt(filepath.Join(g.memGroup(tc), "memory.max_usage_in_bytes"))
		r.oomKills = max(0, stat(filepath.Join(g.memGroup(tc), "memory.oom_control"), "oom_kill"))
		if r.failed != "" && stderr.Len() > 0 {
			r.failed += ": " + lastLine(stderr.String())
		}
	}()
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		for s.Scan() { // drain
		}
	}()
	select {
	case l, ok := <-line:
		if !ok || json.Unmarshal([]byte(l), &r.info) != nil {
			r.failed = fmt.Sprintf("server did not start (%q)", l)
			return r
		}
	case <-time.After(2 * time.Minute):
		r.failed = "server did not start within 2 minutes"
		return r
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4096, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "http://" + r.info.Addr + "/work"
	ctx := context.Background()
	OpenLoop(ctx, c, url, *flagRate, *flagWarmup)
	cpuStat := filepath.Join(g.cpuGroup(tc), "cpu.stat")
	before, err := getStats(c, r.info.Addr)
	if err != nil {
		r.failed = "stats: " + err.Error()
		r.killed = true
		return r
	}
	thr0, per0 := stat(cpuStat, "nr_throttled"), stat(cpuStat, "nr_periods")
	out := OpenLoop(ctx, c, url, *flagRate, *flagDuration)
	thr1, per1 := stat(cpuStat, "nr_throttled"), stat(cpuStat, "nr_periods")
	after, err := getStats(c, r.info.Addr)
	if err != nil {
		r.failed = "stats after: " + err.Error()
	}
	var lat []time.Duration
	for _, o := range out {
		if o.Err {
			r.errs++
		} else {
			lat = append(lat, o.Latency)
		}
	}
	slices.Sort(lat)
	r.sent = len(out)
	r.p50, r.p99, r.p999 = pct(lat, 0.50), pct(lat, 0.99), pct(lat, 0.999)
	if len(lat) > 0 && err == nil {
		r.cpuPer1000 = (after.CPU - before.CPU) / float64(len(lat)) * 1000
		r.gcCycles = after.GCCycles - before.GCCycles
	}
	r.throttled, r.periods = thr1-thr0, per1-per0
	return r
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func buildServer(tb testing.TB) string {
	bin := filepath.Join(tb.TempDir(), "server")
	out, err := exec.Command("go", "build", "-o", bin, "./server").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build ./server: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkE2E runs every case × configuration -e2e.runs times, the
// configurations interleaved and their order rotated from run to run, and
// prints a markdown table of medians (peak memory: the worst run; OOM
// kills and errors: summed). Run it with -benchtime 1x.
func BenchmarkE2E(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root for cgroups")
	}
	server := buildServer(b)
	var cs []tcase
	for _, tc := range cases {
		if slices.Contains(strings.Split(*flagCases, ","), tc.name) {
			cs = append(cs, tc)
		}
	}
	configs := strings.Split(*flagConfigs, ",")
	res := map[string]map[string][]result{}
	for i := range *flagRuns {
		for _, tc := range cs {
			if res[tc.name] == nil {
				res[tc.name] = map[string][]result{}
			}
			for j := range configs {
				cfg := configs[(i+j)%len(configs)]
				r := runOne(server, tc, cfg, fmt.Sprintf("%d-%d-%s-%s", os.Getpid(), i, tc.name, cfg))
				fmt.Printf("run %d %-6s %-6s procs %d limit %d gogc %d | p50 %v p99 %v p99.9 %v | sent %d errs %d | cpu/1k %.3fs gc %d | throttled %d/%d | peak %d MiB oom %d killed %v %s %s",
					i, tc.name, cfg, r.info.GOMAXPROCS, r.info.GOMEMLIMIT, r.info.GOGC, r.p50, r.p99, r.p999, r.sent, r.errs,
					r.cpuPer1000, r.gcCycles, r.throttled, r.periods, r.peakMem>>20, r.oomKills, r.killed, r.info.Guard, r.failed+"\n")
				res[tc.name][cfg] = append(res[tc.name][cfg], r)
			}
		}
	}
	var tbl strings.Builder
	type metric struct {
		name string
		vals map[string]float64
	}
	var subs []metric
	fmt.Fprintf(&tbl, "\n%d runs per cell, %.0f req/s open loop, %v measured after %v warm-up; medians, peak memory the worst run, errors and OOM kills summed\n\n",
		*flagRuns, *flagRate, *flagDuration, *flagWarmup)
	fmt.Fprintln(&tbl, "| case | config | GOMAXPROCS | GOMEMLIMIT MiB | p50 ms | p99 ms | p99.9 ms | errors / sent | CPU s per 1,000 req | GC cycles | throttled periods (of) | peak memory MiB | OOM kills |")
	fmt.Fprintln(&tbl, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, tc := range cs {
		for _, cfg := range configs {
			rs := res[tc.name][cfg]
			var p50, p99, p999 []time.Duration
			var cpu []float64
			var thr, per, gc, procs, lim []int64
			var errs, sent, oom int64
			var peak int64
			for _, r := range rs {
				errs += int64(r.errs)
				sent += int64(r.sent)
				oom += r.oomKills
				if r.killed && r.oomKills == 0 {
					oom++ // killed by the kernel without the counter (older kernels)
				}
				peak = max(peak, r.peakMem)
				procs = append(procs, int64(r.info.GOMAXPROCS))
				lim = append(lim, r.info.GOMEMLIMIT)
				if r.sent == 0 || r.failed != "" {
					continue
				}
				p50, p99, p999 = append(p50, r.p50), append(p99, r.p99), append(p999, r.p999)
				cpu = append(cpu, r.cpuPer1000)
				thr, per, gc = append(thr, r.throttled), append(per, r.periods), append(gc, int64(r.gcCycles))
			}
			limit := "none"
			if l := median(lim); l > 0 && l < 1<<62 {
				limit = strconv.FormatInt(l>>20, 10)
			}
			ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }
			fmt.Fprintf(&tbl, "| %s | %s | %d | %s | %s | %s | %s | %d / %d | %.3f | %d | %d (%d) | %d | %d |\n",
				tc.name, cfg, median(procs), limit, ms(median(p50)), ms(median(p99)), ms(median(p999)), errs, sent,
				median(cpu), median(gc), median(thr), median(per), peak>>20, oom)
			subs = append(subs, metric{"case=" + tc.name + "/config=" + cfg, map[string]float64{
				"p50-ms": float64(median(p50)) / 1e6, "p99-ms": float64(median(p99)) / 1e6, "p99.9-ms": float64(median(p999)) / 1e6,
				"cpu-s/1k": median(cpu), "throttled": float64(median(thr)), "peak-MiB": float64(peak >> 20), "oom": float64(oom),
			}})
		}
	}
	fmt.Print(tbl.String())
	for _, m := range subs {
		b.Run(m.name, func(b *testing.B) {
			for k, v := range m.vals {
				b.ReportMetric(v, k)
			}
		})
	}
}
