package objstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrTimeout is wrapped by the error of an S3 request that did not finish
// within its time budget (S3Config.RequestTimeout + bytes /
// MinThroughput). Such an error also wraps context.DeadlineExceeded, so
// IsRetryable retries it; a timed-out conditional put wraps ErrAmbiguous
// as well (the write may have happened).
var ErrTimeout = errors.New("request timed out")

// timeoutError is the error of a timed-out request.
type timeoutError struct {
	op, key  string
	budget   time.Duration
	endpoint string
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("s3 %s %q: no complete answer from %s within %s: %v (raise SILT_S3_REQUEST_TIMEOUT or lower SILT_S3_MIN_THROUGHPUT if the endpoint is just slow)",
		e.op, e.key, e.endpoint, e.budget.Round(time.Millisecond), ErrTimeout)
}

func (e *timeoutError) Unwrap() []error { return []error{ErrTimeout, context.DeadlineExceeded} }

// reqTimer bounds one request: it cancels the request's context when the
// budget runs out. The budget can be re-armed when the request learns how
// many bytes it moves (a GET's body) or makes progress (a listing's
// pages).
type reqTimer struct {
	s      *S3
	cancel context.CancelFunc

	mu     sync.Mutex
	timer  *time.Timer
	budget time.Duration
	fired  bool
}

// startRequest returns a context bounded by the budget of a request
// moving n bytes (0: unknown or none). Call done when the request,
// including reading its body, is over.
func (s *S3) startRequest(ctx context.Context, n int64) (context.Context, *reqTimer) {
	rctx, cancel := context.WithCancel(ctx)
	t := &reqTimer{s: s, cancel: cancel}
	t.arm(n)
	return rctx, t
}

// arm (re)starts the budget for n bytes from now.
func (t *reqTimer) arm(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fired {
		return
	}
	t.budget = t.s.cfg.requestTimeout(n)
	if t.timer != nil {
		// Re-arm (a listing does this per object: no new timer each time).
		// A timer that already fired has cancelled the request.
		if t.timer.Stop() {
			t.timer.Reset(t.budget)
		}
		return
	}
	t.timer = time.AfterFunc(t.budget, func() {
		t.mu.Lock()
		t.fired = true
		t.mu.Unlock()
		t.cancel()
	})
}

// done releases the timer.
func (t *reqTimer) done() {
	t.mu.Lock()
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()
	t.cancel()
}

// timedOut returns the timeout error when the budget ran out and the
// caller's own ctx is still live; otherwise nil.
func (t *reqTimer) timedOut(parent context.Context, op, key string) error {
	t.mu.Lock()
	fired, budget := t.fired, t.budget
	t.mu.Unlock()
	if !fired || parent.Err() != nil {
		return nil
	}
	return &timeoutError{op: op, key: key, budget: budget, endpoint: t.s.cfg.endpoint()}
}

// fail returns the error of a failed request: the timeout error if the
// budget ran out, else s3Err(op, key, err).
func (t *reqTimer) fail(parent context.Context, op, key string, err error) error {
	if terr := t.timedOut(parent, op, key); terr != nil {
		return terr
	}
	return s3Err(op, key, err)
}
