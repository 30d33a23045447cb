package tlscache

import "time"

// timeHeap is a min-heap for container/heap of elements ordered by the time
// each carries, soonest first, keeping each element's index in the heap (-1
// once it is out) so that heap.Fix and heap.Remove find it. The refresh
// schedule and the negative cache's expiry queue are both one.
type timeHeap[T heapItem] []T

// heapItem is an element of a timeHeap.
type heapItem interface {
	heapTime() time.Time
	heapIndex() *int
}

func (h timeHeap[T]) Len() int           { return len(h) }
func (h timeHeap[T]) Less(i, j int) bool { return h[i].heapTime().Before(h[j].heapTime()) }
func (h timeHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	*h[i].heapIndex() = i
	*h[j].heapIndex() = j
}

func (h *timeHeap[T]) Push(x any) {
	e := x.(T)
	*e.heapIndex() = len(*h)
	*h = append(*h, e)
}

func (h *timeHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	var zero T
	old[len(old)-1] = zero
	*h = old[:len(old)-1]
	*e.heapIndex() = -1
	return e
}
