package pool

import (
	"bytes"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
)

// Default size classes and byte bound of [Buffers].
const (
	DefaultMinClass     = 64
	DefaultMaxClass     = 64 << 10
	DefaultMaxIdleBytes = 32 << 20
)

// Calibration of the *bytes.Buffer side, after valyala/bytebufferpool:
// every PutBuffer has a 1 in calibrateSample chance to record how large
// the buffer got; after calibrateEvery samples the most common class
// becomes the capacity of new buffers and the 95th percentile the largest
// capacity kept. Sampling keeps the histogram's shared counters off the
// hot path; bytebufferpool increments one on every Put.
//
// The sample is the buffer's length when it holds data, and its capacity
// when it is empty. The length is what the caller needed, so a buffer that
// one large request grew is dropped once most requests are small again
// (sampling capacities alone would let such a buffer, reused by small
// requests, calibrate the pool up to its size and keep it forever). But a
// caller that drains the buffer before PutBuffer (WriteTo, io.Copy)
// leaves length 0, and sampling that calibrated the kept maximum down to
// the smallest class, so nearly every buffer was dropped as oversized;
// for an empty buffer the capacity it grew to is the only trace of what
// it held.
const (
	calibrateSample = 16
	calibrateEvery  = 1024
	calibratePct    = 0.95
)

// Buffers is a pool of byte slices and *bytes.Buffer values in power-of-two
// size classes, built on [Pool]: each class is a Pool with the TTL, idle
// bound and statistics described there. The []byte classes together keep
// at most [WithMaxIdleBytes] bytes idle, counted by capacity, whatever
// capacities are Put; the *bytes.Buffer side keeps at most [WithMaxIdle]
// buffers, none larger than the largest class.
//
// For []byte, Get(n) returns a *[]byte of length n from the smallest class
// that fits, and Put returns it to the class its capacity fits; a pointer
// is used so Get and Put do not allocate. Requests larger than the largest
// class are allocated and never kept.
//
// For *bytes.Buffer, GetBuffer and PutBuffer work like a sync.Pool of
// buffers that calibrates itself: new buffers start at the size most
// buffers reach, and buffers that grew past the 95th percentile are not
// kept. The size of a buffer Put with data in it is its length; of one
// Put empty (drained by WriteTo or io.Copy), its capacity.
//
// All methods are safe for concurrent use. A Buffers must be made with
// [NewBuffers].
type Buffers struct {
	minShift int
	classes  []*Pool[*[]byte]
	bufs     *Pool[*bytes.Buffer]
	maxClass int

	foreign atomic.Uint64 // Puts of slices outside every class
	bigGets atomic.Uint64 // Gets larger than the largest class

	hist        []atomic.Uint64 // sampled PutBuffer lengths by class
	samples     atomic.Uint64
	calibrating atomic.Bool
	newSize     atomic.Int64 // capacity of a new *bytes.Buffer
}

// ClassStats is one size class's statistics in [Buffers.ClassStats].
type ClassStats struct {
	Size  int   `json:"size"` // the class's capacity in bytes; 0 for *bytes.Buffer
	Stats Stats `json:"stats"`
}

// NewBuffers returns a buffer pool. It takes the common options
// [WithTTL], [WithMaxIdle] (per class), [WithName], [WithLogger],
// [WithGroup], [WithPressure] and [WithReleaseOS], and the buffer options
// [WithSizeClasses] and [WithMaxIdleBytes]; the element hooks are its
// own. It panics on invalid size classes or a negative bound.
func NewBuffers(opts ...BuffersOption) *Buffers {
	c := defaultConfig()
	c.minClass, c.maxClass, c.maxIdleBytes = DefaultMinClass, DefaultMaxClass, DefaultMaxIdleBytes
	for _, o := range opts {
		if o != nil {
			o.applyBuffers(&c)
		}
	}
	if c.minClass <= 0 || c.maxClass < c.minClass {
		panic(fmt.Sprintf("pool: WithSizeClasses(%d, %d): want 0 < min <= max", c.minClass, c.maxClass))
	}
	if c.maxIdleBytes < 0 {
		panic(fmt.Sprintf("pool: WithMaxIdleBytes(%d): bound must not be negative", c.maxIdleBytes))
	}
	minShift := bits.Len(uint(c.minClass - 1))
	maxShift := bits.Len(uint(c.maxClass - 1))
	n := maxShift - minShift + 1
	b := &Buffers{minShift: minShift, maxClass: 1 << maxShift, hist: make([]atomic.Uint64, n)}
	share := c.maxIdleBytes / int64(n)
	group := c.group
	c.group = nil // the Buffers joins the group, not each class
	base := make([]Option, 0, len(opts)+4)
	base = append(base, optionFunc(func(d *config) { *d = c; d.trusted = true }))
	for i := range n {
		size := 1 << (minShift + i)
		// Put files a slice under the largest class its capacity covers,
		// so a class holds capacities up to 2*size-1 (the largest class
		// exactly size): bound the count by the largest capacity, so the
		// class's bytes, not just its count times size, fit the share.
		largest := int64(2*size - 1)
		if i == n-1 {
			largest = int64(size)
		}
		maxIdle := int(min(int64(c.maxIdle), share/largest))
		b.classes = append(b.classes, New(func() *[]byte {
			s := make([]byte, 0, size)
			return &s
		}, append(base,
			exactMaxIdle(maxIdle),
			WithSize(func(p *[]byte) int { return cap(*p) }),
			WithName(fmt.Sprintf("%s/%d", c.name, size)),
		)...))
	}
	b.newSize.Store(int64(1 << minShift))
	b.bufs = New(func() *bytes.Buffer {
		return bytes.NewBuffer(make([]byte, 0, int(b.newSize.Load())))
	}, append(base,
		exactMaxIdle(c.maxIdle),
		WithReset(func(buf *bytes.Buffer) { buf.Reset() }),
		WithSize(func(buf *bytes.Buffer) int { return buf.Cap() }),
		WithMaxSize(b.maxClass),
		WithName(c.name+"/buffer"),
	)...)
	if group != nil {
		group.Add(b)
	}
	return b
}

