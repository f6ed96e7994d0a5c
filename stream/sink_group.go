package stream

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// adjustOffsets is franz-go's AdjustFetchOffsetsFn: for every newly
// assigned partition it replaces the offset Kafka's group coordinator
// holds with the one stored in the table's latest snapshot (or the start
// policy when the table has none). Kafka's committed offsets are never
// used to resume.
func (s *Sink) adjustOffsets(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return offsets, nil
	}
	snap, err := s.t.Latest(ctx)
	if err != nil {
		s.o.Logf("sink %s: reading offsets for an assignment: %v (the group session restarts)", s.user, err)
		return nil, fmt.Errorf("sink %s: read offsets: %w", s.user, err)
	}
	reassigned := false
	var names []string
	for topic, parts := range offsets {
		for p := range parts {
			tp := TopicPartition{topic, p}
			stored, err := StoredOffset(snap, s.o.Group, tp)
			if err != nil {
				return nil, err
			}
			if old := s.parts[tp]; old != nil && old.dirty {
				reassigned = true
			}
			s.parts[tp] = &partState{stored: stored, firstSeen: noOffset, next: stored}
			if stored != noOffset {
				parts[p] = kgo.NewOffset().At(stored).WithEpoch(-1)
			} else if s.o.StartOffset == "latest" {
				parts[p] = kgo.NewOffset().AtEnd()
			} else {
				parts[p] = kgo.NewOffset().AtStart()
			}
			names = append(names, tp.String()+"@"+fmtOffset(stored))
		}
	}
	sort.Strings(names)
	s.o.Logf("sink %s: assigned %v (offsets from snapshot %d)", s.user, names, snapID(snap))
	if reassigned {
		// A partition came back while the open batch still held records
		// of its earlier assignment: drop the batch rather than mix them.
		if err := s.fail(s.runCtx, fmt.Errorf("partitions reassigned during an open batch"), false); err != nil {
			return nil, err
		}
	}
	s.bp.setOwned(s.parts)
	return offsets, nil
}

// onRevoked commits the open batch when it holds records of a partition
// being revoked, so the next owner starts where this one stopped, and
// forgets the partitions. A failed commit drops the batch (and the rest of
// the partitions rewind before the next poll).
func (s *Sink) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead || len(revoked) == 0 {
		return
	}
	dirty := false
	for topic, parts := range revoked {
		for _, p := range parts {
			if ps := s.parts[TopicPartition{topic, p}]; ps != nil && ps.dirty {
				dirty = true
			}
		}
	}
	if dirty && s.fatal == nil {
		s.setBusy(true)
		if err := s.commit(s.runCtx, false); err != nil {
			s.setFatal(err)
		}
		s.setBusy(false)
	}
	s.forget(revoked)
	s.o.Logf("sink %s: revoked %v", s.user, revoked)
}

// onLost drops the open batch if it holds records of a lost partition (the
// partition may already be someone else's; committing could only be
// fenced) and forgets the partitions.
func (s *Sink) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead || len(lost) == 0 {
		return
	}
	dirty := false
	for topic, parts := range lost {
		for _, p := range parts {
			if ps := s.parts[TopicPartition{topic, p}]; ps != nil && ps.dirty {
				dirty = true
			}
		}
	}
	s.forget(lost)
	if dirty && s.fatal == nil {
		if err := s.fail(s.runCtx, fmt.Errorf("%v lost from the group", lost), false); err != nil {
			s.setFatal(err)
		}
	}
	s.o.Logf("sink %s: lost %v", s.user, lost)
}

func (s *Sink) forget(m map[string][]int32) {
	for topic, parts := range m {
		for _, p := range parts {
			tp := TopicPartition{topic, p}
			delete(s.parts, tp)
			s.m.update(func(m *MetricsSnapshot) { delete(m.Lag, tp.String()) })
		}
	}
	s.bp.setOwned(s.parts)
}

func snapID(s *manifest.Snapshot) int64 {
	if s == nil {
		return 0
	}
	return s.ID
}

// backpressure pauses fetching while the sink is stuck in the table (a
// write stall, a slow flush or commit): franz-go then stops fetching the
// paused partitions and drops what it buffered for them, so a stalled
// table never turns into unbounded buffering.
type backpressure struct {
	mu        sync.Mutex
	owned     map[string][]int32 // assigned partitions, for pausing
	busySince time.Time          // zero: not in the table
	paused    map[string][]int32 // what we paused; nil: not paused
	pausedAt  time.Time
}

func (b *backpressure) setOwned(parts map[TopicPartition]*partState) {
	owned := map[string][]int32{}
	for tp := range parts {
		owned[tp.Topic] = append(owned[tp.Topic], tp.Partition)
	}
	b.mu.Lock()
	b.owned = owned
	b.mu.Unlock()
}

// setBusy marks the start and end of work in the table; the end resumes
// fetching if the watchdog paused it.
func (s *Sink) setBusy(busy bool) {
	b := &s.bp
	b.mu.Lock()
	defer b.mu.Unlock()
	now := s.o.Now()
	if busy {
		b.busySince = now
		return
	}
	b.busySince = time.Time{}
	if b.paused != nil {
		s.cl.ResumeFetchPartitions(b.paused)
		stalled := now.Sub(b.pausedAt)
		s.m.update(func(m *MetricsSnapshot) { m.FetchPaused = false; m.StallTime += stalled })
		s.o.Logf("sink %s: table unstalled after %s: fetching resumed", s.user, stalled.Round(time.Millisecond))
		b.paused = nil
	}
}

