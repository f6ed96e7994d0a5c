package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// ingestBuckets is the bucket count of the ingest table (the ingest
// target's table: 4 buckets).
const ingestBuckets = 4

// upsert is one generated upsert.
type upsert struct {
	row     types.Row
	logical int64
}

// runIngest measures sustained primary-key upserts with inline compaction
// against the parquet-go encode-only limit and Pebble with a synced WAL.
func runIngest(ctx context.Context, b *runner, r *Result) error {
	r.Columns = []string{"rows_per_s", "cpu_us_per_row", "stored_B_per_row", "MB_per_s", "p50_visible_ms", "p99_visible_ms", "puts_per_M_rows", "reads_per_M_rows", "write_amp", "commits", "compactions"}
	n := b.rows
	batch := max(n/20, 1)
	if b.cfg.CommitEvery > 0 {
		batch = b.cfg.CommitEvery
	}
	keys := max(n/2, 1)
	schema := benchSchema(ingestBuckets, ingestOptions())
	peer, err := ingestPeer(schema)
	if err != nil {
		return err
	}
	ups, logical := ingestUpserts(b.cfg.Seed, n, keys)
	r.note("%d upserts of uniformly random keys over %d keys (%.0f logical bytes per row), commit every %d rows, %d buckets, inline compaction on (defaults)",
		n, keys, float64(logical)/float64(n), batch, ingestBuckets)
	r.note("silt is fed through WriteBatch: +U change batches of at most %d rows built before the clock starts (as the parquet-go peer's rows are); timed are WriteBatch, the commits and inline compaction",
		ingestBatchRows)

	// Each system runs with only its own input live: the change batches
	// for silt, the generated rows (rebuilt from the seed) for the peers.
	// The boxed rows are a heap of pointers the garbage collector would
	// otherwise scan throughout silt's runs.
	r.note("compression: silt's flushes (level 0) %s, compacted files %s; the parquet-go peer %s, %d-byte pages like silt's (table defaults unless set: %s)",
		peer.flush, peer.top, peer.desc, peer.pageBytes, optionList(ingestOptions()))
	recs, err := ingestBatches(schema, ups, batch)
	if err != nil {
		return err
	}
	ups = nil
	release := func() {
		for _, r := range recs {
			r.Release()
		}
		recs = nil
	}
	defer release()
	silt, err := b.ingestSilt(ctx, b.cfg.Store, recs, n, batch, logical, "silt")
	if err != nil {
		return err
	}
	silt.Case = b.cfg.StoreKind + " store"
	r.add(silt)

	mem, err := b.ingestSilt(ctx, objstore.NewMem(), recs, n, batch, logical, "silt-mem")
	if err != nil {
		return err
	}
	mem.Case = "in-memory store (no I/O)"
	r.add(mem)
	release()

	b.progress("ingest: parquet-go encode-only of the same %d rows", n)
	ups, _ = ingestUpserts(b.cfg.Seed, n, keys)
	pq := make([]pqRow, n)
	for i, u := range ups {
		pq[i] = toPQ(u.row)
	}
	ups = nil
	start, cpu0 := b.cfg.Now(), processCPU()
	var encoded int64
	for lo := 0; lo < n; lo += batch {
		sz, err := parquetEncode(peer.codec, peer.pageBytes, pq[lo:min(lo+batch, n)])
		if err != nil {
			return err
		}
		encoded += int64(sz)
	}
	secs := b.since(start)
	pqCPU := cpuPerRow(processCPU()-cpu0, n)
	r.add(Measurement{System: "parquet-go encode", Case: "no storage (CPU limit)", Values: map[string]float64{
		"rows_per_s": round3(float64(n) / secs), "cpu_us_per_row": pqCPU, "MB_per_s": round3(float64(logical) / 1e6 / secs),
		"write_amp": round3(float64(encoded) / float64(logical)),
	}, Note: "one file per commit batch, " + peer.desc + ", no hidden columns"})

	pq = nil
	b.progress("ingest: Pebble applying the same %d upserts, synced WAL per batch", n)
	ups, _ = ingestUpserts(b.cfg.Seed, n, keys)
	peb, err := b.ingestPebble(ups, batch, logical)
	if err != nil {
		return err
	}
	r.add(peb)

	siltRate := silt.Values["rows_per_s"]
	share := r.ratio("silt_rows_per_s / parquet_encode_rows_per_s", siltRate, float64(n)/secs)
	r.ratio("silt_rows_per_s / pebble_rows_per_s", siltRate, peb.Values["rows_per_s"])
	r.ratio("silt_rows_per_s / silt_mem_rows_per_s", siltRate, mem.Values["rows_per_s"])
	r.ratio("parquet_encode_cpu_per_row / silt_mem_cpu_per_row", pqCPU, mem.Values["cpu_us_per_row"])
	r.target("ingest rate vs parquet-go encode-only", "≥ 0.40", share, 0.40, false)
	r.target("S3 PUTs per million rows", "≤ 20", silt.Values["puts_per_M_rows"], 20, true)
	r.note("PUT floor of this commit interval without compaction: %d buckets + manifest + manifest list + snapshot + LATEST hint = %d PUTs per commit = %.0f per million rows; ≤ 20 needs commits of ≥ %d rows (--commit-every)",
		ingestBuckets, ingestBuckets+4, float64(ingestBuckets+4)*1e6/float64(batch), (ingestBuckets+4)*1_000_000/20)
	r.note("write→visible: from the write of a row (silt: its WriteBatch; every 16th row sampled) to the return of the Commit that published it; write_amp = all bytes PUT (data, compaction, metadata) ÷ logical bytes ingested; Pebble's write_amp is not measured")
	return nil
}

