package objstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// noSleep records backoff delays instead of sleeping.
type noSleep struct{ delays []time.Duration }

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.delays = append(n.delays, d)
	return ctx.Err()
}

// newRetry stacks Retry on Fault on Mem with deterministic backoff.
func newRetry(t *testing.T, maxAttempts int) (*objstore.Retry, *objstore.Fault, *objstore.Mem, *noSleep) {
	t.Helper()
	mem := objstore.NewMem()
	fault := objstore.NewFault(mem)
	ns := &noSleep{}
	r := objstore.NewRetry(fault, objstore.RetryOptions{
		MaxAttempts: maxAttempts,
		Sleep:       ns.sleep,
		Rand:        func() float64 { return 0.5 },
	})
	return r, fault, mem, ns
}

func getBytes(t *testing.T, s objstore.Store, key string) string {
	t.Helper()
	b, _, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(b)
}

func wantStats(t *testing.T, r *objstore.Retry, want objstore.RetryStats) {
	t.Helper()
	if got := r.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

func TestRetryPutIfAbsentAppliedButReportedFailed(t *testing.T) {
	r, fault, mem, _ := newRetry(t, 8)
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, ApplyThenFail: true, Times: 1})
	info, err := r.PutIfAbsent(t.Context(), "snap", []byte("ours"))
	if err != nil {
		t.Fatalf("PutIfAbsent: %v", err)
	}
	if calls := fault.Calls(objstore.OpPutIfAbsent); calls != 1 {
		t.Fatalf("PutIfAbsent reached the store %d times, want 1 (no blind retry)", calls)
	}
	want, _ := mem.Stat(t.Context(), "snap")
	if info != want {
		t.Fatalf("info = %+v, want the stored object's %+v", info, want)
	}
	if got := getBytes(t, mem, "snap"); got != "ours" {
		t.Fatalf("stored %q", got)
	}
	// One put, one read-back; no backoff was needed.
	wantStats(t, r, objstore.RetryStats{Attempts: 2, AmbiguousResolved: 1})
}

func TestRetryPutIfAbsentNotAppliedIsRetried(t *testing.T) {
	r, fault, mem, ns := newRetry(t, 8)
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, Err: objstore.ErrInjected, Times: 2})
	if _, err := r.PutIfAbsent(t.Context(), "snap", []byte("ours")); err != nil {
		t.Fatalf("PutIfAbsent: %v", err)
	}
	if calls := fault.Calls(objstore.OpPutIfAbsent); calls != 3 {
		t.Fatalf("PutIfAbsent calls = %d, want 3", calls)
	}
	if got := getBytes(t, mem, "snap"); got != "ours" {
		t.Fatalf("stored %q", got)
	}
	// 50ms, then 100ms, each jittered by Rand=0.5 to 3/4 of it.
	if want := []time.Duration{37500 * time.Microsecond, 75 * time.Millisecond}; !slices.Equal(ns.delays, want) {
		t.Fatalf("delays = %v, want %v", ns.delays, want)
	}
	wantStats(t, r, objstore.RetryStats{Attempts: 5, Retries: 2, AmbiguousResolved: 2})
}

func TestRetryPutIfAbsentLostToAnotherWriter(t *testing.T) {
	r, fault, mem, _ := newRetry(t, 8)
	// The attempt fails without applying, and meanwhile someone else wins.
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, Err: objstore.ErrInjected, Times: 1, Crash: func() {
		if _, err := mem.Put(context.Background(), "snap", []byte("theirs")); err != nil {
			panic(err)
		}
	}})
	_, err := r.PutIfAbsent(t.Context(), "snap", []byte("ours"))
	if !errors.Is(err, objstore.ErrPreconditionFailed) {
		t.Fatalf("PutIfAbsent: %v, want ErrPreconditionFailed", err)
	}
	if got := getBytes(t, mem, "snap"); got != "theirs" {
		t.Fatalf("stored %q, want theirs", got)
	}
}

// An ambiguous attempt that lands only after the read-back said "absent"
// makes the retry fail its precondition: that must still be a success.
func TestRetryPutIfAbsentLateLanding(t *testing.T) {
	r, fault, mem, _ := newRetry(t, 8)
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, Nth: 1, Err: objstore.ErrInjected})
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, Nth: 2, Crash: func() {
		if _, err := mem.Put(context.Background(), "snap", []byte("ours")); err != nil {
			panic(err)
		}
	}})
	if _, err := r.PutIfAbsent(t.Context(), "snap", []byte("ours")); err != nil {
		t.Fatalf("PutIfAbsent: %v", err)
	}
	if calls := fault.Calls(objstore.OpPutIfAbsent); calls != 2 {
		t.Fatalf("PutIfAbsent calls = %d, want 2", calls)
	}
}

