package manifest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
)

// testClock is a manual clock in unix milliseconds.
type testClock struct{ ms atomic.Int64 }

func newTestClock(ms int64) *testClock {
	c := &testClock{}
	c.ms.Store(ms)
	return c
}

func (c *testClock) Now() time.Time        { return time.UnixMilli(c.ms.Load()) }
func (c *testClock) Advance(d int64) int64 { return c.ms.Add(d) }
func (c *testClock) Set(ms int64)          { c.ms.Store(ms) }

// testOptions returns deterministic options: counter ids, the given clock,
// tiny backoff.
func testOptions(clock func() time.Time) Options {
	var n atomic.Int64
	return Options{
		Now:            clock,
		NewID:          func() string { return fmt.Sprintf("%08d", n.Add(1)) },
		RetryBaseDelay: 50 * time.Microsecond,
		RetryMaxDelay:  2 * time.Millisecond,
	}
}

func newTestTable(t testing.TB, store objstore.Store) (*Table, *testClock) {
	t.Helper()
	clock := newTestClock(1_700_000_000_000)
	return Open(store, "wh/db.db/t", testOptions(clock.Now)), clock
}

// file returns a data file with commit-local sequence numbers [0, rows).
func file(path string, rows int64) DataFile {
	return DataFile{Path: path, Bucket: 0, RowCount: rows, Size: rows * 10,
		MinKey: []byte{1}, MaxKey: []byte{2}, MinSeq: 0, MaxSeq: max(rows-1, 0)}
}

func appendCommit(user, ident string, files ...DataFile) Commit {
	var seq int64
	for _, f := range files {
		seq = max(seq, f.MaxSeq+1)
	}
	return Commit{User: user, Identifier: ident, Kind: CommitAppend, Added: files, SeqCount: seq}
}

func mustCommit(t testing.TB, tb *Table, c Commit) *Snapshot {
	t.Helper()
	s, err := tb.Commit(context.Background(), c)
	if err != nil {
		t.Fatalf("commit %s/%s: %v", c.User, c.Identifier, err)
	}
	return s
}

func paths(files []DataFile) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}
