package fsread_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/internal/fsread"
)

// slow gives one byte per read, each after a pause: a file system that
// answers, but slowly enough to hold a caller for ever.
type slow struct{}

func (slow) Read(p []byte) (int, error) {
	time.Sleep(100 * time.Millisecond)
	p[0] = '0'
	return 1, nil
}

func TestReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, err := fsread.ReadAll(slow{}, "slow", 0, fsread.MaxSize, start.Add(fsread.Deadline))
		if !errors.Is(err, fsread.ErrDeadline) {
			t.Fatalf("readAll(slow) error = %v, want ErrDeadline", err)
		}
		if d := time.Since(start); d > fsread.Deadline+time.Second {
			t.Errorf("readAll(slow) gave up after %v, deadline %v", d, fsread.Deadline)
		}
	})
}
