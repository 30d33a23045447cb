package numa

import "testing"

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
