package pool_test

import (
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/pool"
)

// The zero value of an option means its documented default, the same rule
// as in every gotune package.
func TestZeroOptionMeansDefault(t *testing.T) {
	p := pool.New(func() int { return 0 }, pool.WithTTL(0), pool.WithMaxIdle(0), pool.WithMaxSize(0), pool.WithReleaseOS(0))
	defer p.Close()
	if st := p.Stats(); st.TTL != pool.DefaultTTL || st.MaxIdle != pool.DefaultMaxIdle {
		t.Errorf("New(WithTTL(0), WithMaxIdle(0)): TTL %v, MaxIdle %d; want %v, %d", st.TTL, st.MaxIdle, pool.DefaultTTL, pool.DefaultMaxIdle)
	}
	def := pool.NewBuffers()
	defer def.Close()
	zero := pool.NewBuffers(pool.WithSizeClasses(0, 0), pool.WithMaxIdleBytes(0), pool.WithTTL(0), pool.WithMaxIdle(0))
	defer zero.Close()
	if got, want := zero.ClassStats(), def.ClassStats(); !reflect.DeepEqual(got, want) {
		t.Errorf("NewBuffers(zero options).ClassStats() = %+v, want the defaults' %+v", got, want)
	}
}

// NoTTL, or any negative TTL, turns expiry off.
func TestNoTTL(t *testing.T) {
	for _, d := range []time.Duration{pool.NoTTL, -time.Hour} {
		synctest.Test(t, func(t *testing.T) {
			var c counter
			p := pool.New(c.new, pool.WithTTL(d), pool.WithDestroy(c.destroy))
			defer p.Close()
			for range 3 {
				p.Put(c.new())
			}
			time.Sleep(10 * pool.DefaultTTL)
			synctest.Wait()
			if st := p.Stats(); st.Idle != 3 || st.Expired != 0 || st.TTL != pool.NoTTL {
				t.Errorf("WithTTL(%v) after 10 default TTLs: Idle %d Expired %d TTL %v; want 3, 0, NoTTL", d, st.Idle, st.Expired, st.TTL)
			}
			if s := p.Stats().String(); !strings.Contains(s, "ttl=none") {
				t.Errorf("Stats().String() = %q, want ttl=none", s)
			}
		})
	}
}

// The real sweep timer, on synctest's clock: with the default TTL an idle
// object goes no sooner than a TTL and no later than 1.25 TTL after its
// Put, and the timer disarms once the pool is empty.
func TestDefaultTTLTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c counter
		p := pool.New(c.new, pool.WithDestroy(c.destroy))
		defer p.Close()
		for range 3 {
			p.Put(c.new())
		}
		time.Sleep(pool.DefaultTTL - time.Second)
		synctest.Wait()
		if st := p.Stats(); st.Idle != 3 || st.Expired != 0 {
			t.Fatalf("just under a TTL after Put: Idle %d Expired %d, want 3, 0", st.Idle, st.Expired)
		}
		time.Sleep(pool.DefaultTTL/4 + 2*time.Second)
		synctest.Wait()
		if st := p.Stats(); st.Idle != 0 || st.Expired != 3 || c.destroyed.Load() != 3 {
			t.Errorf("1.25 TTL after Put: Idle %d Expired %d destroyed %d, want 0, 3, 3", st.Idle, st.Expired, c.destroyed.Load())
		}
		if p.Armed() {
			t.Errorf("sweep timer still armed on an empty pool")
		}
	})
}

// A class whose share of WithMaxIdleBytes is below one slice keeps
// nothing: its bound of 0 is not read as "the default".
func TestBuffersTinyShareKeepsNothing(t *testing.T) {
	b := pool.NewBuffers(pool.WithMaxIdleBytes(1))
	defer b.Close()
	for _, cs := range b.ClassStats() {
		if cs.Size > 0 && cs.Stats.MaxIdle != 0 {
			t.Errorf("NewBuffers(WithMaxIdleBytes(1)): class %d keeps up to %d, want 0", cs.Size, cs.Stats.MaxIdle)
		}
	}
}

// Each constructor takes only the options that apply to it: an element
// hook (an Option) is no BuffersOption, so NewBuffers(WithReset(...)) does
// not compile, nor New(f, WithSizeClasses(...)); the common options are
// both.
func TestOptionTypes(t *testing.T) {
	opt, buf, common := reflect.TypeFor[pool.Option](), reflect.TypeFor[pool.BuffersOption](), reflect.TypeFor[pool.CommonOption]()
	if opt.Implements(buf) {
		t.Errorf("pool.Option implements pool.BuffersOption: NewBuffers would take WithReset")
	}
	if buf.Implements(opt) {
		t.Errorf("pool.BuffersOption implements pool.Option: New would take WithSizeClasses")
	}
	if !common.Implements(opt) || !common.Implements(buf) {
		t.Errorf("pool.CommonOption is not both an Option and a BuffersOption")
	}
}
