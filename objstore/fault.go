package objstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Op names a Store method, for fault rules.
type Op string

const (
	OpGet         Op = "get"
	OpGetRange    Op = "getrange"
	OpPut         Op = "put"
	OpPutIfAbsent Op = "putifabsent"
	OpPutIfMatch  Op = "putifmatch"
	OpStat        Op = "stat"
	OpList        Op = "list"
	OpDelete      Op = "delete"
)

// Rule is one fault predicate, in the spirit of pebble's errorfs: which
// calls it matches and what it does to them.
type Rule struct {
	Op          Op     // "" matches every operation
	KeyContains string // "" matches every key
	// Nth fires on the Nth matching call only (1-based); 0 fires on every
	// matching call.
	Nth int
	// Times bounds how often the rule fires; 0 means no bound.
	Times int
	// Latency is slept (honouring ctx) before the call.
	Latency time.Duration
	// Err is returned instead of calling the inner store.
	Err error
	// ApplyThenFail calls the inner store and then returns Err (or a
	// timeout-like error when Err is nil) even though the call succeeded:
	// the "PUT that succeeded but looked failed" case.
	ApplyThenFail bool
	// Crash, when set, is called before the inner call; tests use it to
	// panic or cancel and simulate a process dying at that step.
	Crash func()

	matched int
	fired   int
}

// ErrInjected is the default error of a fault rule.
var ErrInjected = fmt.Errorf("injected fault: %w", context.DeadlineExceeded)

// Fault wraps a Store and injects failures chosen by rules. Safe for
// concurrent use.
type Fault struct {
	inner Store
	mu    sync.Mutex
	rules []*Rule
	calls map[Op]int
}

// NewFault wraps inner.
func NewFault(inner Store) *Fault { return &Fault{inner: inner, calls: map[Op]int{}} }

// Add installs a rule.
func (f *Fault) Add(r Rule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &r)
}

// Clear removes every rule.
func (f *Fault) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// Calls reports how many calls of op reached the wrapper.
func (f *Fault) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// pick returns the first rule that fires for this call, if any. Every
// rule the call matches counts it toward its Nth, even when an earlier
// rule fires instead.
func (f *Fault) pick(op Op, key string) *Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	var fire *Rule
	for _, r := range f.rules {
		if r.Op != "" && r.Op != op {
			continue
		}
		if r.KeyContains != "" && !strings.Contains(key, r.KeyContains) {
			continue
		}
		r.matched++
		if fire != nil {
			continue
		}
		if r.Nth != 0 && r.matched != r.Nth {
			continue
		}
		if r.Times != 0 && r.fired >= r.Times {
			continue
		}
		r.fired++
		fire = r
	}
	if fire == nil {
		return nil
	}
	cp := *fire
	return &cp
}

// before applies latency and crash hooks; it returns a non-nil error when
// the call must fail without reaching the inner store.
func (f *Fault) before(ctx context.Context, r *Rule) error {
	if r == nil {
		return nil
	}
	if r.Latency > 0 {
		t := time.NewTimer(r.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if r.Crash != nil {
		r.Crash()
	}
	if r.Err != nil && !r.ApplyThenFail {
		return r.Err
	}
	return nil
}

func (f *Fault) after(r *Rule, err error) error {
	if err == nil && r != nil && r.ApplyThenFail {
		if r.Err != nil {
			return r.Err
		}
		return ErrInjected
	}
	return err
}

func (f *Fault) Get(ctx context.Context, key string) ([]byte, ObjectInfo, error) {
	r := f.pick(OpGet, key)
	if err := f.before(ctx, r); err != nil {
		return nil, ObjectInfo{}, err
	}
	b, info, err := f.inner.Get(ctx, key)
	if err = f.after(r, err); err != nil {
		return nil, ObjectInfo{}, err
	}
	return b, info, nil
}

func (f *Fault) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	r := f.pick(OpGetRange, key)
	if err := f.before(ctx, r); err != nil {
		return nil, err
	}
	b, err := f.inner.GetRange(ctx, key, off, length)
	if err = f.after(r, err); err != nil {
		return nil, err
	}
	return b, nil
}

func (f *Fault) putOp(ctx context.Context, op Op, key string, call func() (ObjectInfo, error)) (ObjectInfo, error) {
	r := f.pick(op, key)
	if err := f.before(ctx, r); err != nil {
		return ObjectInfo{}, err
	}
	info, err := call()
	if err = f.after(r, err); err != nil {
		return ObjectInfo{}, err
	}
	return info, nil
}

func (f *Fault) Put(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	return f.putOp(ctx, OpPut, key, func() (ObjectInfo, error) { return f.inner.Put(ctx, key, data) })
}

func (f *Fault) PutIfAbsent(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	return f.putOp(ctx, OpPutIfAbsent, key, func() (ObjectInfo, error) { return f.inner.PutIfAbsent(ctx, key, data) })
}

func (f *Fault) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (ObjectInfo, error) {
	return f.putOp(ctx, OpPutIfMatch, key, func() (ObjectInfo, error) { return f.inner.PutIfMatch(ctx, key, data, etag) })
}

func (f *Fault) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	return f.putOp(ctx, OpStat, key, func() (ObjectInfo, error) { return f.inner.Stat(ctx, key) })
}

func (f *Fault) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	r := f.pick(OpList, prefix)
	if err := f.before(ctx, r); err != nil {
		return nil, err
	}
	out, err := f.inner.List(ctx, prefix)
	if err = f.after(r, err); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *Fault) Delete(ctx context.Context, key string) error {
	r := f.pick(OpDelete, key)
	if err := f.before(ctx, r); err != nil {
		return err
	}
	return f.after(r, f.inner.Delete(ctx, key))
}
