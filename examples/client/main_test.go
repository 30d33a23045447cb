package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestClientExample runs the example: retries recover the 503s, and the
// hard failures trip the breaker, which then refuses requests at once.
func TestClientExample(t *testing.T) {
	var b bytes.Buffer
	if err := run(&b, 60, true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	m := regexp.MustCompile(`(\d+) requests: (\d+) ok, (\d+) failed, (\d+) refused`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line:\n%s", out)
	}
	ok, _ := strconv.Atoi(m[2])
	open, _ := strconv.Atoi(m[4])
	if ok == 0 || open == 0 {
		t.Errorf("ok=%d, refused by breaker=%d: want both > 0\n%s", ok, open, out)
	}
	if r := regexp.MustCompile(`"retries": (\d+)`).FindStringSubmatch(out); r == nil || r[1] == "0" {
		t.Errorf("no retries recorded:\n%s", out)
	}
	// It says what it runs and what the numbers mean before the JSON.
	if i, j := strings.Index(out, "Scenario: a flaky backend"), strings.Index(out, "client stats: {"); i < 0 || j < 0 || i > j ||
		!strings.Contains(out[:j], "refused  failed at once by the open breaker") {
		t.Errorf("no scenario and legend before the stats:\n%s", out)
	}
	for _, want := range []string{"gotune_netx_client_requests_total 1 series", "gotune_netx_client_breaker_trips_total"} {
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
