//go:build linux

package tlscachebench

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServerSNIFlood floods examples/server, as a separate process, with
// TLS handshakes that carry long random server names (every length up to
// 64 KiB, binary and host-name bytes, and well-formed unknown names), while
// a normal client makes HTTPS requests on new connections and an operator
// reads the status page. It checks that the server's RSS stays within
// 64 MiB of where it was before the flood, that the normal client gets at
// least 99% of its requests served during and after the flood, and that
// every status page request succeeds.
//
// It is gated, as it runs for a minute and loads every core:
//
//	GOTUNE_TLS_FLOOD=60s go test -run TestServerSNIFlood -v ./bench/tlscache
//
// Results are recorded in bench/README.md.
func TestServerSNIFlood(t *testing.T) {
	v := os.Getenv("GOTUNE_TLS_FLOOD")
	if v == "" {
		t.Skip("set GOTUNE_TLS_FLOOD=60s to run the flood against examples/server")
	}
	floodFor, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("GOTUNE_TLS_FLOOD=%q: %v", v, err)
	}
	workers := 8
	if v := os.Getenv("GOTUNE_TLS_FLOOD_WORKERS"); v != "" {
		if workers, err = strconv.Atoi(v); err != nil {
			t.Fatalf("GOTUNE_TLS_FLOOD_WORKERS=%q: %v", v, err)
		}
	}
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/server").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stderr := new(lockedBuffer)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	addrc := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`serving:\s+https://(\S+)/`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
		cmd.Wait()
	}()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-exited:
		t.Fatalf("server exited: %s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start in 60 s")
	}
	pid := cmd.Process.Pid

	// The normal client: a request on a new connection (a full handshake
	// with SNI "localhost") every 50 ms; the operator: the status page
	// every second.
	normal := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"},
		DisableKeepAlives: true,
	}}
	type tally struct{ ok, fail atomic.Int64 }
	var phase atomic.Int32 // 0 warm-up, 1 flood, 2 after
	var normalT, statusT [3]tally
	var firstErr [3]atomic.Value
	get := func(path string) error {
		res, err := normal.Get("https://" + addr + path)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, res.Status)
		}
		return nil
	}
	stopClients := make(chan struct{})
	var clients sync.WaitGroup
	clients.Add(2)
	go func() {
		defer clients.Done()
		for {
			select {
			case <-stopClients:
				return
			case <-time.After(50 * time.Millisecond):
			}
			p := phase.Load()
			if err := get("/"); err != nil {
				normalT[p].fail.Add(1)
				firstErr[p].CompareAndSwap(nil, err.Error())
			} else {
				normalT[p].ok.Add(1)
			}
		}
	}()
	go func() {
		defer clients.Done()
		for {
			select {
			case <-stopClients:
				return
			case <-time.After(time.Second):
			}
			p := phase.Load()
			if err := get("/debug/gotune"); err != nil {
				statusT[p].fail.Add(1)
			} else {
				statusT[p].ok.Add(1)
			}
		}
	}()

	time.Sleep(3 * time.Second)
	rssStart := rss(t, pid)
	rssPeak := rssStart

	// The flood.
	phase.Store(1)
	var flooders sync.WaitGroup
	var handshakes, refused atomic.Int64
	var floodErr atomic.Value
	stopFlood := make(chan struct{})
	src := make([]byte, 128<<10)
	const hostBytes = "abcdefghijklmnopqrstuvwxyz0123456789-."
	for i := range src {
		if i < len(src)/2 {
			src[i] = hostBytes[mrand.IntN(len(hostBytes))]
		} else {
			src[i] = byte(mrand.Uint32())
		}
	}
	for w := range workers {
		flooders.Add(1)
		go func() {
			defer flooders.Done()
			r := mrand.New(mrand.NewPCG(uint64(w), 2))
			for {
				select {
				case <-stopFlood:
					return
				default:
				}
				var name string
				switch l := 1 + r.IntN(64<<10-2048); r.IntN(3) { // less room for the rest of the ClientHello, whose extensions take 2-byte lengths
				case 0:
					off := r.IntN(len(src)/2 - l)
					name = string(src[off : off+l])
				case 1:
					off := len(src)/2 + r.IntN(len(src)/2-l)
					name = string(src[off : off+l])
				default:
					name = fmt.Sprintf("%x.%x.flood.example", r.Uint64(), r.Uint64())
				}
				conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					refused.Add(1)
					floodErr.CompareAndSwap(nil, err.Error())
					continue
				}
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				tc := tls.Client(conn, &tls.Config{ServerName: name, InsecureSkipVerify: true})
				if err := tc.Handshake(); err == nil {
					handshakes.Add(1)
				} else {
					refused.Add(1)
					floodErr.CompareAndSwap(nil, fmt.Sprintf("%.200s", err.Error()))
				}
				conn.Close()
			}
		}()
	}
	floodEnd := time.Now().Add(floodFor)
	for time.Now().Before(floodEnd) {
		time.Sleep(time.Second)
		rssPeak = max(rssPeak, rss(t, pid))
	}
	close(stopFlood)
	flooders.Wait()
	rssFloodEnd := rss(t, pid)

	// After: the normal client and the operator for another 10 s.
	phase.Store(2)
	time.Sleep(10 * time.Second)
	rssAfter := rss(t, pid)
	close(stopClients)
	clients.Wait()

	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	rate := func(t *tally) (float64, string) {
		ok, fail := t.ok.Load(), t.fail.Load()
		if ok+fail == 0 {
			return 0, "0/0"
		}
		return float64(ok) / float64(ok+fail), fmt.Sprintf("%d/%d", ok, ok+fail)
	}
	t.Logf("flood %v, %d workers: %d handshakes with random names completed (%.0f/s), %d failed or refused",
		floodFor, workers, handshakes.Load(), float64(handshakes.Load())/floodFor.Seconds(), refused.Load())
	if e := floodErr.Load(); e != nil {
		t.Logf("first flood handshake error: %s", e)
	}
	t.Logf("RSS: start %s, peak %s (+%s), end of flood %s, 10 s after %s",
		mib(rssStart), mib(rssPeak), mib(rssPeak-rssStart), mib(rssFloodEnd), mib(rssAfter))
	for p, name := range []string{"before", "during", "after"} {
		nr, ns := rate(&normalT[p])
		sr, ss := rate(&statusT[p])
		t.Logf("%s: normal client %s served (%.2f%%), status page %s (%.0f%%)", name, ns, 100*nr, ss, 100*sr)
		if e := firstErr[p].Load(); e != nil {
			t.Logf("%s: first normal-client error: %v", name, e)
		}
		if p > 0 && nr < 0.99 {
			t.Errorf("%s the flood the normal client got %.2f%% of its requests served, want ≥ 99%%", name, 100*nr)
		}
		if p > 0 && statusT[p].fail.Load() > 0 {
			t.Errorf("%s the flood %d status page requests failed, want none", name, statusT[p].fail.Load())
		}
	}
	if rssPeak-rssStart >= 64<<20 {
		t.Errorf("RSS grew by %s during the flood, want < 64 MiB", mib(rssPeak-rssStart))
	}
	if strings.Count(stderr.String(), "level=WARN") > 10 {
		t.Errorf("the server logged %d lines at WARN during the flood, want them at Debug", strings.Count(stderr.String(), "level=WARN"))
	}
}

// rss returns the resident set size of process pid.
func rss(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
