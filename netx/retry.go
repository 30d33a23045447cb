package netx

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// RetryPolicy configures the retries of [WithRetry]. Zero fields take the
// defaults given.
//
// Only idempotent requests are retried: GET, HEAD, OPTIONS, TRACE, PUT and
// DELETE, or any method carrying an Idempotency-Key or X-Idempotency-Key
// header, and only when the body can be sent again (no body, or
// [http.Request.GetBody] set, as [http.NewRequest] does for in-memory
// bodies). A retry follows a transport error (not the caller's own
// cancellation, not [ErrCircuitOpen]) or a 429, 502, 503 or 504 response.
//
// The wait before a retry is the response's Retry-After if it has one,
// else exponential back-off with full jitter; either is capped at MaxDelay,
// and no retry is made whose wait would end past the request's context
// deadline (the last response or error is returned instead).
//
// Retries draw on a budget so that a failing backend does not get its load
// multiplied: every request adds BudgetRatio of a token (up to 10 tokens
// banked), every retry takes one, and MinRetriesPerSecond are allowed
// regardless so that a quiet client can still retry.
type RetryPolicy struct {
	// MaxAttempts is the total number of tries, the first included.
	// Default 3.
	MaxAttempts int
	// BaseDelay is the first back-off step. Default 50ms.
	BaseDelay time.Duration
	// MaxDelay caps back-off and Retry-After. Default 2s.
	MaxDelay time.Duration
	// BudgetRatio is the fraction of requests that may be retried.
	// Default 0.1.
	BudgetRatio float64
	// MinRetriesPerSecond is the budget's floor. Default 3.
	MinRetriesPerSecond int
}

type retrier struct {
	p RetryPolicy

	mu     sync.Mutex
	tokens float64
	floor  *rate.Limiter

	retries atomic.Uint64
	denied  atomic.Uint64
}

const maxBankedRetries = 10

func newRetrier(p RetryPolicy) *retrier {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 50 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 2 * time.Second
	}
	if p.BudgetRatio <= 0 {
		p.BudgetRatio = 0.1
	}
	if p.MinRetriesPerSecond <= 0 {
		p.MinRetriesPerSecond = 3
	}
	return &retrier{
		p:     p,
		floor: rate.NewLimiter(rate.Limit(p.MinRetriesPerSecond), p.MinRetriesPerSecond),
	}
}

func (r *retrier) deposit() {
	r.mu.Lock()
	r.tokens = min(r.tokens+r.p.BudgetRatio, maxBankedRetries)
	r.mu.Unlock()
}

func (r *retrier) withdraw() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tokens >= 1 {
		r.tokens--
		return true
	}
	return r.floor.Allow()
}

func (r *retrier) do(req *http.Request, attempt func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	r.deposit()
	if !retryableRequest(req) {
		return attempt(req)
	}
	ctx := req.Context()
	try := req
	for n := 1; ; n++ {
		resp, err := attempt(try)
		if n >= r.p.MaxAttempts || !retryableResult(req, resp, err) {
			return resp, err
		}
		wait := backoff(r.p.BaseDelay, n)
		if resp != nil {
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait = ra
			}
		}
		wait = min(wait, r.p.MaxDelay)
		if dl, ok := ctx.Deadline(); ok && !time.Now().Add(wait).Before(dl) {
			r.denied.Add(1)
			return resp, err
		}
		if !r.withdraw() {
			r.denied.Add(1)
			return resp, err
		}
		next := req.Clone(ctx)
		if req.Body != nil && req.Body != http.NoBody {
			body, gerr := req.GetBody()
			if gerr != nil {
				return resp, err
			}
			next.Body = body
		}
		if resp != nil {
			drain(resp.Body)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		r.retries.Add(1)
		try = next
	}
}

// drain reads a little of a discarded body so its connection can be
// reused, then closes it.
func drain(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, 4<<10)
	_ = b.Close()
}

func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt-1, 20)
	if d <= 0 {
		d = base
	}
	return time.Duration(rand.Int64N(int64(d)) + 1) // full jitter
}

func retryableRequest(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	_, k1 := req.Header["Idempotency-Key"]
	_, k2 := req.Header["X-Idempotency-Key"]
	return k1 || k2
}

func retryableResult(req *http.Request, resp *http.Response, err error) bool {
	if err != nil {
		return !callerCanceled(req, err) && !errors.Is(err, ErrCircuitOpen) &&
			req.Context().Err() == nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxRetryAfter bounds what parseRetryAfter returns so arithmetic on it
// cannot overflow; callers cap it far lower.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header value: delay-seconds or an
// HTTP-date (RFC 9110, section 10.2.3). It reports false for an empty or
// malformed value. Dates in the past give zero.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
		}
		if len(v) > 6 { // more than 11 days; the cap applies anyway
			return maxRetryAfter, true
		}
		secs, err := strconv.Atoi(v)
		if err != nil {
			return 0, false
		}
		return min(time.Duration(secs)*time.Second, maxRetryAfter), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return min(d, maxRetryAfter), true
}
