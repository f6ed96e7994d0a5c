package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// countingStore counts the bytes put into the store: data files apart from
// metadata.
type countingStore struct {
	objstore.Store
	data, meta atomic.Int64
}

func (c *countingStore) count(key string, n int) {
	if strings.Contains(key, "/data/") {
		c.data.Add(int64(n))
	} else {
		c.meta.Add(int64(n))
	}
}

func (c *countingStore) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	c.count(key, len(data))
	return c.Store.Put(ctx, key, data)
}

func (c *countingStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	c.count(key, len(data))
	return c.Store.PutIfAbsent(ctx, key, data)
}

func (c *countingStore) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (objstore.ObjectInfo, error) {
	c.count(key, len(data))
	return c.Store.PutIfMatch(ctx, key, data, etag)
}

// ampResult is what one amplification run measured.
type ampResult struct {
	logical, dataWritten, metaWritten int64
	flushed                           int64   // data bytes the writer flushed
	spaceAmp, maxSpaceAmp             float64 // mean and max over the second half
	runs, filesProbed, filesRead      float64 // per bucket / per point lookup, mean over samples
	maxRuns                           int
	compactions, stalls               int64
	stallTime                         time.Duration
}

// benchRow is a typical stream-state row; logicalBytes is its size as
// ingested (key and values, no overhead).
func benchRow(rng *rand.Rand, keys int) (types.Row, int64) {
	name := fmt.Sprintf("customer-%06d", rng.IntN(1_000_000))
	row := types.Row{int64(rng.IntN(keys)), name, types.Decimal(rng.Int64N(1e9)), int32(rng.IntN(1000)),
		types.Timestamp(1.7e15 + rng.Int64N(1e12))}
	return row, 8 + int64(len(name)) + 8 + 4 + 8
}

func benchAmpSchema(opts map[string]string) *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
			{ID: 2, Name: "amount", Type: types.TDecimal(12, 2)},
			{ID: 3, Name: "qty", Type: types.TInt},
			{ID: 4, Name: "updated", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 4,
		Options:        map[string]string{OptBucket: "2"},
	}
	for k, v := range opts {
		s.Options[k] = v
	}
	return s
}

// runAmplification upserts rows random keys of a key space of keys, in
// commits of batch rows, with inline compaction as configured, and
// measures write, space and read amplification.
func runAmplification(tb testing.TB, opts map[string]string, rows, keys, batch int) ampResult {
	ctx := context.Background()
	store := &countingStore{Store: objstore.NewMem()}
	t, err := Open("db.t", store, "wh/db.db/t/", benchAmpSchema(opts), Env{})
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var res ampResult
	var samples int
	w := t.NewWriter("bench")
	commits := rows / batch
	for c := 0; c < commits; c++ {
		for i := 0; i < batch; i++ {
			row, n := benchRow(rng, keys)
			if err := w.Write(ctx, types.UpdateAfter, row); err != nil {
				tb.Fatal(err)
			}
			res.logical += n
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			tb.Fatal(err)
		}
		if c >= commits/2 && c%5 == 0 {
			stored, runs, probed, read, maxRuns := sampleReadAmp(tb, t, rng, keys)
			res.spaceAmp += float64(stored) // divided by the live size below
			res.maxSpaceAmp = max(res.maxSpaceAmp, float64(stored))
			res.runs += runs
			res.filesProbed += probed
			res.filesRead += read
			res.maxRuns = max(res.maxRuns, maxRuns)
			samples++
		}
	}
	if err := w.Close(ctx); err != nil {
		tb.Fatal(err)
	}
	res.compactions = w.Stats().Compactions
	res.stalls, res.stallTime = w.Stats().Stalls, w.Stats().StallTime
	res.flushed = w.Stats().BytesWritten
	res.dataWritten, res.metaWritten = store.data.Load(), store.meta.Load()
	// The live data's own size: the table fully compacted.
	if _, err := t.Compact(ctx, CompactOptions{Full: true}); err != nil {
		tb.Fatal(err)
	}
	live, _, _, _, _ := sampleReadAmp(tb, t, rng, keys)
	res.spaceAmp /= float64(samples) * float64(live)
	res.maxSpaceAmp /= float64(live)
	res.runs /= float64(samples)
	res.filesProbed /= float64(samples)
	res.filesRead /= float64(samples)
	return res
}

