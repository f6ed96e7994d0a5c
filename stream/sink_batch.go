package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// batch is the open batch: everything consumed since the last commit.
type batch struct {
	started time.Time // when its first record was taken
	records int64
	rows    int64
	tombs   int64
	bytes   int64 // estimated memory held since the last flush
	dlq     map[Reason]int64
	ts      tsSample
}

// tsSample keeps a bounded, evenly thinned sample of the batch's record
// timestamps (Unix ms) for the freshness histogram: each kept value stands
// for stride records.
type tsSample struct {
	vals   []int64
	stride int64
	n      int64
	oldest int64
}

const tsSampleCap = 4096

func (t *tsSample) add(ms int64) {
	if t.stride == 0 {
		t.stride = 1
		t.oldest = ms
	}
	t.oldest = min(t.oldest, ms)
	if t.n%t.stride == 0 {
		if len(t.vals) == tsSampleCap {
			for i := 0; i < tsSampleCap/2; i++ {
				t.vals[i] = t.vals[2*i]
			}
			t.vals = t.vals[:tsSampleCap/2]
			t.stride *= 2
		}
		if t.n%t.stride == 0 {
			t.vals = append(t.vals, ms)
		}
	}
	t.n++
}

// recordOverhead is the estimated memory per buffered row beyond its
// bytes (Go values, slices, write-buffer bookkeeping).
const recordOverhead = 96

// handle processes one poll under the lock: rewinds if a reset asked for
// it, applies records in offset order per partition, and commits when the
// batch is due. The returned error ends Run.
func (s *Sink) handle(ctx context.Context, fetches kgo.Fetches) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setBusy(true)
	defer s.setBusy(false)
	if s.fatal != nil {
		return s.fatal
	}
	// Learn where each partition's fetched data starts before anything can
	// drop it: a rewind needs that place when the table has no offset.
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if ps := s.parts[TopicPartition{p.Topic, p.Partition}]; ps != nil && ps.firstSeen == noOffset && len(p.Records) > 0 {
			ps.firstSeen = p.Records[0].Offset
		}
	})
	if s.needSeek {
		s.seek() // this poll came from positions the reset abandoned
		return s.commitIfDue(ctx)
	}
	pb, err := s.decodeAll(fetches)
	if err != nil {
		return s.setFatal(fmt.Errorf("sink %s: %w", s.user, err))
	}
	defer pb.release()
	epoch := s.resets
	var stop error
	i, row := 0, 0 // the record's index in the poll, its first row in its chunk
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		tp := TopicPartition{p.Topic, p.Partition}
		ps := s.parts[tp]
		for _, r := range p.Records {
			if i%pb.chunk == 0 {
				pb.wait(i / pb.chunk)
				row = 0
			}
			d, ch, from := pb.recs[i], &pb.chunks[i/pb.chunk], row
			i++
			row += d.rows
			if stop != nil || ps == nil || s.parts[tp] != ps || s.resets != epoch {
				continue // not ours (any more), or a reset dropped the rest of the poll
			}
			stop = s.apply(ctx, tp, ps, r, d, ch, from)
		}
		if ps != nil && s.parts[tp] == ps && p.HighWatermark >= 0 {
			lag := p.HighWatermark - ps.next
			if ps.next == noOffset {
				lag = p.HighWatermark - max(ps.firstSeen, 0)
			}
			s.m.update(func(m *MetricsSnapshot) { m.Lag[tp.String()] = max(lag, 0) })
		}
	})
	// Hand the rest of the poll's rows to the writer (before a bad
	// record's stop commits what came before it).
	if s.resets != epoch {
		s.pend = pending{}
	} else if err := s.writePending(ctx); err != nil {
		if ferr := s.fail(ctx, err, true); stop == nil {
			stop = ferr
		}
	}
	consumed, batchBytes := s.consumed, s.b.bytes
	s.consumed = 0
	s.m.update(func(m *MetricsSnapshot) { m.RecordsConsumed += consumed; m.BatchBytes = batchBytes })
	if stop != nil {
		if errors.Is(stop, ErrBadRecord) {
			// Without a DLQ: keep what came before the bad record, then stop.
			if err := s.commit(ctx, true); err != nil {
				return err
			}
			s.fatal = stop
		}
		return stop
	}
	return s.commitIfDue(ctx)
}

func (s *Sink) commitIfDue(ctx context.Context) error {
	if s.b.records == 0 || s.o.Now().Sub(s.b.started) < s.o.CommitInterval {
		return nil
	}
	return s.commit(ctx, true)
}

