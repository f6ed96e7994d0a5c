package stream

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"
)

// decoded is one record's decoding: the number of rows it added to its
// chunk's change batch, or why it is bad.
type decoded struct {
	rows int
	err  error
	gen  int64 // the schema generation it was decoded with
}

// pollBatch is a poll being decoded: per record (in the order of
// EachPartition) its decoding, and the change batches of the chunks the
// records are split into (chunk c holds the rows of records
// [c*chunk, (c+1)*chunk), in record order). Chunks are decoded in order by
// a few goroutines while the sink applies the chunks already done.
type pollBatch struct {
	recs   []decoded
	chunk  int
	chunks []chunkRows
	done   []chan struct{} // closed when the chunk is decoded
	wg     sync.WaitGroup
}

// chunkRows is one decoded chunk's change batch and the memory its
// buffers hold. Rows handed to the writer keep the whole batch's buffers
// alive until the writer flushes, so the open batch is charged bytes once
// per chunk (per flush generation) when its first rows are taken, rather
// than the size of the Kafka records, which the sink drops after the
// poll: a Debezium record with its schema is kilobytes, its rows a few
// hundred bytes.
type chunkRows struct {
	rec   arrow.Record
	bytes int64
	gen   int64 // 1 + the sink's bytesGen when it was charged (0: not yet)
}

// recordBytes is the memory held by rec's buffers (their capacity).
func recordBytes(rec arrow.Record) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Cap())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}

// wait blocks until chunk c is decoded.
func (p *pollBatch) wait(c int) { <-p.done[c] }

// release waits for the decoding goroutines and frees the batches.
func (p *pollBatch) release() {
	p.wg.Wait()
	for _, c := range p.chunks {
		if c.rec != nil {
			c.rec.Release()
		}
	}
	p.chunks = nil
}

// decodeBatch decodes one record with f into b and returns the number of
// rows it appended: with the format's fast path when fast (f is a
// batchDecoder whose schema is b's), else (and for whatever the fast path
// leaves) with Decode, checked as the table writer will check the rows.
// On an error b is unchanged.
func decodeBatch(f Format, b *changeBuilder, key, value []byte, fast bool) (int, error) {
	if fast {
		if n, ok := f.(batchDecoder).decodeFast(b, key, value); ok {
			return n, nil
		}
	}
	changes, err := f.Decode(nil, key, value)
	if err == nil {
		err = validateChanges(b.schema, changes)
	}
	if err == nil {
		err = b.appendChanges(changes)
	}
	if err != nil {
		return 0, err
	}
	return len(changes), nil
}

// builders returns n change builders of the table's current schema,
// reusing the sink's from earlier polls while the schema is the same.
func (s *Sink) builders(n int) ([]*changeBuilder, error) {
	sc := s.t.Schema()
	if len(s.cb) > 0 && s.cb[0].schema != sc {
		for _, b := range s.cb {
			b.Release()
		}
		s.cb = nil
	}
	for len(s.cb) < n {
		b, err := newChangeBuilder(sc)
		if err != nil {
			return nil, err
		}
		s.cb = append(s.cb, b)
	}
	return s.cb[:n], nil
}

// Decoding splits a poll into chunks of at least minChunk records, at most
// maxChunks of them.
const (
	minChunk  = 256
	maxChunks = 16
)

// decodeAll starts decoding and validating every record of a poll, in the
// order of EachPartition, into change batches. Formats are pure, so the
// chunks are decoded by several goroutines, each chunk into its own
// builders, while the caller applies the chunks already decoded in offset
// order (pollBatch.wait). The goroutines see the format, schema and
// schema generation of the start: a record applied after the schema
// changed is decoded again (see apply).
func (s *Sink) decodeAll(fetches kgo.Fetches) (*pollBatch, error) {
	var recs []*kgo.Record
	fetches.EachPartition(func(p kgo.FetchTopicPartition) { recs = append(recs, p.Records...) })
	nchunks := max(min(maxChunks, len(recs)/minChunk), 1)
	bs, err := s.builders(nchunks)
	if err != nil {
		return nil, err
	}
	f, sc, gen := s.o.Format, s.t.Schema(), s.ev.gen
	fast := false
	if bd, ok := f.(batchDecoder); ok {
		fast = sameSchema(bd.codec().schema, sc)
	}
	chunk := max((len(recs)+nchunks-1)/nchunks, 1)
	out := &pollBatch{recs: make([]decoded, len(recs)), chunk: chunk, chunks: make([]chunkRows, nchunks), done: make([]chan struct{}, nchunks)}
	for c := range out.done {
		out.done[c] = make(chan struct{})
	}
	one := func(c int) {
		lo, hi := c*chunk, min((c+1)*chunk, len(recs))
		for i := lo; i < hi; i++ {
			r := recs[i]
			n, err := decodeBatch(f, bs[c], r.Key, r.Value, fast)
			out.recs[i] = decoded{rows: n, err: err, gen: gen}
		}
		rec := bs[c].NewRecord()
		out.chunks[c] = chunkRows{rec: rec, bytes: recordBytes(rec)}
		close(out.done[c])
	}
	if nchunks == 1 {
		one(0)
		return out, nil
	}
	var next atomic.Int64
	for w := min(runtime.GOMAXPROCS(0), 8, nchunks); w > 0; w-- {
		out.wg.Add(1)
		go func() {
			defer out.wg.Done()
			for c := int(next.Add(1) - 1); c < nchunks; c = int(next.Add(1) - 1) {
				one(c)
			}
		}()
	}
	return out, nil
}

// pending is the run of decoded rows not yet handed to the writer: rows
// [from, to) of one chunk's batch, of records applied in order.
type pending struct {
	rec      arrow.Record
	from, to int
	first    TopicPartition // where the run's first record came from
	offset   int64
}

// take adds rows [from, to) of rec (the rows of record r of tp) to the
// pending run, writing the run first when they do not extend it.
func (s *Sink) take(ctx context.Context, rec arrow.Record, from, to int, tp TopicPartition, r *kgo.Record) error {
	if from == to {
		return nil
	}
	if s.pend.rec == rec && s.pend.to == from {
		s.pend.to = to
		return nil
	}
	if err := s.writePending(ctx); err != nil {
		return err
	}
	s.pend = pending{rec: rec, from: from, to: to, first: tp, offset: r.Offset}
	return nil
}

// writePending hands the pending run to the writer. Its error is the
// writer's (the caller fails the batch).
func (s *Sink) writePending(ctx context.Context) error {
	p := s.pend
	s.pend = pending{}
	if p.rec == nil || p.from == p.to {
		return nil
	}
	part := p.rec
	if p.from != 0 || p.to != int(p.rec.NumRows()) {
		part = p.rec.NewSlice(int64(p.from), int64(p.to))
		defer part.Release()
	}
	if err := s.w.WriteBatch(ctx, part); err != nil {
		return fmt.Errorf("write %d rows from %s offset %d on: %w", p.to-p.from, p.first, p.offset, err)
	}
	return nil
}