func TestRetryPutIfAbsentReadBackFails(t *testing.T) {
	r, fault, _, _ := newRetry(t, 3)
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, ApplyThenFail: true, Times: 1})
	fault.Add(objstore.Rule{Op: objstore.OpGet, Err: objstore.ErrInjected})
	_, err := r.PutIfAbsent(t.Context(), "snap", []byte("ours"))
	if !errors.Is(err, objstore.ErrAmbiguous) {
		t.Fatalf("PutIfAbsent: %v, want ErrAmbiguous", err)
	}
	if calls := fault.Calls(objstore.OpGet); calls != 3 {
		t.Fatalf("read-back Get calls = %d, want 3 (retried like any Get)", calls)
	}
}

func TestRetryPutIfMatchAppliedButReportedFailed(t *testing.T) {
	r, fault, mem, _ := newRetry(t, 8)
	v1, err := mem.Put(t.Context(), "ptr", []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	fault.Add(objstore.Rule{Op: objstore.OpPutIfMatch, ApplyThenFail: true, Times: 1})
	info, err := r.PutIfMatch(t.Context(), "ptr", []byte("v2"), v1.ETag)
	if err != nil {
		t.Fatalf("PutIfMatch: %v", err)
	}
	if calls := fault.Calls(objstore.OpPutIfMatch); calls != 1 {
		t.Fatalf("PutIfMatch calls = %d, want 1 (no blind retry)", calls)
	}
	if want, _ := mem.Stat(t.Context(), "ptr"); info != want {
		t.Fatalf("info = %+v, want %+v", info, want)
	}
	if got := getBytes(t, mem, "ptr"); got != "v2" {
		t.Fatalf("stored %q", got)
	}
	wantStats(t, r, objstore.RetryStats{Attempts: 2, AmbiguousResolved: 1})
}

func TestRetryPutIfMatchNotAppliedIsRetried(t *testing.T) {
	r, fault, mem, _ := newRetry(t, 8)
	v1, _ := mem.Put(t.Context(), "ptr", []byte("v1"))
	fault.Add(objstore.Rule{Op: objstore.OpPutIfMatch, Err: objstore.ErrInjected, Times: 1})
	if _, err := r.PutIfMatch(t.Context(), "ptr", []byte("v2"), v1.ETag); err != nil {
		t.Fatalf("PutIfMatch: %v", err)
	}
	if calls := fault.Calls(objstore.OpPutIfMatch); calls != 2 {
		t.Fatalf("PutIfMatch calls = %d, want 2", calls)
	}
	if got := getBytes(t, mem, "ptr"); got != "v2" {
		t.Fatalf("stored %q", got)
	}
}

func TestRetryPutIfMatchLostToAnotherWriter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other func(*objstore.Mem) error
	}{
		{"overwritten", func(m *objstore.Mem) error {
			_, err := m.Put(context.Background(), "ptr", []byte("theirs"))
			return err
		}},
		{"deleted", func(m *objstore.Mem) error { return m.Delete(context.Background(), "ptr") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, fault, mem, _ := newRetry(t, 8)
			v1, _ := mem.Put(t.Context(), "ptr", []byte("v1"))
			fault.Add(objstore.Rule{Op: objstore.OpPutIfMatch, Err: objstore.ErrInjected, Times: 1, Crash: func() {
				if err := tc.other(mem); err != nil {
					panic(err)
				}
			}})
			_, err := r.PutIfMatch(t.Context(), "ptr", []byte("ours"), v1.ETag)
			if !errors.Is(err, objstore.ErrPreconditionFailed) {
				t.Fatalf("PutIfMatch: %v, want ErrPreconditionFailed", err)
			}
			if calls := fault.Calls(objstore.OpPutIfMatch); calls != 1 {
				t.Fatalf("PutIfMatch calls = %d, want 1", calls)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	r, fault, mem, ns := newRetry(t, 4)
	mem.Put(t.Context(), "k", []byte("x"))
	fault.Add(objstore.Rule{Op: objstore.OpGet, Err: objstore.ErrInjected})
	_, _, err := r.Get(t.Context(), "k")
	if !errors.Is(err, objstore.ErrGaveUp) || !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("Get: %v, want ErrGaveUp wrapping the last error", err)
	}
	if calls := fault.Calls(objstore.OpGet); calls != 4 {
		t.Fatalf("Get calls = %d, want MaxAttempts=4", calls)
	}
	if want := []time.Duration{37500 * time.Microsecond, 75 * time.Millisecond, 150 * time.Millisecond}; !slices.Equal(ns.delays, want) {
		t.Fatalf("delays = %v, want %v", ns.delays, want)
	}
	wantStats(t, r, objstore.RetryStats{Attempts: 4, Retries: 3, GaveUp: 1})
	t.Logf("give-up error: %v", err)
}

func TestRetryConditionalGivesUpAmbiguous(t *testing.T) {
	r, fault, _, _ := newRetry(t, 3)
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, Err: objstore.ErrInjected})
	_, err := r.PutIfAbsent(t.Context(), "snap", []byte("ours"))
	if !errors.Is(err, objstore.ErrGaveUp) || !errors.Is(err, objstore.ErrAmbiguous) {
		t.Fatalf("PutIfAbsent: %v, want ErrGaveUp and ErrAmbiguous", err)
	}
	if calls := fault.Calls(objstore.OpPutIfAbsent); calls != 3 {
		t.Fatalf("PutIfAbsent calls = %d, want 3", calls)
	}
}