// apply takes one record into the batch. Its error ends Run (a bad record
// without a DLQ, or a failure that cannot be retried); a retryable failure
// resets the batch and returns nil.
//
// ch holds the record's rows (d.rows of them from row from) when it was
// decoded with the current schema; they join the pending run that is
// handed to the writer as one batch.
func (s *Sink) apply(ctx context.Context, tp TopicPartition, ps *partState, r *kgo.Record, d decoded, ch *chunkRows, from int) error {
	switch {
	case ps.next != noOffset && r.Offset < ps.next:
		s.m.update(func(m *MetricsSnapshot) { m.DuplicatesSkipped++ })
		return nil
	case ps.next != noOffset && r.Offset > ps.next:
		var n int64
		s.m.update(func(m *MetricsSnapshot) { m.OffsetGaps++; n = m.OffsetGaps })
		if n <= 10 || n%1000 == 0 { // transaction markers make one gap per transaction
			s.o.Logf("sink %s: %s: offsets %d..%d are missing (compaction, transaction markers or retention; %d gaps so far)", s.user, tp, ps.next, r.Offset-1, n)
		}
	}
	s.consumed++
	var changes []Change // rows decoded here rather than in the poll's batches
	if d.gen != s.ev.gen {
		changes, d.err = s.decodeOne(r) // the table's schema changed since the poll was decoded
		ch = nil
	}
	var nc *NewColumnsError
	if errors.As(d.err, &nc) {
		ch = nil
		switch err := s.evolve(ctx, nc); {
		case errors.Is(err, errBatchDropped):
			s.consumed--
			return nil // rewound: the record is replayed
		case err != nil && ReasonOf(err) == "":
			return err // fatal
		case err != nil:
			d.err = err // refused: dead-letter it
		default:
			if changes, d.err = s.decodeOne(r); errors.As(d.err, &nc) {
				d.err = s.refuse(nc, schemaRecordError(nc.Columns[0].Name, RuleAlterRefused,
					"%v: still missing after adding them (the sink's table has no schema loader: open it through a catalog)", nc))
			}
		}
	}
	if err := d.err; err != nil {
		reason := ReasonOf(err)
		if reason == "" {
			reason = ReasonUnparseable
		}
		if s.o.DLQTopic == "" {
			return fmt.Errorf("%w: sink %s: %s offset %d: %s: %v (no dead-letter topic configured: the sink stops rather than drop it; fix the record or set a DLQ)",
				ErrBadRecord, s.user, tp, r.Offset, reason, err)
		}
		s.produceDLQ(ctx, r, reason, err)
		if s.b.dlq == nil {
			s.b.dlq = map[Reason]int64{}
		}
		s.b.dlq[reason]++
		s.advance(ps, r, 0)
		return nil
	}
	rows := d.rows
	held := int64(recordOverhead * rows)
	if ch != nil {
		if err := s.take(ctx, ch.rec, from, from+rows, tp, r); err != nil {
			return s.fail(ctx, err, true)
		}
		if rows > 0 && ch.gen != s.bytesGen+1 {
			held += ch.bytes // the writer now holds the chunk's buffers
			ch.gen = s.bytesGen + 1
		}
	} else {
		if err := s.writePending(ctx); err != nil {
			return s.fail(ctx, err, true)
		}
		for _, c := range changes {
			if err := s.w.Write(ctx, c.Kind, c.Row); err != nil {
				return s.fail(ctx, fmt.Errorf("write %s offset %d: %w", tp, r.Offset, err), true)
			}
		}
		rows = len(changes)
		// Decoded rows may share the record's bytes.
		held = int64(recordOverhead*rows + 2*(len(r.Key)+len(r.Value)))
	}
	if rows == 0 {
		s.b.tombs++
	}
	s.b.rows += int64(rows)
	s.advance(ps, r, held)
	if s.b.bytes >= s.o.MemoryBudget/2 {
		if err := s.writePending(ctx); err != nil {
			return s.fail(ctx, err, true)
		}
		if err := s.w.Flush(ctx); err != nil {
			return s.fail(ctx, fmt.Errorf("flush: %w", err), true)
		}
		s.b.bytes = 0
		s.bytesGen++
	}
	return nil
}

// decodeOne decodes and validates one record with the current format, as
// rows (for a record whose poll was decoded with an older schema).
func (s *Sink) decodeOne(r *kgo.Record) ([]Change, error) {
	changes, err := s.o.Format.Decode(nil, r.Key, r.Value)
	if err == nil {
		err = s.validate(changes)
	}
	return changes, err
}

