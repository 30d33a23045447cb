package pool_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/gotune/gotune/gcguard"
	"github.com/gotune/gotune/pool"
)

func Example() {
	type frame struct{ data [512]byte }
	frames := pool.New(func() *frame { return new(frame) },
		pool.WithTTL(30*time.Second), // idle frames go after 30 s, GC or not
		pool.WithMaxIdle(256),        // never more than 256 idle frames
	)
	defer frames.Close()

	f := frames.Get()
	f.data[0] = 1
	frames.Put(f)

	st := frames.Stats()
	fmt.Println("gets:", st.Gets, "news:", st.News, "idle:", st.Idle, "of", st.MaxIdle)
	// Output: gets: 1 news: 1 idle: 1 of 256
}

func ExampleNew_buffer() {
	bufs := pool.New(func() *bytes.Buffer { return new(bytes.Buffer) },
		pool.WithReset((*bytes.Buffer).Reset),
		pool.WithSize((*bytes.Buffer).Cap),
		pool.WithMaxSize(1<<20), // a buffer that grew past 1 MiB is not kept
	)
	defer bufs.Close()

	b := bufs.Get()
	b.WriteString("hello")
	fmt.Println(b.String())
	bufs.Put(b)

	huge := bytes.NewBuffer(make([]byte, 0, 4<<20))
	bufs.Put(huge)
	fmt.Println("oversized drops:", bufs.Stats().DropsOversized)
	// Output:
	// hello
	// oversized drops: 1
}

func ExampleBuffers() {
	bufs := pool.NewBuffers(pool.WithMaxIdleBytes(64 << 20))
	defer bufs.Close()

	// A sized []byte, for reading a body of known length.
	p := bufs.Get(3000)
	fmt.Println(len(*p), cap(*p))
	bufs.Put(p)

	// A *bytes.Buffer, for rendering a response.
	b := bufs.GetBuffer()
	fmt.Fprintf(b, "status=%s", "ok")
	fmt.Println(b.String())
	bufs.PutBuffer(b)
	// Output:
	// 3000 4096
	// status=ok
}

func ExampleGroup() {
	var g pool.Group
	a := pool.New(func() []byte { return make([]byte, 0, 1024) }, pool.WithGroup(&g))
	defer a.Close()
	a.Put(a.Get())

	// DropOn makes the group a callback for a graded level: here
	// gcguard's, called directly as Guard.OnLevel would call it.
	onLevel := pool.DropOn(&g, gcguard.LevelElevated)
	onLevel(gcguard.LevelOK)
	fmt.Println("idle at ok:", a.Stats().Idle)
	onLevel(gcguard.LevelCritical)
	fmt.Println("idle at critical:", a.Stats().Idle)
	// Output:
	// idle at ok: 1
	// idle at critical: 0
}

// gcguard's level plugs into a pool.Group and a pool without adapters.
func ExampleDropOn() {
	guard, err := gcguard.Start(gcguard.WithMemoryTarget(1<<30), gcguard.WithDryRun())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer guard.Stop()

	var group pool.Group
	cancel := guard.OnLevel(pool.DropOn(&group, gcguard.LevelElevated)) // pushed on each change
	defer cancel()

	frames := pool.New(func() []byte { return make([]byte, 0, 512) },
		pool.WithGroup(&group),
		pool.WithPressure(guard.Level, gcguard.LevelCritical)) // polled at each sweep
	defer frames.Close()
	frames.Put(frames.Get())
	fmt.Println("members:", group.Len(), "idle:", frames.Stats().Idle)
	// Output: members: 1 idle: 1
}