func TestRetryBackoffIsCapped(t *testing.T) {
	mem := objstore.NewMem()
	fault := objstore.NewFault(mem)
	fault.Add(objstore.Rule{Op: objstore.OpStat, Err: objstore.ErrInjected})
	ns := &noSleep{}
	r := objstore.NewRetry(fault, objstore.RetryOptions{
		MaxAttempts: 40, BaseDelay: time.Second, MaxDelay: 4 * time.Second,
		Sleep: ns.sleep, Rand: func() float64 { return 0.999 },
	})
	r.Stat(t.Context(), "k")
	for i, d := range ns.delays {
		if d > 4*time.Second || d < time.Second/2 {
			t.Fatalf("delay %d = %v, outside [0.5s, 4s]", i, d)
		}
	}
	if last := ns.delays[len(ns.delays)-1]; last < 3900*time.Millisecond {
		t.Fatalf("last delay %v, want close to the 4s cap", last)
	}
}

func TestRetryNonRetryableErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"403", minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied"}},
		{"400", minio.ErrorResponse{StatusCode: 400, Code: "InvalidArgument"}},
		{"NoSuchBucket", minio.ErrorResponse{StatusCode: 404, Code: "NoSuchBucket"}},
		{"ErrInvalid", fmt.Errorf("bad key: %w", types.ErrInvalid)},
		{"ErrNotFound", fmt.Errorf("gone: %w", objstore.ErrNotFound)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, fault, mem, _ := newRetry(t, 8)
			mem.Put(t.Context(), "k", []byte("x"))
			fault.Add(objstore.Rule{Err: tc.err})
			_, _, err := r.Get(t.Context(), "k")
			if !errors.Is(err, tc.err) {
				t.Fatalf("Get: %v, want %v", err, tc.err)
			}
			_, err = r.PutIfAbsent(t.Context(), "new", []byte("y"))
			if !errors.Is(err, tc.err) || errors.Is(err, objstore.ErrAmbiguous) {
				t.Fatalf("PutIfAbsent: %v, want %v and not ambiguous", err, tc.err)
			}
			if g, p := fault.Calls(objstore.OpGet), fault.Calls(objstore.OpPutIfAbsent); g != 1 || p != 1 {
				t.Fatalf("calls: Get %d, PutIfAbsent %d; want 1 each", g, p)
			}
		})
	}
}

func TestRetryStopsWhenCallerCancels(t *testing.T) {
	r, fault, mem, _ := newRetry(t, 8)
	mem.Put(t.Context(), "k", []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	fault.Add(objstore.Rule{Op: objstore.OpGet, Err: objstore.ErrInjected, Crash: cancel})
	_, _, err := r.Get(ctx, "k")
	if err == nil {
		t.Fatal("Get succeeded")
	}
	if calls := fault.Calls(objstore.OpGet); calls != 1 {
		t.Fatalf("Get calls = %d after the caller canceled, want 1", calls)
	}
}

func TestRetryAttemptTimeout(t *testing.T) {
	mem := objstore.NewMem()
	mem.Put(t.Context(), "k", []byte("x"))
	fault := objstore.NewFault(mem)
	fault.Add(objstore.Rule{Op: objstore.OpGet, Latency: time.Hour, Times: 1}) // a hung request
	r := objstore.NewRetry(fault, objstore.RetryOptions{
		AttemptTimeout: 20 * time.Millisecond,
		Sleep:          func(context.Context, time.Duration) error { return nil },
	})
	start := time.Now()
	got, _, err := r.Get(t.Context(), "k")
	if err != nil || string(got) != "x" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if fault.Calls(objstore.OpGet) != 2 {
		t.Fatalf("Get calls = %d, want 2", fault.Calls(objstore.OpGet))
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("took %v", el)
	}
}

func TestIsRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{minio.ErrorResponse{StatusCode: 503, Code: "SlowDown"}, true},
		{minio.ErrorResponse{StatusCode: 500, Code: "InternalError"}, true},
		{minio.ErrorResponse{StatusCode: 429, Code: "TooManyRequests"}, true},
		{minio.ErrorResponse{StatusCode: 400, Code: "RequestTimeout"}, true},
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{StatusCode: 502}), true},
		{&url.Error{Op: "Put", URL: "http://x", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("read body: %w", syscall.ECONNRESET), true},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true}, // an attempt timeout; Retry checks the caller's ctx itself
		{objstore.ErrInjected, true},
		{fmt.Errorf("%w: reset", objstore.ErrAmbiguous), true},
		{minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied"}, false},
		{minio.ErrorResponse{StatusCode: 412, Code: "PreconditionFailed"}, false},
		{objstore.ErrNotFound, false},
		{objstore.ErrPreconditionFailed, false},
		{types.ErrInvalid, false},
		{context.Canceled, false},
		{errors.New("some bug"), false},
		{nil, false},
	} {
		if got := objstore.IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
