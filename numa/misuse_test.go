package numa

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Close on a nil or zero Worker, and twice, does nothing and returns nil.
func TestWorkerCloseNilZeroTwice(t *testing.T) {
	var nilWorker *Worker
	if err := nilWorker.Close(); err != nil {
		t.Errorf("nil Worker Close() = %v, want nil", err)
	}
	var zero Worker
	for range 2 {
		if err := zero.Close(); err != nil {
			t.Errorf("zero Worker Close() = %v, want nil", err)
		}
	}
	w, err := NewWorker([]int{0})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.Close(); err != nil {
			t.Errorf("unstarted Worker Close() = %v, want nil", err)
		}
	}
	if err := w.Start(); err != ErrClosed {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
}

// Each function takes its own option type: an option meant for one does
// not satisfy another's (the compiler refuses the call), and the shared
// ones satisfy exactly the functions they document.
func TestOptionTypes(t *testing.T) {
	discover := reflect.TypeFor[DiscoverOption]()
	pin := reflect.TypeFor[PinOption]()
	collector := reflect.TypeFor[CollectorOption]()
	for _, tc := range []struct {
		name string
		opt  any
		want []reflect.Type
	}{
		{"WithRoot", WithRoot("/"), []reflect.Type{discover, pin}},
		{"WithLogger", WithLogger(nil), []reflect.Type{pin, collector}},
		{"WithCPUs", WithCPUs(0), []reflect.Type{pin}},
		{"WithMemPolicy", WithMemPolicy(MemBind), []reflect.Type{pin}},
		{"WithoutGOMAXPROCS", WithoutGOMAXPROCS(), []reflect.Type{pin}},
		{"WithReport", WithReport(nil), []reflect.Type{pin}},
		{"WithMinInterval", WithMinInterval(0), []reflect.Type{collector}},
	} {
		typ := reflect.TypeOf(tc.opt)
		for _, it := range []reflect.Type{discover, pin, collector} {
			if got, want := typ.Implements(it), slices.Contains(tc.want, it); got != want {
				t.Errorf("%s implements %v = %v, want %v", tc.name, it, got, want)
			}
		}
	}
}

// ErrUnsupported is errors.ErrUnsupported for callers that test the
// standard sentinel.
func TestErrUnsupportedWraps(t *testing.T) {
	if !errors.Is(ErrUnsupported, errors.ErrUnsupported) {
		t.Errorf("errors.Is(ErrUnsupported, errors.ErrUnsupported) = false")
	}
}

// Zero and negative intervals: zero is the default, negative rereads on
// every scrape.
func TestMinIntervalValues(t *testing.T) {
	for _, tc := range []struct {
		in, want time.Duration
	}{{0, DefaultMinInterval}, {-1, 0}, {time.Second, time.Second}} {
		if got := newCollectorConfig([]CollectorOption{WithMinInterval(tc.in)}).minInterval; got != tc.want {
			t.Errorf("WithMinInterval(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