// advance records that r is part of the batch.
func (s *Sink) advance(ps *partState, r *kgo.Record, bytes int64) {
	if !ps.dirty {
		ps.dirty, ps.batchFrom = true, r.Offset
	}
	ps.next = r.Offset + 1
	if s.b.records == 0 {
		s.b.started = s.o.Now()
	}
	s.b.records++
	s.b.bytes += bytes
	s.b.ts.add(r.Timestamp.UnixMilli())
}

// validate checks decoded rows the way the table writer will, so that a
// bad row is a bad record rather than a failed batch.
func (s *Sink) validate(changes []Change) error { return validateChanges(s.t.Schema(), changes) }

// validateChanges is validate for a table of schema sc.
func validateChanges(sc *types.Schema, changes []Change) error {
	for _, c := range changes {
		if !c.Kind.Valid() {
			return badRecord(ReasonUnparseable, "the format produced row kind %d", c.Kind)
		}
		if c.Kind.IsAdd() {
			if err := sc.CheckRow(c.Row); err != nil {
				return &RecordError{Reason: ReasonWrongType, Err: err}
			}
			continue
		}
		if len(c.Row) != len(sc.Fields) {
			return badRecord(ReasonSchema, "row has %d values, table has %d columns", len(c.Row), len(sc.Fields))
		}
		for i, f := range sc.Fields {
			if err := types.CheckValue(c.Row[i], f.Type); err != nil {
				return &RecordError{Reason: ReasonWrongType, Err: fmt.Errorf("column %q: %w", f.Name, err)}
			}
		}
		for _, k := range sc.KeyIndexes() {
			if c.Row[k] == nil {
				return badRecord(ReasonMissingKey, "primary-key column %q is null", sc.Fields[k].Name)
			}
		}
	}
	return nil
}

