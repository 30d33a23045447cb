package netx

import (
	"io"
	"time"
)

// Progress defaults. A response write that moves no byte for 15s is a
// client that stopped reading (or a peer that vanished): TCP's own
// retransmission gives up on a live but lossy path well within that, and
// nginx's send_timeout (60s) is sized for modem-era links. A request body
// gets 10s to start plus one second per KiB received, Apache
// mod_reqtimeout's scheme ("body=10,MinRate=1024"): a client uploading at
// 8 kbit/s keeps going, a trickle of a byte a second is cut after about 10s
// instead of holding a connection and an in-flight slot until ReadTimeout.
const (
	defaultWriteStall   = 15 * time.Second
	defaultBodyGrace    = 10 * time.Second
	defaultBodyMinRate  = 1024 // bytes per second
	rearmWriteFraction  = 4    // re-arm the write deadline after a quarter of it has passed
	rearmBodyStepBudget = time.Second
)

// WithProgressTimeouts ends responses and request bodies that stop making
// progress, freeing their in-flight slots and connections (each counted in
// [ServerStats]): a response whose writes move nothing for writeStall
// (default 15s), and a request body arriving slower than minBodyRate bytes
// per second after a 10s start (default 1024). Zero means the default,
// negative switches that check off. Neither ever extends the server's
// ReadTimeout or WriteTimeout, which stay the bounds on the whole request
// and response; streaming handlers that extend their deadline with
// [http.ResponseController] should switch writeStall off.
func WithProgressTimeouts(writeStall time.Duration, minBodyRate int) ServerOption {
	return serverOption(func(c *serverConfig) {
		c.writeStall, c.minBodyRate = writeStall, minBodyRate
	})
}

// deadliner is what net/http's HTTP/1 and HTTP/2 response writers offer
// (http.ResponseController uses the same methods).
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// armWrite moves the write deadline to now + writeStall, never past the
// server's WriteTimeout for this request, at most every quarter stall.
func (w *responseWriter) armWrite(now time.Time) {
	stall := w.g.writeStall
	if stall <= 0 || w.dl == nil {
		return
	}
	if !w.armedAt.IsZero() && now.Sub(w.armedAt) < stall/rearmWriteFraction {
		return
	}
	d := now.Add(stall)
	if wt := w.g.writeTimeout.Load(); wt > 0 {
		if total := w.start.Add(time.Duration(wt)); total.Before(d) {
			d = total
			w.stallArmed = false
		} else {
			w.stallArmed = true
		}
	} else {
		w.stallArmed = true
	}
	if w.dl.SetWriteDeadline(d) == nil {
		w.armedAt, w.writeDeadline = now, d
	}
}

// noteWriteErr counts a write ended by the stall deadline.
func (w *responseWriter) noteWriteErr(err error) {
	if err == nil || !w.stallArmed || w.stalled || w.writeDeadline.IsZero() {
		return
	}
	if !time.Now().Before(w.writeDeadline) {
		w.stalled = true
		w.g.writeStalls.Add(1)
	}
}

// progressBody enforces the minimum body rate with read deadlines.
type progressBody struct {
	rc       io.ReadCloser
	rw       *responseWriter
	read     int64
	deadline time.Time
	rated    bool // deadline set by the rate, not by ReadTimeout
	counted  bool
}

func (b *progressBody) arm(now time.Time) {
	g := b.rw.g
	d := b.rw.start.Add(g.bodyGrace + time.Duration(b.read)*time.Second/time.Duration(g.minBodyRate))
	if !b.deadline.IsZero() && d.Sub(b.deadline) < rearmBodyStepBudget {
		return // moves less than a second: not worth a syscall
	}
	rated := true
	if rt := g.readTimeout.Load(); rt > 0 {
		if total := b.rw.start.Add(time.Duration(rt)); total.Before(d) {
			d, rated = total, false
		}
	}
	if b.rw.dl.SetReadDeadline(d) == nil {
		b.deadline, b.rated = d, rated
	}
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if err == nil {
		now := time.Now()
		b.arm(now)
		b.markSlow(now)
	} else if err != io.EOF && b.rated && !b.counted && !time.Now().Before(b.deadline) {
		b.counted = true
		b.rw.g.slowBodies.Add(1)
	}
	return n, err
}

func (b *progressBody) Close() error {
	if tc := b.tc(); tc != nil {
		tc.slowBody.Store(false)
	}
	return b.rc.Close()
}

func (b *progressBody) tc() *trackedConn {
	if b.rw.cs == nil {
		return nil
	}
	return b.rw.cs.tc
}

// slowJudgeAfter is how long a body is watched before its connection can
// be marked slow: long enough to average over a few round trips.
const slowJudgeAfter = 500 * time.Millisecond

// markSlow marks the connection evictable while its body arrives below the
// minimum rate (judged from the first half second on, well before the grace
// that ends the body), so that under a flood of slow uploads the limit on
// connections can make room for clients that send their requests.
func (b *progressBody) markSlow(now time.Time) {
	tc := b.tc()
	if tc == nil {
		return
	}
	el := now.Sub(b.rw.start)
	if el < slowJudgeAfter {
		return
	}
	slow := float64(b.read) < float64(b.rw.g.minBodyRate)*el.Seconds()
	if tc.slowBody.Load() != slow {
		tc.slowBody.Store(slow)
	}
}
