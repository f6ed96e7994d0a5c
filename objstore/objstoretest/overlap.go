package objstoretest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/siltdb/silt/objstore"
)

// Overlap wraps a store to show whether writes run at once: each Put or
// PutIfAbsent of a key containing its substring waits (up to Wait) for a
// second such write to be in flight, and Peak reports the most that were.
// Writes one after another show as a peak of 1 (each after waiting Wait);
// writes issued together as 2 or more.
type Overlap struct {
	objstore.Store
	substr string
	wait   time.Duration

	mu        sync.Mutex
	cur, peak int
	second    chan struct{}
	once      sync.Once
}

// NewOverlap wraps store, watching the writes of keys containing substr.
func NewOverlap(store objstore.Store, substr string) *Overlap {
	return &Overlap{Store: store, substr: substr, wait: 3 * time.Second, second: make(chan struct{})}
}

// Peak is the most watched writes that were in flight at once.
func (o *Overlap) Peak() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.peak
}

func (o *Overlap) enter(key string) func() {
	if !strings.Contains(key, o.substr) {
		return func() {}
	}
	o.mu.Lock()
	o.cur++
	o.peak = max(o.peak, o.cur)
	if o.cur >= 2 {
		o.once.Do(func() { close(o.second) })
	}
	o.mu.Unlock()
	t := time.NewTimer(o.wait)
	select {
	case <-o.second:
	case <-t.C:
	}
	t.Stop()
	return func() {
		o.mu.Lock()
		o.cur--
		o.mu.Unlock()
	}
}

// Put implements objstore.Store.
func (o *Overlap) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	defer o.enter(key)()
	return o.Store.Put(ctx, key, data)
}

// PutIfAbsent implements objstore.Store.
func (o *Overlap) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	defer o.enter(key)()
	return o.Store.PutIfAbsent(ctx, key, data)
}
