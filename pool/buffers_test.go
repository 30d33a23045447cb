package pool_test

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/pool"
)

func TestBuffersGetSizes(t *testing.T) {
	b := pool.NewBuffers(pool.WithSizeClasses(64, 4096))
	defer b.Close()
	tests := []struct{ n, wantCap int }{
		{0, 64}, {1, 64}, {64, 64}, {65, 128}, {1000, 1024}, {4096, 4096}, {4097, 4097},
	}
	for _, tc := range tests {
		p := b.Get(tc.n)
		if len(*p) != tc.n || cap(*p) != tc.wantCap {
			t.Errorf("Get(%d) = len %d cap %d, want len %d cap %d", tc.n, len(*p), cap(*p), tc.n, tc.wantCap)
		}
		b.Put(p)
	}
	st := b.Stats()
	// Gets of 0, 1 and 64 share one 64-byte slice; 4097 is above the
	// largest class: allocated, not kept.
	if st.Gets != 7 || st.Hits != 2 || st.Puts != 7 || st.Idle != 4 || st.DropsOversized != 1 {
		t.Errorf("Stats() = %+v, want Gets=7 Hits=2 Puts=7 Idle=4 DropsOversized=1", st)
	}
	if want := int64(64 + 128 + 1024 + 4096); st.IdleBytes != want {
		t.Errorf("IdleBytes = %d, want %d", st.IdleBytes, want)
	}
}

func TestBuffersReuse(t *testing.T) {
	b := pool.NewBuffers()
	defer b.Close()
	p := b.Get(1000)
	copy(*p, "hello")
	b.Put(p)
	q := b.Get(700) // same class (1024)
	if q != p {
		t.Errorf("Get(700) after Put of a 1024-byte slice returned a new slice, want the same one")
	}
	// A slice that grew by append goes to the class its capacity covers.
	g := make([]byte, 0, 3000)
	b.Put(&g)
	if r := b.Get(2048); r != &g || cap(*r) != 3000 {
		t.Errorf("Get(2048) after Put of cap 3000 = cap %d, want the grown slice", cap(*r))
	}
	b.Put(nil) // no panic
}

func TestBuffersByteBound(t *testing.T) {
	const budget = 1 << 20
	b := pool.NewBuffers(pool.WithMaxIdleBytes(budget), pool.WithMaxIdle(1<<20))
	defer b.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 2000 {
				b.Put(b.Get(64 << (i % 11)))
				s := make([]byte, 64<<(i%11))
				b.Put(&s)
				buf := b.GetBuffer()
				buf.Write(make([]byte, 64<<(i%11)))
				b.PutBuffer(buf)
			}
		})
	}
	wg.Wait()
	var sum int64
	for _, c := range b.ClassStats() {
		if c.Size == 0 { // *bytes.Buffer side: bounded by count and size
			if c.Stats.IdleBytes > int64(c.Stats.MaxIdle)*64<<10 {
				t.Errorf("*bytes.Buffer IdleBytes = %d, want <= %d buffers of 64 KiB", c.Stats.IdleBytes, c.Stats.MaxIdle)
			}
			continue
		}
		sum += c.Stats.IdleBytes
	}
	if sum > budget || sum == 0 {
		t.Errorf("sum of []byte classes' IdleBytes = %d, want in (0, %d]", sum, budget)
	}
}

func TestBuffersCalibration(t *testing.T) {
	b := pool.NewBuffers(pool.WithMaxIdleBytes(64 << 20))
	defer b.Close()
	// Mostly 3 KiB bodies, a few 60 KiB ones.
	for i := range 100_000 {
		buf := b.GetBuffer()
		n := 3000
		if i%50 == 0 {
			n = 60_000
		}
		buf.Write(make([]byte, n))
		b.PutBuffer(buf)
	}
	b.DropIdle()
	buf := b.GetBuffer()
	if buf.Cap() != 4096 {
		t.Errorf("new buffer after calibration has cap %d, want 4096 (the common class)", buf.Cap())
	}
	buf.Write(make([]byte, 60_000))
	before := b.Stats().DropsOversized
	b.PutBuffer(buf)
	if b.Stats().DropsOversized != before+1 {
		t.Errorf("PutBuffer of a 64 KiB buffer above the 95th percentile was kept, want dropped")
	}
	small := b.GetBuffer()
	small.WriteString("x")
	b.PutBuffer(small)
	if got := b.GetBuffer(); got != small || got.Len() != 0 {
		t.Errorf("GetBuffer after PutBuffer = %p len %d, want the reset buffer %p", got, got.Len(), small)
	}
}