// ingestOptions are the table options of the ingest table beyond its
// bucket count: none, so it measures the defaults.
func ingestOptions() map[string]string { return nil }

// ingestPeerSetup is the parquet-go peer's codec: that of silt's files at
// the last level (compacted data), at silt's page size.
type ingestPeerSetup struct {
	codec      compress.Codec
	pageBytes  int
	desc       string // the peer's codec and level
	flush, top string // silt's codecs at level 0 and at the last level
}

func ingestPeer(schema *types.Schema) (ingestPeerSetup, error) {
	o, err := table.ParseOptions(schema.Options)
	if err != nil {
		return ingestPeerSetup{}, err
	}
	top := o.Compression.ForLevel(o.Compaction.NumLevels - 1)
	p := ingestPeerSetup{pageBytes: o.PageBytes, flush: o.Compression.ForLevel(0).String(), top: top.String()}
	switch top.Codec {
	case lsm.CodecSnappy:
		p.codec = &snappy.Codec{}
	case lsm.CodecLZ4Raw:
		p.codec = &lz4.Codec{Level: lz4.Fastest}
	case lsm.CodecUncompressed:
		p.codec = &uncompressed.Codec{}
	default:
		p.codec = &zstd.Codec{Level: top.ZstdEncoder()}
	}
	p.desc = top.String()
	if top.Codec == lsm.CodecZstd {
		p.desc = fmt.Sprintf("%s (encoder level %s)", top, top.ZstdEncoder())
	}
	return p, nil
}

// optionList formats table options as k=v pairs, sorted.
func optionList(opts map[string]string) string {
	if len(opts) == 0 {
		return "none set"
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		kv = append(kv, k+"="+opts[k])
	}
	return strings.Join(kv, ", ")
}

// storedBytes is the size of the data files of t's latest snapshot.
func storedBytes(ctx context.Context, t *table.Table) (int64, error) {
	snap, err := t.Latest(ctx)
	if err != nil || snap == nil {
		return 0, err
	}
	files, err := t.Meta().Files(ctx, snap)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n, nil
}

// cpuPerRow is CPU time in microseconds per row (0 where processCPU is
// not measured).
func cpuPerRow(cpu time.Duration, n int) float64 {
	if cpu <= 0 || n <= 0 {
		return 0
	}
	return round3(float64(cpu.Microseconds()) / float64(n))
}

// ingestUpserts generates n upserts of uniformly random keys over keys
// keys, the same for a seed, and their logical bytes.
func ingestUpserts(seed uint64, n, keys int) ([]upsert, int64) {
	g := newRowGen(seed, keys)
	ups := make([]upsert, n)
	var logical int64
	for i := range ups {
		row, sz := g.row(g.randomKey())
		ups[i] = upsert{row, sz}
		logical += sz
	}
	return ups, logical
}

// ingestBatchRows caps the rows of one change batch handed to WriteBatch;
// batches never span commits.
const ingestBatchRows = 4096

// ingestBatches builds the change batches of ups (+U rows) once, before
// anything is timed, as the parquet-go peer's rows are: batches of at most
// ingestBatchRows rows that end at every commit point.
func ingestBatches(schema *types.Schema, ups []upsert, batch int) ([]arrow.Record, error) {
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		return nil, err
	}
	var out []arrow.Record
	rows := make([]types.Row, 0, ingestBatchRows)
	for lo := 0; lo < len(ups); lo += batch {
		hi := min(lo+batch, len(ups))
		for b := lo; b < hi; b += ingestBatchRows {
			rows = rows[:0]
			for _, u := range ups[b:min(b+ingestBatchRows, hi)] {
				rows = append(rows, append(u.row[:len(u.row):len(u.row)], types.UpdateAfter))
			}
			rec, err := types.BuildRecord(nil, as, rows)
			if err != nil {
				return nil, err
			}
			out = append(out, rec)
		}
	}
	return out, nil
}

