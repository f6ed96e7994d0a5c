package stream

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchSink is the sink's side of `silt bench sink`: the bench package
// may not import stream (both are applications over the library), so
// cmd/silt hands it this value.
type BenchSink struct {
	// Logf receives the sink's log lines (nil: discarded).
	Logf func(format string, args ...any)
}

// DecodeAll decodes every value with debezium-json for schema into change
// batches, on GOMAXPROCS goroutines as the sink does, and returns the
// number of rows: the decode-only limit of catch-up (no Kafka, no table).
func (BenchSink) DecodeAll(schema *types.Schema, values [][]byte) (int64, error) {
	f, err := NewFormat("debezium-json", schema, FormatOptions{})
	if err != nil {
		return 0, err
	}
	workers := max(min(runtime.GOMAXPROCS(0), 8, len(values)/256), 1)
	chunk := (len(values) + workers - 1) / workers
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		first error
	)
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(values))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int64
			b, err := newChangeBuilder(schema)
			if err == nil {
				defer b.Release()
				for _, v := range values[lo:hi] {
					var rows int
					if rows, err = decodeBatch(f, b, nil, v, true); err != nil {
						break
					}
					n += int64(rows)
					if b.Len() >= DefaultMaxPollRecords/workers {
						b.NewRecord().Release() // a poll's batch, as the sink builds it
					}
				}
				b.NewRecord().Release()
			}
			mu.Lock()
			total += n
			if err != nil && first == nil {
				first = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total, first
}

// CatchUp runs a debezium-json sink of topic into t as group until the
// sink has consumed every record below ends (partition → end offset;
// the topic holds nothing else), drains it (it commits at once) and checks
// the table's stored offsets. It returns the sink's commits and rows written.
func (b BenchSink) CatchUp(ctx context.Context, t *table.Table, brokers []string, topic, group string, ends map[int32]int64, commitInterval time.Duration) (commits, rows int64, err error) {
	f, err := NewFormat("debezium-json", t.Schema(), FormatOptions{})
	if err != nil {
		return 0, 0, err
	}
	logf := b.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s, err := New(t, Options{Brokers: brokers, Topics: []string{topic}, Group: group, Member: "bench", Format: f,
		CommitInterval: commitInterval, StartOffset: "earliest", Logf: logf,
		ClientOpts: []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond)}})
	if err != nil {
		return 0, 0, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	var total int64
	for _, e := range ends {
		total += e
	}
	// Once every record is consumed the sink is drained (it commits at
	// once and Run returns), so the run measures consuming, decoding,
	// writing and committing the backlog, not the commit interval's wait.
	for drained := false; ; {
		if !drained && s.Metrics().Snapshot().RecordsConsumed >= total {
			s.Drain()
			drained = true
		}
		select {
		case err := <-done:
			if err != nil || s.Metrics().Snapshot().RecordsCommitted < total {
				return 0, 0, fmt.Errorf("sink stopped before catching up (%d of %d records committed): %v",
					s.Metrics().Snapshot().RecordsCommitted, total, err)
			}
		case <-ctx.Done():
			cancel()
			<-done
			return 0, 0, ctx.Err()
		case <-time.After(time.Millisecond):
			continue
		}
		break
	}
	if ok, err := reached(ctx, t, group, topic, ends); err != nil || !ok {
		return 0, 0, fmt.Errorf("the sink committed %d records but the table's offsets do not reach %v (%v)", total, ends, err)
	}
	m := s.Metrics().Snapshot()
	return m.Commits, m.RowsWritten, nil
}

// reached reports whether t's offsets for group reach ends.
func reached(ctx context.Context, t *table.Table, group, topic string, ends map[int32]int64) (bool, error) {
	snap, err := t.Latest(ctx)
	if err != nil {
		return false, err
	}
	offs, err := StoredOffsets(snap, group)
	if err != nil {
		return false, err
	}
	for p, e := range ends {
		if e > 0 && offs[TopicPartition{topic, p}] < e {
			return false, nil
		}
	}
	return true, nil
}
