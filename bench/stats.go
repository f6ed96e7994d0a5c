package bench

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siltdb/silt/objstore"
)

// latencies collects durations; safe for concurrent use.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// quantileMs returns the q-quantile (nearest rank) in milliseconds.
func (l *latencies) quantileMs(q float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}

func (l *latencies) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

// opCounts is a snapshot of a countingStore's counters.
type opCounts struct {
	Puts, CondPuts, CondLost, Gets, Stats, Lists, Deletes int64
	BytesPut, BytesGot                                    int64
	DataBytesPut                                          int64
	SnapshotLost                                          int64
}

func (c opCounts) sub(o opCounts) opCounts {
	return opCounts{
		Puts: c.Puts - o.Puts, CondPuts: c.CondPuts - o.CondPuts, CondLost: c.CondLost - o.CondLost,
		Gets: c.Gets - o.Gets, Stats: c.Stats - o.Stats, Lists: c.Lists - o.Lists, Deletes: c.Deletes - o.Deletes,
		BytesPut: c.BytesPut - o.BytesPut, BytesGot: c.BytesGot - o.BytesGot,
		DataBytesPut: c.DataBytesPut - o.DataBytesPut, SnapshotLost: c.SnapshotLost - o.SnapshotLost,
	}
}

// allPuts counts every write request (plain and conditional).
func (c opCounts) allPuts() int64 { return c.Puts + c.CondPuts }

// requests counts every request of any kind.
func (c opCounts) requests() int64 {
	return c.Puts + c.CondPuts + c.Gets + c.Stats + c.Lists + c.Deletes
}

// countingStore counts the requests made through it, the way an S3 bill
// would: GET and ranged GET are GETs, HEAD is a Stat, PUT/conditional PUT
// are PUTs. It is a wrapper of the objstore stack kept in this package.
type countingStore struct {
	objstore.Store
	puts, condPuts, condLost, gets, stats, lists, deletes atomic.Int64
	bytesPut, bytesGot, dataBytesPut, snapshotLost        atomic.Int64
}

func newCountingStore(s objstore.Store) *countingStore { return &countingStore{Store: s} }

func (c *countingStore) counts() opCounts {
	return opCounts{
		Puts: c.puts.Load(), CondPuts: c.condPuts.Load(), CondLost: c.condLost.Load(),
		Gets: c.gets.Load(), Stats: c.stats.Load(), Lists: c.lists.Load(), Deletes: c.deletes.Load(),
		BytesPut: c.bytesPut.Load(), BytesGot: c.bytesGot.Load(),
		DataBytesPut: c.dataBytesPut.Load(), SnapshotLost: c.snapshotLost.Load(),
	}
}

func (c *countingStore) countPut(key string, n int) {
	c.bytesPut.Add(int64(n))
	if strings.Contains(key, "/data/") {
		c.dataBytesPut.Add(int64(n))
	}
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	c.gets.Add(1)
	b, info, err := c.Store.Get(ctx, key)
	c.bytesGot.Add(int64(len(b)))
	return b, info, err
}

func (c *countingStore) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	c.gets.Add(1)
	b, err := c.Store.GetRange(ctx, key, off, length)
	c.bytesGot.Add(int64(len(b)))
	return b, err
}

func (c *countingStore) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	c.puts.Add(1)
	c.countPut(key, len(data))
	return c.Store.Put(ctx, key, data)
}

func (c *countingStore) lost(key string, err error) {
	if errors.Is(err, objstore.ErrPreconditionFailed) {
		c.condLost.Add(1)
		if strings.Contains(key, "/snapshot/snapshot-") {
			c.snapshotLost.Add(1)
		}
	}
}

func (c *countingStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	c.condPuts.Add(1)
	c.countPut(key, len(data))
	info, err := c.Store.PutIfAbsent(ctx, key, data)
	c.lost(key, err)
	return info, err
}

func (c *countingStore) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (objstore.ObjectInfo, error) {
	c.condPuts.Add(1)
	c.countPut(key, len(data))
	info, err := c.Store.PutIfMatch(ctx, key, data, etag)
	c.lost(key, err)
	return info, err
}

func (c *countingStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	c.stats.Add(1)
	return c.Store.Stat(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	c.lists.Add(1)
	return c.Store.List(ctx, prefix)
}

func (c *countingStore) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	c.lists.Add(1)
	return c.Store.ListDirs(ctx, prefix)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, key)
}
