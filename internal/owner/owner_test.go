package owner

import (
	"errors"
	"runtime/debug"
	"sync"
	"testing"
)

func TestTakeSetRelease(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	a, err := Take(GOGC, Tune)
	if err != nil {
		t.Fatalf("Take(GOGC, tune) on a free setting: %v", err)
	}
	defer a.Release()
	if !a.Set(150, func() { debug.SetGCPercent(150) }) {
		t.Fatalf("Set by the owner = false, want true")
	}
	if who, last, ok := Holder(GOGC); who != Tune || last != 150 || !ok {
		t.Errorf("Holder(GOGC) = %q, %d, %v; want tune, 150, true", who, last, ok)
	}
	// A second claim by the same claimant, or by one that may not take over.
	if _, err := Take(GOGC, Tune); !errors.Is(err, ErrClaimed) {
		t.Errorf("second Take(GOGC, tune) error = %v, want ErrClaimed", err)
	}
	if _, err := Take(GOGC, GCGuard); !errors.Is(err, ErrClaimed) {
		t.Errorf("Take(GOGC, gcguard) without hand-over error = %v, want ErrClaimed", err)
	}
	// The hand-over: gcguard over tune, which sets nothing until it ends.
	b, err := Take(GOGC, GCGuard, Tune)
	if err != nil {
		t.Fatalf("Take(GOGC, gcguard, from tune): %v", err)
	}
	if b.Last() != 150 {
		t.Errorf("new claim's Last() = %d, want the value in force, 150", b.Last())
	}
	if a.Set(120, func() { t.Error("tune's apply ran while gcguard owns GOGC") }) || a.Owns() {
		t.Errorf("tune's claim still owns GOGC after the hand-over")
	}
	if !b.Set(300, func() { debug.SetGCPercent(300) }) {
		t.Errorf("gcguard's Set = false, want true")
	}
	if _, err := Take(GOGC, GCGuard, Tune); !errors.Is(err, ErrClaimed) {
		t.Errorf("second gcguard Take error = %v, want ErrClaimed", err)
	}
	b.Release()
	b.Release() // twice is fine
	if !a.Owns() {
		t.Errorf("tune's claim does not own GOGC after gcguard released it")
	}
	if who, last, cur, ok := Held(GOGC); who != Tune || last != 150 || cur != 300 || !ok {
		t.Errorf("Held(GOGC) = %q, %d, %d, %v; want tune, 150, 300 (gcguard's value left), true", who, last, cur, ok)
	}
	a.Release()
	if _, _, ok := Holder(GOGC); ok {
		t.Errorf("GOGC still held after every claim was released")
	}
	var nilClaim *Claim
	nilClaim.Release()
	if nilClaim.Set(1, nil) || nilClaim.Owns() || nilClaim.Last() != 0 {
		t.Errorf("a nil claim sets or owns something")
	}
}

// Releasing a claim that was taken over drops it from under the new owner.
func TestReleaseUnder(t *testing.T) {
	a, _ := Take(GOMEMLIMIT, Tune)
	b, err := Take(GOMEMLIMIT, GCGuard, Tune)
	if err != nil {
		t.Fatal(err)
	}
	a.Release()
	if !b.Owns() {
		t.Errorf("gcguard lost GOMEMLIMIT when tune's claim under it was released")
	}
	b.Release()
	if _, _, ok := Holder(GOMEMLIMIT); ok {
		t.Errorf("GOMEMLIMIT still held")
	}
}

// Of many claimants racing for a free setting exactly one wins.
func TestTakeConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	wins := make(chan *Claim, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c, err := Take(GOMAXPROCS, NUMA); err == nil {
				wins <- c
			}
		}()
	}
	wg.Wait()
	close(wins)
	n := 0
	for c := range wins {
		n++
		c.Release()
	}
	if n != 1 {
		t.Errorf("%d of 16 concurrent Takes won, want 1", n)
	}
}

func TestSettingString(t *testing.T) {
	for s, want := range map[Setting]string{GOGC: "GOGC", GOMEMLIMIT: "GOMEMLIMIT", GOMAXPROCS: "GOMAXPROCS", 7: "Setting(7)"} {
		if got := s.String(); got != want {
			t.Errorf("Setting(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}