// watchdog pauses fetching when the sink has been in the table for longer
// than StallThreshold.
// It also runs the refresh of the unowned partitions' lag.
func (s *Sink) watchdog(ctx context.Context) {
	lagDone := make(chan struct{})
	go func() { defer close(lagDone); s.reportUnownedLag(ctx) }()
	defer func() { <-lagDone }()
	tick := time.NewTicker(max(s.o.StallThreshold/4, 5*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b := &s.bp
		b.mu.Lock()
		now := s.o.Now()
		if !b.busySince.IsZero() && now.Sub(b.busySince) >= s.o.StallThreshold && b.paused == nil && len(b.owned) > 0 {
			s.cl.PauseFetchPartitions(b.owned)
			b.paused, b.pausedAt = b.owned, now
			s.m.update(func(m *MetricsSnapshot) { m.FetchPauses++; m.FetchPaused = true })
			s.o.Logf("sink %s: table stalled for %s: fetching paused", s.user, now.Sub(b.busySince).Round(time.Millisecond))
		}
		b.mu.Unlock()
	}
}

// DLQ record headers.
const (
	HeaderReason          = "silt.dlq.reason"
	HeaderError           = "silt.dlq.error"
	HeaderSourceTopic     = "silt.source.topic"
	HeaderSourcePartition = "silt.source.partition"
	HeaderSourceOffset    = "silt.source.offset"
	HeaderSourceTimestamp = "silt.source.timestamp"
	HeaderGroup           = "silt.sink.group"
	HeaderTable           = "silt.sink.table"
	// HeaderColumn and HeaderRule name the column and the violated rule
	// of a schema-incompatible record, when known.
	HeaderColumn = "silt.dlq.column"
	HeaderRule   = "silt.dlq.rule"
)

// produceDLQ sends a bad record, with its original key, value and headers,
// to the dead-letter topic. It is asynchronous: flushDLQ waits for it
// before the commit that moves past the record.
func (s *Sink) produceDLQ(ctx context.Context, r *kgo.Record, reason Reason, cause error) {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+10)
	hs = append(hs, r.Headers...)
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(cause.Error())},
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: []byte(strconv.FormatInt(int64(r.Partition), 10))},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: HeaderSourceTimestamp, Value: []byte(strconv.FormatInt(r.Timestamp.UnixMilli(), 10))},
		kgo.RecordHeader{Key: HeaderGroup, Value: []byte(s.o.Group)},
		kgo.RecordHeader{Key: HeaderTable, Value: []byte(s.t.Name())},
	)
	var re *RecordError
	if errors.As(cause, &re) {
		if re.Column != "" {
			hs = append(hs, kgo.RecordHeader{Key: HeaderColumn, Value: []byte(re.Column)})
		}
		if re.Rule != "" {
			hs = append(hs, kgo.RecordHeader{Key: HeaderRule, Value: []byte(re.Rule)})
		}
	}
	rec := &kgo.Record{Topic: s.o.DLQTopic, Key: r.Key, Value: r.Value, Headers: hs}
	s.cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
		if err != nil {
			s.dlqMu.Lock()
			if s.dlqErr == nil {
				s.dlqErr = err
			}
			s.dlqMu.Unlock()
		}
	})
}

// flushDLQ waits until every dead-letter record is acknowledged.
func (s *Sink) flushDLQ(ctx context.Context) error {
	if err := s.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush dead-letter topic %s: %w", s.o.DLQTopic, err)
	}
	s.dlqMu.Lock()
	err := s.dlqErr
	s.dlqErr = nil
	s.dlqMu.Unlock()
	if err != nil {
		return fmt.Errorf("produce to dead-letter topic %s: %w", s.o.DLQTopic, err)
	}
	return nil
}

// unownedLagEvery is how often the lag of the partitions the sink does
// not own is refreshed.
func (s *Sink) unownedLagEvery() time.Duration {
	return min(max(s.o.CommitInterval, 500*time.Millisecond), 15*time.Second)
}

// reportUnownedLag refreshes Metrics.UnownedLag until ctx ends: for every
// partition of the sink's topics that it does not own, the high watermark
// minus the table's stored offset for the group. It makes the partitions
// of a dead member visible while they wait for the session timeout.
// Failures are logged once per kind and retried at the next tick.
func (s *Sink) reportUnownedLag(ctx context.Context) {
	tick := time.NewTicker(s.unownedLagEvery())
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		lag, err := s.unownedLag(ctx)
		if err != nil {
			if ctx.Err() == nil && err.Error() != lastErr {
				s.o.Logf("sink %s: lag of the partitions not owned here: %v", s.user, err)
			}
			lastErr = err.Error()
			continue
		}
		lastErr = ""
		s.m.update(func(m *MetricsSnapshot) { m.UnownedLag = lag })
	}
}

// unownedLag computes one refresh of Metrics.UnownedLag.
func (s *Sink) unownedLag(ctx context.Context) (map[string]int64, error) {
	s.mu.Lock()
	cl := s.cl
	s.mu.Unlock()
	ends := map[TopicPartition]int64{}
	for _, topic := range s.o.Topics {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		e, err := listEnds(tctx, cl, topic)
		cancel()
		if err != nil {
			return nil, err
		}
		for p, off := range e {
			ends[TopicPartition{topic, p}] = off
		}
	}
	snap, err := s.t.Latest(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the table's offsets: %w", err)
	}
	stored, err := StoredOffsets(snap, s.o.Group)
	if err != nil {
		return nil, err
	}
	// Ownership is read after the I/O: a partition assigned meanwhile
	// is reported by Lag, not here.
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for tp, end := range ends {
		if s.parts[tp] != nil {
			continue
		}
		next, ok := stored[tp]
		if !ok {
			if s.o.StartOffset == "latest" {
				continue // it will start at the end: nothing waits
			}
			next = 0
		}
		out[tp.String()] = max(end-next, 0)
	}
	return out, nil
}
