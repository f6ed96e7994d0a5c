package objstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
)

// frozenStore returns a store on a fresh bucket reached through a
// freezable proxy, with the given request timeout.
func frozenStore(t *testing.T, timeout time.Duration) (*objstore.S3, *s3test.FreezeProxy) {
	t.Helper()
	direct := s3test.NewStore(t)
	proxy := s3test.NewFreezeProxy(t, direct.Config().Endpoint)
	cfg := direct.Config()
	cfg.Endpoint = proxy.Addr
	cfg.RequestTimeout = timeout
	s, err := objstore.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, proxy
}

// TestS3FrozenEndpointTimesOut: an endpoint that stops answering (as a
// SIGSTOPped MinIO does) makes every request fail with a timeout error
// within its budget, instead of hanging; after Resume it works again.
func TestS3FrozenEndpointTimesOut(t *testing.T) {
	const timeout = time.Second
	s, proxy := frozenStore(t, timeout)
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	proxy.Freeze()
	for name, op := range map[string]func(context.Context) error{
		"get":  func(ctx context.Context) error { _, _, err := s.Get(ctx, "k"); return err },
		"put":  func(ctx context.Context) error { _, err := s.Put(ctx, "k2", []byte("v")); return err },
		"stat": func(ctx context.Context) error { _, err := s.Stat(ctx, "k"); return err },
		"list": func(ctx context.Context) error { _, err := s.List(ctx, ""); return err },
	} {
		start := time.Now()
		err := op(ctx)
		took := time.Since(start)
		if !errors.Is(err, objstore.ErrTimeout) || !objstore.IsRetryable(err) {
			t.Fatalf("%s on a frozen endpoint: %v, want a retryable ErrTimeout", name, err)
		}
		if took > 3*timeout {
			t.Fatalf("%s on a frozen endpoint took %s, want about %s", name, took, timeout)
		}
		t.Logf("%s: %s after %s", name, err, took.Round(time.Millisecond))
	}
	// A conditional put that timed out may have been applied: ambiguous,
	// never "precondition failed".
	_, err := s.PutIfAbsent(ctx, "snap", []byte("x"))
	if !errors.Is(err, objstore.ErrAmbiguous) || !errors.Is(err, objstore.ErrTimeout) || errors.Is(err, objstore.ErrPreconditionFailed) {
		t.Fatalf("PutIfAbsent on a frozen endpoint: %v, want ErrAmbiguous and ErrTimeout", err)
	}
	proxy.Resume()
	if b, _, err := s.Get(ctx, "k"); err != nil || string(b) != "v" {
		t.Fatalf("after resume: %q %v", b, err)
	}
}

// TestRetryFrozenEndpointBounded: through Retry an operation on a frozen
// endpoint ends with ErrGaveUp within MaxAttempts x (timeout + backoff),
// records itself in InFlight meanwhile, and a cancelled ctx ends the wait
// at once.
func TestRetryFrozenEndpointBounded(t *testing.T) {
	const timeout = 500 * time.Millisecond
	s, proxy := frozenStore(t, timeout)
	inflight := objstore.NewInFlight(nil)
	opts := objstore.RetryOptions{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, InFlight: inflight}
	r := objstore.NewRetry(s, opts)
	ctx := t.Context()
	if _, err := r.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	proxy.Freeze()
	bound := time.Duration(opts.MaxAttempts) * (timeout + opts.MaxDelay)
	seen := make(chan time.Duration, 1)
	go func() {
		time.Sleep(timeout + timeout/2)
		age, _ := inflight.Oldest()
		seen <- age
	}()
	start := time.Now()
	_, _, err := r.Get(ctx, "k")
	took := time.Since(start)
	if !errors.Is(err, objstore.ErrGaveUp) || !errors.Is(err, objstore.ErrTimeout) {
		t.Fatalf("Get on a frozen endpoint: %v, want ErrGaveUp wrapping ErrTimeout", err)
	}
	if took > 3*bound {
		t.Fatalf("Get on a frozen endpoint took %s; the bound is %s", took, bound)
	}
	if age := <-seen; age < timeout {
		t.Fatalf("InFlight.Oldest during the wait = %s, want >= %s (the operation's age, across attempts)", age, timeout)
	}
	if age, n := inflight.Oldest(); n != 0 || age != 0 {
		t.Fatalf("InFlight after the operation: %s, %d in flight", age, n)
	}
	t.Logf("gave up after %s (bound %s): %v", took.Round(time.Millisecond), bound, err)

	// Ctrl-C: the caller's cancellation ends the wait promptly, as
	// cancellation (not a timeout, not retried).
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	_, _, err = objstore.NewRetry(s, objstore.RetryOptions{MaxAttempts: 100}).Get(cctx, "k")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*timeout {
		t.Fatalf("cancelled Get: %v after %s, want context.Canceled soon after 200ms", err, time.Since(start))
	}
	proxy.Resume()
}

// TestS3BudgetScalesWithSize: on a slow but live endpoint a transfer that
// takes longer than the base timeout succeeds, because its budget grows
// with its size — for a PUT from the body, for a GET once the response
// headers announce the object's size.
func TestS3BudgetScalesWithSize(t *testing.T) {
	const timeout = time.Second
	s, proxy := frozenStore(t, timeout)
	ctx := t.Context()
	data := make([]byte, 3<<20) // 3 MiB: 1s + 3 MiB at 1 MiB/s = a 4s budget
	proxy.SetRate(2 << 20)      // ~1.5s per direction: over the base, well within the budget
	start := time.Now()
	if _, err := s.Put(ctx, "big", data); err != nil {
		t.Fatalf("slow Put of %d bytes after %s: %v", len(data), time.Since(start), err)
	}
	putTook := time.Since(start)
	start = time.Now()
	got, _, err := s.Get(ctx, "big")
	if err != nil || len(got) != len(data) {
		t.Fatalf("slow Get after %s: %d bytes, %v", time.Since(start), len(got), err)
	}
	getTook := time.Since(start)
	t.Logf("put %s, get %s (base timeout %s)", putTook.Round(time.Millisecond), getTook.Round(time.Millisecond), timeout)
	if putTook < timeout || getTook < timeout {
		t.Skipf("the throttled transfers took %s and %s, under the base timeout: nothing shown", putTook, getTook)
	}
}
