package auto_test

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/internal/owner"
	"github.com/gotune/gotune/tune"
	"github.com/gotune/gotune/tune/auto"
)

const ownerChild = "GOTUNE_TEST_OWNER_CHILD"

// The import's refresh never overrides the GOGC of a running gcguard: a
// child process imports tune/auto with a GOGC policy and a 100ms refresh,
// starts a guard, and checks through 5 refreshes that GOGC stays the
// guard's and the report names gcguard; after Stop, tune's 150 is back.
func TestRefreshLeavesGCGuardsGOGC(t *testing.T) {
	if os.Getenv(ownerChild) != "" {
		ownerChildMain(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRefreshLeavesGCGuardsGOGC$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), ownerChild+"=1", "GOTUNE=", "GOTUNE_REFRESH=100ms", "GOTUNE_GOGC=150",
		"GOTUNE_LOG=off", "GOGC=", "GOMEMLIMIT=", "GOMAXPROCS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func ownerChildMain(t *testing.T) {
	tu := auto.Tuner()
	if tu == nil {
		t.Fatalf("auto.Tuner() = nil: %v", auto.Err())
	}
	if g := owner.Current(owner.GOGC); g != 150 {
		t.Fatalf("after the import: GOGC %d, want tune's 150", g)
	}
	guard, err := gcguard.Start(gcguard.WithMemoryTarget(1<<30), gcguard.WithInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer guard.Stop()
	start := tu.Stats().Refreshes
	for i := 0; tu.Stats().Refreshes < start+5; i++ {
		if i > 60000 {
			t.Fatalf("only %d refreshes", tu.Stats().Refreshes-start)
		}
		if who, last, cur, _ := owner.Held(owner.GOGC); who != owner.GCGuard || cur != last {
			t.Fatalf("GOGC %d held by %q (which set %d) during refreshes; want gcguard's", cur, who, last)
		}
		time.Sleep(time.Millisecond)
	}
	if r := tu.Report(); r.GOGC.Source != tune.SourceGCGuard {
		t.Errorf("report while gcguard runs: GOGC %s (%s), want gcguard", r.GOGC.Source, r.GOGC.Reason)
	}
	guard.Stop()
	start = tu.Stats().Refreshes
	for i := 0; tu.Stats().Refreshes < start+2; i++ {
		if i > 60000 {
			t.Fatalf("no refresh after Stop")
		}
		time.Sleep(time.Millisecond)
	}
	if r := tu.Report(); r.GOGC.Source != tune.SourcePolicy || owner.Current(owner.GOGC) != 150 {
		t.Errorf("after Stop: GOGC %d (%s), want tune's 150 (policy)", owner.Current(owner.GOGC), r.GOGC.Source)
	}
}
