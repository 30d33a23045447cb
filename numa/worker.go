package numa

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gotune/gotune/internal/cpulist"
)

// RunOn runs fn on a goroutine locked to its own OS thread, with that thread
// restricted to the CPUs of cpus it may already use, and waits for it. The
// thread's previous mask is restored before the thread is unlocked; if that
// fails, the goroutine exits still locked, so the runtime discards the
// thread rather than reuse it with the wrong mask (were that thread the
// main thread, which cannot exit, the runtime parks it instead). A panic in fn is
// re-raised in the caller. RunOn is safe for concurrent use.
//
// With [Pin]: while a pin is in effect the thread gets the CPUs of cpus
// within the pin, and gives its thread back on the pin's CPUs (not its mask
// from before the pin); a Pin or undo during fn keeps the thread on the
// CPUs of cpus it allows. Thread setup and restore wait for a Pin or undo
// in progress.
//
// For many short calls, a [Worker] avoids the thread setup per call.
func RunOn(cpus []int, fn func()) error {
	var (
		err      error
		panicked bool
		pv       any
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		runtime.LockOSThread()
		_, restore, e := lockAffinity(sortCompact(slices.Clone(cpus)))
		if e != nil {
			err = e
			runtime.UnlockOSThread()
			return
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					panicked, pv = true, r
				}
			}()
			fn()
		}()
		if e := restore(); e != nil {
			err = e
			return // exit locked: the thread is discarded
		}
		runtime.UnlockOSThread()
	}()
	<-done
	if panicked {
		panic(pv)
	}
	return err
}

// Worker runs functions on one OS thread restricted to a set of CPUs: a
// goroutine locked to its thread, fed through a channel. Create it with
// [NewWorker], start it with [Worker.Start], stop it with [Worker.Close].
// Its methods are safe for concurrent use; calls run one at a time, in the
// order they are accepted.
//
// A Worker and [Pin] may run at the same time, as for [RunOn]: [Pin] keeps
// the worker's thread on the worker's CPUs within the pin (on the pin's
// CPUs where they share none: [WorkerStats].CPUs then still lists the
// worker's), undo on its CPUs within the restored mask, and Close leaves
// the thread on the mask every other thread has at that moment.
type Worker struct {
	cpus []int

	mu      sync.Mutex
	started bool
	closed  bool
	reqs    chan *call
	quit    chan struct{}
	exited  chan struct{}

	effective atomic.Pointer[[]int]
	calls     atomic.Uint64
	panics    atomic.Uint64
	exitErr   error
}

type call struct {
	fn       func()
	panicked bool
	pv       any
	done     chan struct{}
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// WorkerStats is a snapshot of a [Worker].
type WorkerStats struct {
	// CPUs are the CPUs the worker's thread is restricted to once started
	// (the requested CPUs ∩ the thread's previous mask).
	CPUs []int `json:"cpus"`
	// Running is true between a successful Start and Close.
	Running bool `json:"running"`
	// Calls counts functions run; Panics those that panicked.
	Calls  uint64 `json:"calls_total"`
	Panics uint64 `json:"panics_total"`
}

// NewWorker returns a worker for cpus; it starts no goroutine. It fails if
// cpus is empty or names a negative or too large CPU id.
func NewWorker(cpus []int) (*Worker, error) {
	if len(cpus) == 0 {
		return nil, fmt.Errorf("%w: NewWorker(%v): empty CPU list", ErrNoCPUs, cpus)
	}
	for _, c := range cpus {
		if c < 0 || c >= cpulist.MaxID {
			return nil, fmt.Errorf("numa: NewWorker(%v): bad CPU id %d", cpus, c)
		}
	}
	return &Worker{
		cpus:   sortCompact(slices.Clone(cpus)),
		reqs:   make(chan *call),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}, nil
}

// Start locks a new goroutine to its thread and restricts the thread to the
// worker's CPUs. It returns the error from that, if any (wrapping
// [ErrUnavailable] where the kernel refuses, [ErrUnsupported] off Linux).
// Starting twice, or after Close, is an error.
func (w *Worker) Start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return ErrClosed
	case w.started:
		return errors.New("numa: worker already started")
	}
	ready := make(chan error, 1)
	go w.loop(ready)
	if err := <-ready; err != nil {
		<-w.exited
		return err
	}
	w.started = true
	return nil
}

func (w *Worker) loop(ready chan<- error) {
	defer close(w.exited)
	runtime.LockOSThread()
	eff, restore, err := lockAffinity(w.cpus)
	if err != nil {
		runtime.UnlockOSThread()
		ready <- err
		return
	}
	w.effective.Store(&eff)
	ready <- nil
	for {
		select {
		case c := <-w.reqs:
			w.run(c)
		case <-w.quit:
			if err := restore(); err != nil {
				w.exitErr = err // returned by Close
				return          // exit locked: the runtime discards the thread
			}
			runtime.UnlockOSThread()
			return
		}
	}
}

func (w *Worker) run(c *call) {
	defer func() {
		if r := recover(); r != nil {
			c.panicked, c.pv = true, r
			w.panics.Add(1)
		}
		w.calls.Add(1)
		c.done <- struct{}{}
	}()
	c.fn()
}

// Do runs fn on the worker's thread and waits for it to return. ctx bounds
// only the wait for the worker to take fn; once taken, fn runs to the end.
// A panic in fn is re-raised in the caller. Do returns [ErrClosed] after
// Close and an error before Start. fn must not call Do on the same worker:
// the worker runs one call at a time, so that would wait forever.
func (w *Worker) Do(ctx context.Context, fn func()) error {
	w.mu.Lock()
	started, closed := w.started, w.closed
	w.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case !started:
		return errors.New("numa: worker not started")
	}
	c := callPool.Get().(*call)
	c.fn = fn
	select {
	case w.reqs <- c:
	case <-ctx.Done():
		c.fn = nil
		callPool.Put(c)
		return ctx.Err()
	case <-w.quit:
		c.fn = nil
		callPool.Put(c)
		return ErrClosed
	}
	<-c.done
	panicked, pv := c.panicked, c.pv
	*c = call{done: c.done}
	callPool.Put(c)
	if panicked {
		panic(pv)
	}
	return nil
}

// Close stops the worker after the call it is running, restores its
// thread's mask (the pin's CPUs while a [Pin] is in effect) and waits for its goroutine to exit. It returns the error
// from restoring the mask, if any. Close is idempotent, and safe on a nil
// or zero Worker.
func (w *Worker) Close() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	started := w.started
	if w.quit != nil { // nil in a zero Worker, which never started
		close(w.quit)
	}
	w.mu.Unlock()
	if started {
		<-w.exited
	}
	return w.exitErr
}

// Stats returns a snapshot of the worker's counters.
func (w *Worker) Stats() WorkerStats {
	w.mu.Lock()
	running := w.started && !w.closed
	w.mu.Unlock()
	s := WorkerStats{Running: running, Calls: w.calls.Load(), Panics: w.panics.Load()}
	if p := w.effective.Load(); p != nil {
		s.CPUs = slices.Clone(*p)
	} else {
		s.CPUs = slices.Clone(w.cpus)
	}
	return s
}

func sortCompact(s []int) []int {
	slices.Sort(s)
	return slices.Compact(s)
}