func TestBuffersTTL(t *testing.T) {
	b := pool.NewBuffers(pool.WithTTL(10 * time.Millisecond))
	defer b.Close()
	for range 10 {
		b.Put(b.Get(8000))
		b.PutBuffer(b.GetBuffer())
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.Stats().Idle > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := b.Stats(); st.Idle != 0 || st.Expired == 0 {
		t.Errorf("after TTL, Stats() = %+v, want Idle=0 and Expired>0", st)
	}
}

func TestBuffersOptionPanics(t *testing.T) {
	tests := []struct {
		name string
		opts []pool.BuffersOption
		want string
	}{
		{"classes reversed", []pool.BuffersOption{pool.WithSizeClasses(1024, 64)}, "WithSizeClasses(1024, 64)"},
		{"negative class", []pool.BuffersOption{pool.WithSizeClasses(-1, 64)}, "WithSizeClasses(-1, 64)"},
		{"negative bytes", []pool.BuffersOption{pool.WithMaxIdleBytes(-1)}, "WithMaxIdleBytes(-1)"},
		{"negative idle", []pool.BuffersOption{pool.WithMaxIdle(-1)}, "WithMaxIdle(-1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "pool: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("NewBuffers(%s) panicked with %q, want a pool: message naming %q", tc.name, msg, tc.want)
				}
			}()
			pool.NewBuffers(tc.opts...).Close()
		})
	}
}

func TestBuffersGroup(t *testing.T) {
	var g pool.Group
	b := pool.NewBuffers(pool.WithGroup(&g))
	defer b.Close()
	b.Put(b.Get(100))
	b.PutBuffer(b.GetBuffer())
	if n := g.DropIdle(); n != 2 {
		t.Errorf("Group.DropIdle() = %d, want 2", n)
	}
}

// TestBuffersCalibrationDrained checks calibration when callers drain the
// buffer before PutBuffer (WriteTo, io.Copy): Len is then 0, and sampling
// it set the kept maximum to the smallest class, so almost every buffer
// that had grown was dropped as oversized.
func TestBuffersCalibrationDrained(t *testing.T) {
	b := pool.NewBuffers()
	defer b.Close()
	payload := make([]byte, 1000)
	const rounds = 50_000
	for range rounds {
		buf := b.GetBuffer()
		buf.Write(payload)
		if _, err := buf.WriteTo(io.Discard); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		b.PutBuffer(buf)
	}
	st := b.ClassStats()
	bs := st[len(st)-1].Stats // the *bytes.Buffer side
	if bs.Hits < rounds*9/10 || bs.DropsOversized > rounds/10 {
		t.Errorf("%d rounds of write 1000 B, WriteTo, PutBuffer: hits %d, news %d, oversized %d; want hits >= 90%% and oversized <= 10%%",
			rounds, bs.Hits, bs.News, bs.DropsOversized)
	}
}

// TestBuffersByteBoundGrown checks WithMaxIdleBytes against slices that
// grew by append: a class of size S holds capacities from S up to 2S-1,
// so counting each class's bound in class sizes let the idle bytes reach
// about twice the bound.
func TestBuffersByteBoundGrown(t *testing.T) {
	const budget = 4 << 20
	b := pool.NewBuffers(pool.WithMaxIdleBytes(budget), pool.WithMaxIdle(1<<20))
	defer b.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3000 {
				size := 64 << ((i + g) % 11)
				s := make([]byte, size)
				s = append(s, make([]byte, size-1)...) // cap well above size, not a power of two
				b.Put(&s)
				grown := make([]byte, 0, 2*size-1)
				b.Put(&grown)
			}
		})
	}
	wg.Wait()
	st := b.Stats()
	if st.IdleBytes > budget || st.Idle == 0 {
		t.Errorf("after a Put storm of append-grown slices, Stats().IdleBytes = %d (Idle %d), want in (0, %d]", st.IdleBytes, st.Idle, budget)
	}
}
