package cache

import (
	"context"

	"github.com/siltdb/silt/objstore"
)

// flight is one origin fetch in progress that concurrent misses of the
// same item wait for instead of fetching it again (a singleflight keyed
// by block, metadata or whole object).
type flight struct {
	done chan struct{}
	data []byte // shared by every waiter: read-only
	info objstore.ObjectInfo
	err  error
}

// join returns the flight for id and whether the caller leads it (and so
// must call land exactly once).
func (c *Cache) join(id itemID) (*flight, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[id]; f != nil {
		return f, false
	}
	f := &flight{done: make(chan struct{})}
	c.flights[id] = f
	return f, true
}

// land completes a flight the caller leads.
func (c *Cache) land(id itemID, f *flight, data []byte, info objstore.ObjectInfo, err error) {
	c.mu.Lock()
	if c.flights[id] == f {
		delete(c.flights, id)
	}
	c.mu.Unlock()
	f.data, f.info, f.err = data, info, err
	close(f.done)
}

// wait waits for the flight or ctx. A flight that failed tells the waiter
// nothing about its own call (the leader's context may have been the
// cause), so the caller falls back to the origin on any error.
func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
