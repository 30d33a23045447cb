// Command server is the service of the end-to-end benchmark (package
// e2epeers): an HTTP server with one CPU-bound or memory-bound handler,
// run in one of three configurations chosen by -config:
//
//	gotune  tune/auto (GOMAXPROCS, GOMEMLIMIT from the cgroup) and gcguard
//	off     GOTUNE=off: the runtime's own defaults, nothing else
//	peers   GOTUNE=off, then automaxprocs' maxprocs.Set and automemlimit's
//	        memlimit.Set, as their blank imports do at init
//
// The parent sets GOTUNE=off for off and peers; this program checks it.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/gotune/gotune/gcguard"
	_ "github.com/gotune/gotune/tune/auto"
	"go.uber.org/automaxprocs/maxprocs"
)

// Info is what the server prints on its first stdout line and serves on
// /stats: the settings it runs with and its CPU time so far.
type Info struct {
	Config     string  `json:"config"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	GOMEMLIMIT int64   `json:"gomemlimit"`
	GOGC       int64   `json:"gogc"`
	Guard      string  `json:"guard,omitempty"`
	CPU        float64 `json:"cpu_s"`
	GCCycles   uint64  `json:"gc_cycles"`
	Addr       string  `json:"addr,omitempty"`
}

func info(config string) Info {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return Info{
		Config:     config,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GOMEMLIMIT: int64(s[1].Value.Uint64()),
		GOGC:       int64(s[0].Value.Uint64()),
		CPU:        time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds(),
		GCCycles:   s[2].Value.Uint64(),
	}
}

func main() {
	config := flag.String("config", "gotune", "gotune, off or peers")
	handler := flag.String("handler", "cpu", "cpu: hash 1 MiB per request; mem: also keep -live MiB live, replace 64 KiB of it and allocate 256 KiB more per request")
	liveMiB := flag.Int("live", 0, "live set in MiB for -handler mem")
	flag.Parse()

	var guardNote string
	switch *config {
	case "gotune":
		if os.Getenv("GOTUNE") == "off" {
			fail(errors.New("config gotune with GOTUNE=off"))
		}
		g, err := gcguard.Start()
		if err != nil {
			guardNote = "not started: " + err.Error()
		} else {
			defer g.Stop()
			guardNote = fmt.Sprintf("target %d", g.Stats().Target)
		}
	case "off", "peers":
		if os.Getenv("GOTUNE") != "off" {
			fail(fmt.Errorf("config %s needs GOTUNE=off", *config))
		}
		if *config == "peers" {
			if _, err := maxprocs.Set(); err != nil {
				fail(err)
			}
			if _, err := memlimit.Set(memlimit.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
				guardNote = "automemlimit: " + err.Error()
			}
		}
	default:
		fail(fmt.Errorf("unknown -config %q", *config))
	}

	// The live set of the memory-bound handler: 64 KiB chunks, one of
	// which each request replaces.
	var mu sync.Mutex
	live := make([][]byte, *liveMiB*16)
	for i := range live {
		live[i] = touched(64 << 10)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		in := info(*config)
		in.Guard = guardNote
		_ = json.NewEncoder(w).Encode(in)
	})
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		// 64 KiB of fresh garbage hashed 16 times: about a millisecond of
		// CPU and an allocation rate that keeps the GC busy.
		buf := touched(64 << 10)
		var sum [32]byte
		for range 16 {
			sum = sha256.Sum256(buf)
			buf[0] = sum[0]
		}
		if *handler == "mem" && len(live) > 0 {
			tmp := touched(256 << 10)
			sum[1] = tmp[len(tmp)-1]
			mu.Lock()
			live[rand.IntN(len(live))] = touched(64 << 10)
			mu.Unlock()
		}
		fmt.Fprintf(w, "%x\n", sum[:4])
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	in := info(*config)
	in.Guard, in.Addr = guardNote, ln.Addr().String()
	if err := json.NewEncoder(os.Stdout).Encode(in); err != nil {
		fail(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() { <-sig; srv.Close() }()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fail(err)
	}
}

// touched allocates n bytes and writes every page, so they are resident.
func touched(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = byte(i)
	}
	return b
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "server:", err)
	os.Exit(2)
}