// sampleReadAmp returns the bytes of live files, the mean sorted runs per
// bucket, and the files whose key range admits a key (probed) and whose
// bloom filter does too (read) per point lookup of 200 random keys.
func sampleReadAmp(tb testing.TB, t *Table, rng *rand.Rand, keys int) (int64, float64, float64, float64, int) {
	ctx := context.Background()
	snap, files, err := t.DataFiles(ctx, 0, 0)
	if err != nil || snap == nil {
		tb.Fatal(err)
	}
	var stored int64
	for _, f := range files {
		stored += f.Size
	}
	counts := compaction.CountRuns(files)
	var runs float64
	maxRuns := 0
	for _, n := range counts {
		runs += float64(n)
		maxRuns = max(maxRuns, n)
	}
	runs /= float64(len(counts))
	byBucket := map[int][]manifest.DataFile{}
	for _, f := range files {
		byBucket[f.Bucket] = append(byBucket[f.Bucket], f)
	}
	readers := map[string]*lsm.FileReader{}
	var probed, read int
	const lookups = 200
	for i := 0; i < lookups; i++ {
		k := int64(rng.IntN(keys))
		key, _ := types.EncodeKey(nil, k)
		b := types.Bucket(key, t.opts.Buckets)
		var srcs []lsm.FileSource
		for _, f := range byBucket[b] {
			srcs = append(srcs, lsm.FileSource{Meta: f, Open: func(ctx context.Context) (*lsm.FileReader, error) {
				if fr, ok := readers[f.Path]; ok {
					return fr, nil
				}
				fr, err := t.openFile(ctx, f)
				readers[f.Path] = fr
				return fr, err
			}})
		}
		_, _, st, err := lsm.Lookup(ctx, srcs, key, t.merger)
		if err != nil {
			tb.Fatal(err)
		}
		probed += st.Opened
		read += st.Opened - st.BloomPruned
	}
	return stored, runs, float64(probed) / lookups, float64(read) / lookups, maxRuns
}

// BenchmarkAmplification upserts 200,000 rows over 20,000 keys (each key
// overwritten ~10 times) in 100 commits of 2,000 rows into a table with two
// buckets, with inline compaction, and reports write amplification (data
// bytes written ÷ logical bytes ingested), space amplification (live bytes
// stored ÷ the same data fully compacted; mean and max over the second
// half) and read amplification (sorted runs per bucket, files a point
// lookup probes by key range, files it reads after bloom filters). The
// figures are in docs/benchmarks.md.
func BenchmarkAmplification(b *testing.B) {
	for _, cfg := range []struct {
		name string
		opts map[string]string
	}{
		{"defaults", nil},
		{"trigger=10", map[string]string{OptCompactionTrigger: "10"}},
		{"size-amp=50", map[string]string{OptMaxSizeAmp: "50"}},
		{"no-compaction", map[string]string{OptWriteOnly: "true", OptStopTrigger: "10000"}},
	} {
		b.Run(cfg.name, func(b *testing.B) {
			var r ampResult
			for i := 0; i < b.N; i++ {
				r = runAmplification(b, cfg.opts, 200_000, 20_000, 2_000)
			}
			b.ReportMetric(float64(r.dataWritten)/float64(r.logical), "write-amp")
			b.ReportMetric(float64(r.dataWritten+r.metaWritten)/float64(r.logical), "write-amp-with-meta")
			b.ReportMetric(float64(r.dataWritten)/float64(r.flushed), "bytes-written/bytes-flushed")
			b.ReportMetric(r.spaceAmp, "space-amp")
			b.ReportMetric(r.maxSpaceAmp, "max-space-amp")
			b.ReportMetric(r.runs, "runs/bucket")
			b.ReportMetric(float64(r.maxRuns), "max-runs")
			b.ReportMetric(r.filesProbed, "files-probed/lookup")
			b.ReportMetric(r.filesRead, "files-read/lookup")
			b.ReportMetric(float64(r.compactions), "compactions")
			b.ReportMetric(float64(r.stalls), "stalls")
			b.ReportMetric(float64(r.stallTime.Milliseconds()), "stall-ms")
			b.ReportMetric(float64(200_000)/b.Elapsed().Seconds()*float64(b.N), "rows/s")
		})
	}
}
