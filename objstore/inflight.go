package objstore

import (
	"sync"
	"time"
)

// InFlight tracks the object-store operations under way, so that a
// command can tell its user that it is waiting on the store ("waiting on
// S3 for 25 s") instead of hanging silently. Retry records each
// operation in it from its first attempt to its last (backoffs
// included). Safe for concurrent use; the zero value is not usable, use
// NewInFlight.
type InFlight struct {
	now func() time.Time

	mu     sync.Mutex
	next   uint64
	starts map[uint64]time.Time
}

// NewInFlight returns an empty tracker reading the clock now (nil:
// time.Now).
func NewInFlight(now func() time.Time) *InFlight {
	if now == nil {
		now = time.Now
	}
	return &InFlight{now: now, starts: map[uint64]time.Time{}}
}

// Begin records an operation's start; call the returned func when it
// ends. A nil tracker records nothing.
func (f *InFlight) Begin() (end func()) {
	if f == nil {
		return func() {}
	}
	f.mu.Lock()
	f.next++
	id := f.next
	f.starts[id] = f.now()
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.starts, id)
		f.mu.Unlock()
	}
}

// Oldest returns the age of the oldest operation in flight and how many
// are in flight (0, 0 when none).
func (f *InFlight) Oldest() (age time.Duration, n int) {
	if f == nil {
		return 0, 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	for _, t := range f.starts {
		age = max(age, now.Sub(t))
	}
	return age, len(f.starts)
}
