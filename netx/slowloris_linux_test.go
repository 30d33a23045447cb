//go:build linux

package netx_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/netx"
)

// Slowloris under a descriptor limit. The server runs in a child process
// (this test binary re-executed with childEnv set) whose RLIMIT_NOFILE is
// lowered to childNofile, so the test process keeps its own limit. The
// parent opens more trickling connections than the child has descriptors
// and checks whether a normal client still gets answers.
const (
	childNofile   = 64
	attackers     = 80
	normalCalls   = 5
	normalTimeout = time.Second
)

// runChild serves until stdin closes. mode is "slowloris-bare" or
// "slowloris-netx".
func runChild(mode string) int {
	lim := syscall.Rlimit{Cur: childNofile, Max: childNofile}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		return 2
	}
	quiet := log.New(io.Discard, "", 0)
	var srv *http.Server
	switch mode {
	case "slowloris-bare":
		srv = &http.Server{Handler: okHandler(), ErrorLog: quiet} //nolint:gosec // the baseline
	case "slowloris-netx":
		srv = netx.NewServer(okHandler()) // defaults: the limit comes from RLIMIT_NOFILE
		srv.ErrorLog = quiet
	default:
		fmt.Println("unknown mode", mode)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	fmt.Printf("ADDR %s\n", ln.Addr())
	var serveErr error
	if mode == "slowloris-netx" {
		serveErr = netx.Serve(ctx, srv, ln, netx.WithSignals(), netx.WithDrainDelay(netx.NoDrain), netx.WithShutdownTimeout(100*time.Millisecond))
		s := netx.GuardOf(srv).Stats()
		fmt.Fprintf(os.Stderr, "netx child: max %d accepted %d evicted %d accept waits %d\n", s.Conns.Max, s.Conns.Accepted, s.Conns.Evicted, s.Conns.Waits)
	} else {
		go func() { <-ctx.Done(); _ = srv.Close() }()
		serveErr = srv.Serve(ln)
	}
	_ = serveErr
	return 0
}

// slowlorisRound starts a child in mode, attacks it and returns how many of
// normalCalls normal requests succeeded.
func slowlorisRound(t *testing.T, mode string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("%s child: %v\n%s", mode, err, stderr.String())
		}
		t.Logf("%s child stderr: %s", mode, strings.TrimSpace(stderr.String()))
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("%s child: %q, %v\n%s", mode, line, err, stderr.String())
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var conns atomic.Int64
	for i := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				conns.Add(1)
				_, err = fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: x\r\n", i)
				for err == nil {
					select {
					case <-stop:
						err = io.EOF
					case <-time.After(100 * time.Millisecond):
						_, err = io.WriteString(c, "X-Trickle: 1\r\n")
					}
				}
				c.Close()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	waitFor(t, 5*time.Second, "attack connections", func() bool { return conns.Load() >= attackers })
	time.Sleep(200 * time.Millisecond)

	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: normalTimeout}
	// The normal calls run side by side so the bare round costs one
	// timeout, not five.
	var ok atomic.Int64
	var cw sync.WaitGroup
	for range normalCalls {
		cw.Add(1)
		go func() {
			defer cw.Done()
			resp, err := client.Get("http://" + addr + "/")
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ok.Add(1)
			}
		}()
	}
	cw.Wait()
	return int(ok.Load())
}

func TestAttackSlowlorisDescriptorLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two child processes")
	}
	checkLeaks(t)
	bare := slowlorisRound(t, "slowloris-bare")
	guarded := slowlorisRound(t, "slowloris-netx")
	t.Logf("slowloris, %d trickling connections, RLIMIT_NOFILE %d: normal client %d/%d bare, %d/%d netx",
		attackers, childNofile, bare, normalCalls, guarded, normalCalls)
	if guarded != normalCalls {
		t.Errorf("netx server answered %d/%d normal requests under slowloris, want all", guarded, normalCalls)
	}
	if bare == normalCalls {
		t.Errorf("bare server answered %d/%d: the attack did not exhaust its descriptors, so the test shows nothing", bare, normalCalls)
	}
}
