package stream

import (
	"context"
	"errors"
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

// DecodeAll decodes every value with debezium-json for schema, on
// GOMAXPROCS goroutines as the sink does, and returns the number of
// changes: the decode-only limit of catch-up (no Kafka, no table).
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
			var dst []Change
			var n int64
			var err error
			for _, v := range values[lo:hi] {
				if dst, err = f.Decode(dst[:0], nil, v); err != nil {
					break
				}
				n += int64(len(dst))
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
// sink has committed every record below ends (partition → end offset;
// the topic holds nothing else), then stops it and checks the table's
// stored offsets. It returns the sink's commits and rows written.
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
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	stop := func() error {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	var total int64
	for _, e := range ends {
		total += e
	}
	for s.Metrics().Snapshot().RecordsCommitted < total {
		select {
		case err := <-done:
			cancel()
			return 0, 0, fmt.Errorf("sink stopped before catching up: %w", err)
		case <-ctx.Done():
			_ = stop()
			return 0, 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := stop(); err != nil {
		return 0, 0, err
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