// ingestSilt upserts the n rows of the change batches recs (see
// ingestBatches) into a fresh table on store through WriteBatch and
// measures it. The timed part is WriteBatch, the commits (flush, upload,
// publish) and inline compaction.
func (b *runner) ingestSilt(ctx context.Context, store objstore.Store, recs []arrow.Record, n, batch int, logical int64, name string) (Measurement, error) {
	cs := newCountingStore(store)
	cat, err := b.openCatalog(ctx, cs)
	if err != nil {
		return Measurement{}, err
	}
	t, err := cat.CreateTable(ctx, benchDB, "ingest_"+name, benchSchema(ingestBuckets, ingestOptions()), false)
	if err != nil {
		return Measurement{}, err
	}
	lat := &latencies{}
	var pending []time.Time
	w := t.NewWriter("bench-ingest")
	before := cs.counts()
	start, cpu0 := b.cfg.Now(), processCPU()
	last := start
	i := 0 // rows written
	for _, rec := range recs {
		// write→visible is sampled every 16th row, as for the peers: each
		// sampled row of the batch is written now.
		now := b.cfg.Now()
		for j := i; j < i+int(rec.NumRows()); j++ {
			if j%16 == 0 {
				pending = append(pending, now)
			}
		}
		if err := w.WriteBatch(ctx, rec); err != nil {
			_ = w.Abort(ctx)
			return Measurement{}, err
		}
		i += int(rec.NumRows())
		if i%batch == 0 || i == n {
			if _, err := w.Commit(ctx, fmt.Sprint(i-1)); err != nil {
				_ = w.Abort(ctx)
				return Measurement{}, err
			}
			visible := b.cfg.Now()
			for _, p := range pending {
				lat.add(visible.Sub(p))
			}
			pending = pending[:0]
			if visible.Sub(last) >= time.Second || i == n {
				last = visible
				b.progress("ingest %s: %d/%d rows, %.0f rows/s", name, i, n, float64(i)/visible.Sub(start).Seconds())
			}
		}
	}
	if err := w.Close(ctx); err != nil {
		return Measurement{}, err
	}
	secs := b.since(start)
	cpu := processCPU() - cpu0
	c := cs.counts().sub(before)
	st := w.Stats()
	stored, err := storedBytes(ctx, t)
	if err != nil {
		return Measurement{}, err
	}
	return Measurement{System: "silt", Values: map[string]float64{
		"rows_per_s": round3(float64(n) / secs), "cpu_us_per_row": cpuPerRow(cpu, n), "stored_B_per_row": round3(float64(stored) / float64(n)), "MB_per_s": round3(float64(logical) / 1e6 / secs),
		"p50_visible_ms": round3(lat.quantileMs(0.5)), "p99_visible_ms": round3(lat.quantileMs(0.99)),
		"puts_per_M_rows": round3(float64(c.allPuts()) * 1e6 / float64(n)),
		// GETs, HEADs and LISTs: metadata reads (commits, compaction
		// rounds) and compaction's data reads.
		"reads_per_M_rows": round3(float64(c.Gets+c.Stats+c.Lists) * 1e6 / float64(n)),
		"write_amp":        round3(float64(c.BytesPut) / float64(logical)),
		"commits":          float64(st.Commits), "compactions": float64(st.Compactions),
	}}, nil
}

// ingestPebble applies ups to a local Pebble with a synced WAL commit per
// batch (the same durability points as silt's commits).
func (b *runner) ingestPebble(ups []upsert, batch int, logical int64) (Measurement, error) {
	dir, err := b.tempDir("pebble-ingest")
	if err != nil {
		return Measurement{}, err
	}
	db, err := openPebble(dir)
	if err != nil {
		return Measurement{}, err
	}
	n := len(ups)
	lat := &latencies{}
	var pending []time.Time
	start := b.cfg.Now()
	wb := db.NewBatch()
	for i, u := range ups {
		if i%16 == 0 {
			pending = append(pending, b.cfg.Now())
		}
		if err := wb.Set(pebbleKey(u.row[0].(int64)), pebbleValue(u.row), nil); err != nil {
			db.Close()
			return Measurement{}, fmt.Errorf("pebble: %w", err)
		}
		if (i+1)%batch == 0 || i == n-1 {
			if err := wb.Commit(pebble.Sync); err != nil {
				db.Close()
				return Measurement{}, fmt.Errorf("pebble: %w", err)
			}
			wb.Close()
			wb = db.NewBatch()
			visible := b.cfg.Now()
			for _, p := range pending {
				lat.add(visible.Sub(p))
			}
			pending = pending[:0]
		}
	}
	wb.Close()
	secs := b.since(start)
	if err := db.Close(); err != nil {
		return Measurement{}, fmt.Errorf("pebble: %w", err)
	}
	return Measurement{System: "pebble", Case: "local disk, synced WAL per batch", Values: map[string]float64{
		"rows_per_s": round3(float64(n) / secs), "MB_per_s": round3(float64(logical) / 1e6 / secs),
		"p50_visible_ms": round3(lat.quantileMs(0.5)), "p99_visible_ms": round3(lat.quantileMs(0.99)),
	}}, nil
}
