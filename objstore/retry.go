package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// ErrGaveUp wraps the last error of an operation that failed on every
// one of RetryOptions.MaxAttempts attempts.
var ErrGaveUp = errors.New("retries exhausted")

// RetryOptions configures NewRetry. Zero fields take their defaults.
type RetryOptions struct {
	// MaxAttempts bounds the calls of one operation. Default: 8.
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt; it doubles per
	// attempt. Default: 50ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. Default: 2s.
	MaxDelay time.Duration
	// AttemptTimeout bounds each attempt; an attempt that times out is
	// retried (the caller's own deadline is not). Default: 0, none.
	AttemptTimeout time.Duration
	// Sleep waits d or until ctx ends. Default: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a value in [0, 1) that jitters each delay into
	// [d/2, d). Default: math/rand/v2.Float64.
	Rand func() float64
	// InFlight, when set, records every operation from its first attempt
	// to its end, for "waiting on S3" notices. Default: none.
	InFlight *InFlight
}

// EnsureDefaults fills in zero fields.
func (o *RetryOptions) EnsureDefaults() {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 50 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 2 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RetryStats counts what a Retry did, for metrics: a growing Retries or
// GaveUp is an object store in trouble.
type RetryStats struct {
	Attempts          int64 // calls made to the inner store, read-backs included
	Retries           int64 // backoffs taken before another attempt
	AmbiguousResolved int64 // conditional puts whose unknown outcome a read-back settled
	GaveUp            int64 // operations that failed MaxAttempts times
}

// Retry wraps a Store and retries transient failures (see IsRetryable)
// with capped, jittered exponential backoff. It never retries after the
// caller's ctx ends.
//
// Get, GetRange, Stat, List, Put and Delete are idempotent and simply
// retried. Conditional puts are not: when one fails in a way that may
// have applied it, Retry reads the object back and decides.
//
//	PutIfAbsent: our bytes there -> success; other bytes -> ErrPreconditionFailed;
//	             absent -> not applied, retry.
//	PutIfMatch:  our bytes there -> success; ETag still the expected one ->
//	             not applied, retry; otherwise -> ErrPreconditionFailed.
//
// Once an attempt's outcome was unknown, a later ErrPreconditionFailed is
// read back too (the earlier attempt may have landed late), and a final
// failure is wrapped with ErrAmbiguous. If the read-back itself fails the
// error wraps ErrAmbiguous.
type Retry struct {
	inner Store
	opts  RetryOptions

	attempts, retries, resolved, gaveUp atomic.Int64
}

// NewRetry wraps inner.
func NewRetry(inner Store, opts RetryOptions) *Retry {
	opts.EnsureDefaults()
	return &Retry{inner: inner, opts: opts}
}

// Stats returns the counters so far.
func (r *Retry) Stats() RetryStats {
	return RetryStats{
		Attempts:          r.attempts.Load(),
		Retries:           r.retries.Load(),
		AmbiguousResolved: r.resolved.Load(),
		GaveUp:            r.gaveUp.Load(),
	}
}

// backoff returns the jittered delay after the given failed attempt.
func (r *Retry) backoff(attempt int) time.Duration {
	d := r.opts.MaxDelay
	if attempt-1 < 30 {
		d = min(r.opts.BaseDelay<<(attempt-1), r.opts.MaxDelay)
	}
	return d/2 + time.Duration(r.opts.Rand()*float64(d/2))
}

// attempt makes one call, under AttemptTimeout if set.
func (r *Retry) attempt(ctx context.Context, fn func(context.Context) error) error {
	r.attempts.Add(1)
	if r.opts.AttemptTimeout <= 0 {
		return fn(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, r.opts.AttemptTimeout)
	defer cancel()
	return fn(actx)
}

// pause sleeps before another attempt.
func (r *Retry) pause(ctx context.Context, attempt int, last error) error {
	r.retries.Add(1)
	if err := r.opts.Sleep(ctx, r.backoff(attempt)); err != nil {
		return fmt.Errorf("%w (while backing off after: %w)", err, last)
	}
	return nil
}

// run retries an idempotent call.
func (r *Retry) run(ctx context.Context, op Op, key string, fn func(context.Context) error) error {
	defer r.opts.InFlight.Begin()()
	for attempt := 1; ; attempt++ {
		err := r.attempt(ctx, fn)
		if err == nil || ctx.Err() != nil || !IsRetryable(err) {
			return err
		}
		if attempt >= r.opts.MaxAttempts {
			r.gaveUp.Add(1)
			return fmt.Errorf("objstore %s %q: %w after %d attempts: %w", op, key, ErrGaveUp, attempt, err)
		}
		if err := r.pause(ctx, attempt, err); err != nil {
			return err
		}
	}
}

// Do runs an idempotent call that is not a Store method (e.g. checking
// that a bucket exists) with the same retries, and records it in
// RetryOptions.InFlight. op and key name it in the error.
func (r *Retry) Do(ctx context.Context, op Op, key string, fn func(context.Context) error) error {
	return r.run(ctx, op, key, fn)
}

func (r *Retry) Get(ctx context.Context, key string) (data []byte, info ObjectInfo, err error) {
	err = r.run(ctx, OpGet, key, func(ctx context.Context) (err error) {
		data, info, err = r.inner.Get(ctx, key)
		return err
	})
	return data, info, err
}

func (r *Retry) GetRange(ctx context.Context, key string, off, length int64) (data []byte, err error) {
	err = r.run(ctx, OpGetRange, key, func(ctx context.Context) (err error) {
		data, err = r.inner.GetRange(ctx, key, off, length)
		return err
	})
	return data, err
}

func (r *Retry) Put(ctx context.Context, key string, data []byte) (info ObjectInfo, err error) {
	err = r.run(ctx, OpPut, key, func(ctx context.Context) (err error) {
		info, err = r.inner.Put(ctx, key, data)
		return err
	})
	return info, err
}

func (r *Retry) Stat(ctx context.Context, key string) (info ObjectInfo, err error) {
	err = r.run(ctx, OpStat, key, func(ctx context.Context) (err error) {
		info, err = r.inner.Stat(ctx, key)
		return err
	})
	return info, err
}

func (r *Retry) List(ctx context.Context, prefix string) (out []ObjectInfo, err error) {
	err = r.run(ctx, OpList, prefix, func(ctx context.Context) (err error) {
		out, err = r.inner.List(ctx, prefix)
		return err
	})
	return out, err
}

func (r *Retry) Delete(ctx context.Context, key string) error {
	return r.run(ctx, OpDelete, key, func(ctx context.Context) error {
		return r.inner.Delete(ctx, key)
	})
}

func (r *Retry) PutIfAbsent(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	return r.condPut(ctx, OpPutIfAbsent, key, data, false, "", func(ctx context.Context) (ObjectInfo, error) {
		return r.inner.PutIfAbsent(ctx, key, data)
	})
}

func (r *Retry) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (ObjectInfo, error) {
	return r.condPut(ctx, OpPutIfMatch, key, data, true, etag, func(ctx context.Context) (ObjectInfo, error) {
		return r.inner.PutIfMatch(ctx, key, data, etag)
	})
}

// outcome is what a read-back says about a conditional put.
type outcome int

const (
	notApplied outcome = iota // the precondition still holds: safe to try again
	applied                   // our bytes are there
	lost                      // someone else's write won
)

func (r *Retry) condPut(ctx context.Context, op Op, key string, data []byte, ifMatch bool, etag string, put func(context.Context) (ObjectInfo, error)) (ObjectInfo, error) {
	defer r.opts.InFlight.Begin()()
	uncertain := false // some earlier attempt may have been applied
	ambiguous := func(err error) error {
		if !uncertain || errors.Is(err, ErrAmbiguous) {
			return err
		}
		return fmt.Errorf("objstore %s %q: %w: an earlier attempt may have been applied: %w", op, key, ErrAmbiguous, err)
	}
	for attempt := 1; ; attempt++ {
		var info ObjectInfo
		err := r.attempt(ctx, func(ctx context.Context) (err error) {
			info, err = put(ctx)
			return err
		})
		if err == nil {
			return info, nil
		}
		if ctx.Err() != nil {
			return ObjectInfo{}, ambiguous(err)
		}
		retryable := IsRetryable(err)
		if !retryable && !(uncertain && errors.Is(err, ErrPreconditionFailed)) {
			return ObjectInfo{}, ambiguous(err)
		}
		uncertain = uncertain || retryable
		got, cur, rerr := r.readBack(ctx, key, data, ifMatch, etag)
		if rerr != nil {
			return ObjectInfo{}, fmt.Errorf("objstore %s %q: %w: read-back failed: %w (after: %w)", op, key, ErrAmbiguous, rerr, err)
		}
		r.resolved.Add(1)
		switch got {
		case applied:
			return cur, nil
		case lost:
			return ObjectInfo{}, fmt.Errorf("objstore %s %q: %w (read back after: %w)", op, key, ErrPreconditionFailed, err)
		}
		if attempt >= r.opts.MaxAttempts {
			r.gaveUp.Add(1)
			return ObjectInfo{}, ambiguous(fmt.Errorf("objstore %s %q: %w after %d attempts: %w", op, key, ErrGaveUp, attempt, err))
		}
		if err := r.pause(ctx, attempt, err); err != nil {
			return ObjectInfo{}, ambiguous(err)
		}
	}
}

// readBack reads key (retrying like Get) to settle a conditional put of
// data: a put-if-match of etag, or a put-if-absent.
func (r *Retry) readBack(ctx context.Context, key string, data []byte, ifMatch bool, etag string) (outcome, ObjectInfo, error) {
	var cur []byte
	var info ObjectInfo
	err := r.run(ctx, OpGet, key, func(ctx context.Context) (err error) {
		cur, info, err = r.inner.Get(ctx, key)
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		if !ifMatch {
			return notApplied, ObjectInfo{}, nil
		}
		return lost, ObjectInfo{}, nil // put-if-match needs the object
	case err != nil:
		return 0, ObjectInfo{}, err
	case bytes.Equal(cur, data):
		return applied, info, nil
	case ifMatch && info.ETag == etag:
		return notApplied, ObjectInfo{}, nil
	}
	return lost, ObjectInfo{}, nil
}
