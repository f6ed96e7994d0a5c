package manifest

import (
	"context"
	"errors"
	"sync"

	"github.com/siltdb/silt/objstore"
)

// countingStore counts the calls that failed with an error other than
// ErrNotFound or ErrPreconditionFailed, so tests can show that their
// fault plan fired.
type countingStore struct {
	objstore.Store
	mu     sync.Mutex
	failed map[objstore.Op]int
}

func newCountingStore(inner objstore.Store) *countingStore {
	return &countingStore{Store: inner, failed: map[objstore.Op]int{}}
}

func (c *countingStore) note(op objstore.Op, err error) {
	if err == nil || errors.Is(err, objstore.ErrNotFound) || errors.Is(err, objstore.ErrPreconditionFailed) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed[op]++
}

func (c *countingStore) Failed() map[objstore.Op]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[objstore.Op]int{}
	for k, v := range c.failed {
		out[k] = v
	}
	return out
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	b, info, err := c.Store.Get(ctx, key)
	c.note(objstore.OpGet, err)
	return b, info, err
}

func (c *countingStore) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	info, err := c.Store.Put(ctx, key, data)
	c.note(objstore.OpPut, err)
	return info, err
}

func (c *countingStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	info, err := c.Store.PutIfAbsent(ctx, key, data)
	c.note(objstore.OpPutIfAbsent, err)
	return info, err
}

func (c *countingStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	info, err := c.Store.Stat(ctx, key)
	c.note(objstore.OpStat, err)
	return info, err
}

func (c *countingStore) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	out, err := c.Store.List(ctx, prefix)
	c.note(objstore.OpList, err)
	return out, err
}