// class returns the index of the smallest class holding n bytes, or -1.
func (b *Buffers) class(n int) int {
	if n > b.maxClass {
		return -1
	}
	if n <= 1<<b.minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - b.minShift
}

// Get returns a slice of length n (its capacity is n rounded up to a
// power of two). Its contents are not zeroed: they are whatever the last
// user left. Return it with [Buffers.Put].
func (b *Buffers) Get(n int) *[]byte {
	if n < 0 {
		panic(fmt.Sprintf("pool: Buffers.Get(%d): negative length", n))
	}
	i := b.class(n)
	if i < 0 {
		b.bigGets.Add(1)
		s := make([]byte, n)
		return &s
	}
	p := b.classes[i].Get()
	*p = (*p)[:n]
	return p
}

// Put returns a slice obtained from Get (or any *[]byte). It is kept in
// the largest class its capacity covers, so a slice that grew by append
// still finds a home; one smaller than the smallest class or larger than
// the largest, or nil, is dropped.
func (b *Buffers) Put(p *[]byte) {
	if p == nil {
		return
	}
	c := cap(*p)
	i := bits.Len(uint(c)) - 1 - b.minShift
	if c == 0 || c > b.maxClass || i < 0 {
		b.foreign.Add(1)
		return
	}
	*p = (*p)[:0]
	b.classes[i].Put(p)
}

// GetBuffer returns an empty *bytes.Buffer. Return it with PutBuffer.
func (b *Buffers) GetBuffer() *bytes.Buffer {
	return b.bufs.Get()
}

// PutBuffer resets buf and keeps it unless its capacity is above the
// calibrated 95th percentile (and never above the largest class).
func (b *Buffers) PutBuffer(buf *bytes.Buffer) {
	if buf == nil {
		return
	}
	if rand.Uint32N(calibrateSample) == 0 {
		n := buf.Len()
		if n == 0 { // drained (or unused): the capacity is what it held
			n = buf.Cap()
		}
		b.sample(n)
	}
	b.bufs.Put(buf)
}

func (b *Buffers) sample(n int) {
	i := b.class(n)
	if i < 0 {
		i = len(b.hist) - 1
	}
	b.hist[i].Add(1)
	if b.samples.Add(1)%calibrateEvery == 0 && b.calibrating.CompareAndSwap(false, true) {
		b.calibrate()
		b.calibrating.Store(false)
	}
}

// calibrate sets the capacity of new buffers to the most common class and
// the kept maximum to the 95th percentile, then halves the histogram so it
// follows changes in the workload.
func (b *Buffers) calibrate() {
	counts := make([]uint64, len(b.hist))
	var total uint64
	best := 0
	for i := range b.hist {
		counts[i] = b.hist[i].Load()
		total += counts[i]
		if counts[i] > counts[best] {
			best = i
		}
		b.hist[i].Store(counts[i] / 2)
	}
	if total == 0 {
		return
	}
	limit := uint64(float64(total) * calibratePct)
	var sum uint64
	pct := len(counts) - 1
	for i, n := range counts {
		sum += n
		if sum >= limit {
			pct = i
			break
		}
	}
	b.newSize.Store(int64(1) << (b.minShift + best))
	b.bufs.maxSize.Store(int64(1) << (b.minShift + pct))
}

// DropIdle drops every idle buffer now and returns how many; see
// [Pool.DropIdle].
func (b *Buffers) DropIdle() int {
	n := b.bufs.DropIdle()
	for _, c := range b.classes {
		n += c.DropIdle()
	}
	return n
}

// Close closes every class; see [Pool.Close]. It is safe on a nil Buffers
// and more than once.
func (b *Buffers) Close() {
	if b == nil {
		return
	}
	b.bufs.Close()
	for _, c := range b.classes {
		c.Close()
	}
}

// Stats returns the sum over all classes and the *bytes.Buffer pool.
// Slices Put from outside every class count as DropsOversized, and Gets
// larger than the largest class as Gets and News.
func (b *Buffers) Stats() Stats {
	var s Stats
	for _, c := range b.ClassStats() {
		s.add(c.Stats)
	}
	big, foreign := b.bigGets.Load(), b.foreign.Load()
	s.Gets += big
	s.News += big
	s.Puts += foreign
	s.DropsOversized += foreign
	st := b.bufs.Stats()
	s.TTL, s.Closed = st.TTL, st.Closed
	return s
}

// ClassStats returns each class's statistics, smallest first, then the
// *bytes.Buffer pool's with Size 0.
func (b *Buffers) ClassStats() []ClassStats {
	out := make([]ClassStats, 0, len(b.classes)+1)
	for i, c := range b.classes {
		out = append(out, ClassStats{Size: 1 << (b.minShift + i), Stats: c.Stats()})
	}
	return append(out, ClassStats{Stats: b.bufs.Stats()})
}

// exactMaxIdle sets the idle bound as given: unlike [WithMaxIdle], 0 keeps
// nothing, which a size class whose share is below one slice needs.
func exactMaxIdle(n int) Option {
	return poolOption(func(c *config) { c.maxIdle = n })
}