// commit publishes the open batch: its rows and, in the snapshot
// properties, the next offset of every partition it consumed, under a
// precondition that fences zombies. inLoop says the caller is Run's loop
// (which may rewind the Kafka client at once) rather than a rebalance
// callback. A failed commit drops and replays the batch (see fail).
func (s *Sink) commit(ctx context.Context, inLoop bool) error {
	if err := s.writePending(ctx); err != nil {
		return s.fail(ctx, err, inLoop)
	}
	plan := &batchPlan{group: s.o.Group, spans: map[TopicPartition]span{}}
	for tp, ps := range s.parts {
		if ps.dirty {
			plan.spans[tp] = span{start: ps.stored, origin: ps.batchFrom, next: ps.next}
		}
	}
	if len(plan.spans) == 0 {
		return nil
	}
	if s.b.dlq != nil {
		if err := s.flushDLQ(ctx); err != nil {
			return s.fail(ctx, err, inLoop)
		}
	}
	begin := s.o.Now()
	req := table.CommitRequest{
		Identifier: plan.identifier(),
		Properties: plan.properties(),
		Check:      plan.check,
		AllowEmpty: true,
		// A commit found under this identifier holds exactly this batch
		// (the identifier is derived from its offsets), and the Check
		// fences anything else, so the history walk is only needed when
		// retrying an attempt whose outcome is unknown.
		Fresh: true,
	}
	var err error
	for attempt := 0; ; attempt++ {
		_, err = s.w.CommitWith(ctx, req)
		if err == nil || !errors.Is(err, objstore.ErrAmbiguous) || attempt == 2 || ctx.Err() != nil {
			break
		}
		req.Fresh = false
		if err := s.sleep(ctx, s.backoff(attempt+1)); err != nil {
			break
		}
	}
	if err != nil {
		return s.fail(ctx, fmt.Errorf("commit: %w", err), inLoop)
	}
	done := s.o.Now()
	s.m.observeCommit(done.Sub(begin))
	for _, ms := range s.b.ts.vals {
		s.m.observeFreshness(done.Sub(time.UnixMilli(ms)), s.b.ts.stride)
	}
	for tp, sp := range plan.spans {
		ps := s.parts[tp]
		ps.stored, ps.dirty = sp.next, false
		if s.toKafka[tp.Topic] == nil {
			s.toKafka[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		s.toKafka[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: sp.next}
	}
	b := s.b
	s.m.update(func(m *MetricsSnapshot) {
		m.Commits++
		m.RecordsCommitted += b.records
		m.RowsWritten += b.rows
		m.Tombstones += b.tombs
		for r, n := range b.dlq {
			m.DLQ[r] += n
			m.DLQTotal += n
		}
		if b.ts.n > 0 {
			m.FreshnessLastMax = done.Sub(time.UnixMilli(b.ts.oldest))
		}
		if !s.lastDone.IsZero() && done.After(s.lastDone) {
			m.RecordsPerSecond = float64(b.records) / done.Sub(s.lastDone).Seconds()
		}
		m.BatchBytes = 0
	})
	s.lastDone = done
	s.b = batch{}
	s.bytesGen++
	s.fails = 0
	// A batch boundary: follow an external ALTER (the writer is empty).
	if err := s.refreshSchema(ctx, false); err != nil {
		s.o.Logf("sink %s: looking for a new schema: %v (keeps writing schema %d)", s.user, err, s.t.Schema().ID)
	}
	return nil
}

// fail drops the open batch after err: the writer's buffered rows and
// files are discarded, the offsets are re-read from the latest snapshot,
// and every partition rewinds to them (at once from the loop; before the
// next poll is used from a callback). It returns nil when the sink can go
// on, or the error that ends Run: a permanent failure (invalid input,
// corruption, a dropped table), ctx's end, or MaxFailures in a row.
func (s *Sink) fail(ctx context.Context, err error, inLoop bool) error {
	fenced := errors.Is(err, types.ErrFenced)
	s.m.update(func(m *MetricsSnapshot) {
		m.CommitFailures++
		m.Resets++
		if fenced {
			m.Fenced++
		}
		m.BatchBytes = 0
	})
	if fenced {
		s.o.Logf("sink %s: fenced, replaying from the table's offsets: %v", s.user, err)
	} else {
		s.o.Logf("sink %s: batch failed, replaying from the table's offsets: %v", s.user, err)
	}
	s.resets++
	s.pend = pending{}
	if aerr := s.w.Abort(ctx); aerr != nil {
		s.o.Logf("sink %s: abort: %v (files left for orphan cleanup)", s.user, aerr)
	}
	s.b = batch{}
	s.bytesGen++
	for _, ps := range s.parts {
		ps.dirty = false
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, types.ErrInvalid) || errors.Is(err, types.ErrCorruption) || errors.Is(err, types.ErrNotFound) {
		return s.setFatal(fmt.Errorf("sink %s: %w", s.user, err))
	}
	if !fenced {
		s.fails++
		if s.fails > s.o.MaxFailures {
			return s.setFatal(fmt.Errorf("sink %s: giving up after %d failed batches in a row: %w", s.user, s.fails, err))
		}
		if serr := s.sleep(ctx, s.backoff(s.fails)); serr != nil {
			return serr
		}
	}
	if rerr := s.reload(ctx); rerr != nil {
		return s.setFatal(fmt.Errorf("sink %s: re-reading offsets after a failed batch: %w (first failure: %w)", s.user, rerr, err))
	}
	// The batch may have failed because the table's schema moved on (a
	// writer on an old schema the mode no longer accepts): reopen it.
	if rerr := s.refreshSchema(ctx, true); rerr != nil {
		s.o.Logf("sink %s: looking for a new schema: %v", s.user, rerr)
	}
	for _, ps := range s.parts {
		ps.next = ps.rewindTo()
	}
	s.needSeek = true
	if inLoop {
		s.seek()
	}
	return nil
}

func (s *Sink) setFatal(err error) error {
	if s.fatal == nil {
		s.fatal = err
	}
	return s.fatal
}

// reload re-reads the stored offsets of every assigned partition.
func (s *Sink) reload(ctx context.Context) error {
	snap, err := s.t.Latest(ctx)
	if err != nil {
		return err
	}
	for tp, ps := range s.parts {
		o, err := StoredOffset(snap, s.o.Group, tp)
		if err != nil {
			return err
		}
		ps.stored = o
	}
	return nil
}

// seek rewinds the Kafka client to every partition's next offset. Only the
// loop calls it, before AllowRebalance, so no rebalance runs meanwhile.
func (s *Sink) seek() {
	offs := map[string]map[int32]kgo.EpochOffset{}
	for tp, ps := range s.parts {
		if ps.next == noOffset {
			continue // nothing fetched yet: the position has not moved
		}
		if offs[tp.Topic] == nil {
			offs[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		offs[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: ps.next}
	}
	s.cl.SetOffsets(offs)
	s.needSeek = false
}

func (s *Sink) backoff(n int) time.Duration {
	limit := min(50*time.Millisecond<<min(n, 8), 5*time.Second)
	return limit/2 + time.Duration(s.o.Rand(int64(limit/2)))
}

func (s *Sink) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
