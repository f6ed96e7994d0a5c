package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// batchSchemaV1 has a column of every type; batchSchemaV2 is it after an
// ALTER: INT→BIGINT, FLOAT→DOUBLE, DECIMAL(8,2)→DECIMAL(14,2) widened,
// and columns added with and without defaults.
func batchSchemaV1(engine string, rng *rand.Rand) *types.Schema {
	s := &types.Schema{
		ID: 1,
		Fields: []types.Field{
			{ID: 0, Name: "region", Type: types.TString, NotNull: true},
			{ID: 1, Name: "id", Type: types.TInt, NotNull: true},
			{ID: 2, Name: "flag", Type: types.TBoolean},
			{ID: 3, Name: "n", Type: types.TInt},
			{ID: 4, Name: "f", Type: types.TFloat},
			{ID: 5, Name: "d", Type: types.TDouble},
			{ID: 6, Name: "price", Type: types.TDecimal(8, 2)},
			{ID: 7, Name: "note", Type: types.TString},
			{ID: 8, Name: "blob", Type: types.TBytes},
			{ID: 9, Name: "day", Type: types.TDate},
			{ID: 10, Name: "at", Type: types.TTimestamp},
			{ID: 11, Name: "big", Type: types.TBigInt},
		},
		PrimaryKeys:    []string{"region", "id"},
		HighestFieldID: 11,
		Options: map[string]string{
			OptBucket:          fmt.Sprint(1 + rng.IntN(3)),
			OptWriteBufferSize: "2kb", // many flushes: several sorted runs per bucket
			OptRowGroupRows:    "7",   // several row groups per file
		},
	}
	switch engine {
	case "deduplicate+seq":
		s.Options[OptMergeEngine] = "deduplicate"
		s.Options[OptSequenceField] = "big"
	case "first-row+seq":
		s.Options[OptMergeEngine] = "first-row"
		s.Options[OptSequenceField] = "big"
	default:
		s.Options[OptMergeEngine] = engine
	}
	if engine == "aggregation" {
		s.Options["fields.n.aggregate-function"] = "sum"
		s.Options["fields.note.aggregate-function"] = "last_non_null_value"
		s.Options["fields.price.aggregate-function"] = "max"
		s.Options["fields.big.aggregate-function"] = "min"
		s.Options["fields.flag.aggregate-function"] = "bool_or"
	}
	if rng.IntN(2) == 0 {
		s.PartitionKeys = []string{"region"}
	}
	if rng.IntN(2) == 0 {
		s.Options[OptWriteOnly] = "true" // keep every sorted run
		s.Options[OptStopTrigger] = "10000"
	}
	if rng.IntN(3) == 0 {
		s.Options[OptRecordExpireColumn] = "at"
		s.Options[OptRecordExpireTime] = "1h"
	}
	return s
}

func batchSchemaV2(v1 *types.Schema) *types.Schema {
	s := engineSchemaLike(v1)
	s.Fields[3].Type = types.TBigInt
	s.Fields[4].Type = types.TDouble
	s.Fields[6].Type = types.TDecimal(14, 2)
	seven, word := "7", "x y"
	s.Fields = append(s.Fields,
		types.Field{ID: 12, Name: "added_big", Type: types.TBigInt, Default: &seven},
		types.Field{ID: 13, Name: "added_str", Type: types.TString, Default: &word},
		types.Field{ID: 14, Name: "added_null", Type: types.TDouble},
	)
	s.HighestFieldID = 14
	return s
}

// batchSchemas is the SchemaLoader of TestBatchesMatchRows: the versions
// written so far, the last one latest.
type batchSchemas struct {
	byID   map[int64]*types.Schema
	latest *types.Schema
}

func (l *batchSchemas) LoadSchema(_ context.Context, id int64) (*types.Schema, error) {
	if s, ok := l.byID[id]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w: schema %d", types.ErrNotFound, id)
}

func (l *batchSchemas) LatestSchema(context.Context) (*types.Schema, error) { return l.latest, nil }

func (l *batchSchemas) CheckWriter(context.Context, *types.Schema) error { return nil }

// batchTestNow is the clock of the record-TTL cases.
var batchTestNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func randBatchRow(rng *rand.Rand, s *types.Schema, keys int) types.Row {
	row := make(types.Row, len(s.Fields))
	row[0] = []string{"eu", "us", "", "a/b c"}[rng.IntN(4)]
	row[1] = int32(rng.IntN(keys))
	for c := 2; c < len(row); c++ {
		if rng.IntN(4) == 0 {
			continue // NULL
		}
		switch f := s.Fields[c]; f.Type.Kind {
		case types.Boolean:
			row[c] = rng.IntN(2) == 0
		case types.Int:
			row[c] = rng.Int32N(2000) - 1000
		case types.BigInt:
			row[c] = rng.Int64N(1<<40) - 1<<39
		case types.Float:
			row[c] = []float32{0, -1.5, float32(math.Inf(1)), rng.Float32()}[rng.IntN(4)]
		case types.Double:
			row[c] = []float64{0, math.Copysign(0, -1), math.MaxFloat64, rng.NormFloat64()}[rng.IntN(4)]
		case types.DecimalKind:
			row[c] = types.Decimal(rng.Int64N(2e7) - 1e7)
		case types.String:
			row[c] = []string{"", "a", "\x00", "héllo", fmt.Sprint(rng.Int())}[rng.IntN(5)]
		case types.Bytes:
			row[c] = [][]byte{{}, {0}, {1, 2, 3}, []byte(fmt.Sprint(rng.Int()))}[rng.IntN(4)]
		case types.DateKind:
			row[c] = types.Date(rng.Int32N(40000))
		case types.TimestampKind:
			// around the TTL cutoff (now - 1h)
			row[c] = types.Timestamp(batchTestNow.Add(-time.Duration(rng.Int64N(int64(2 * time.Hour)))).UnixMicro())
		}
	}
	return row
}

// recordsOf collects a batch iteration as rows, checking each batch's
// schema and size.
func recordsOf(t *testing.T, it func(func(arrow.Record, error) bool), schema *arrow.Schema) ([]types.Row, error) {
	t.Helper()
	var rows []types.Row
	var err error
	it(func(rec arrow.Record, e error) bool {
		if e != nil {
			err = e
			return false
		}
		if n := rec.NumRows(); n == 0 || n > BatchRows {
			t.Fatalf("batch of %d rows", n)
		}
		if !rec.Schema().Equal(schema) {
			t.Fatalf("batch schema %s, want %s", rec.Schema(), schema)
		}
		rows = append(rows, types.RecordRows(rec)...)
		return true
	})
	return rows, err
}

func batchValueEqual(a, b types.Value) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return (a == nil) == (b == nil) && (a == nil || types.Compare(a, b) == 0 && fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b))
}

// compareBatches scans tb both ways with opts and compares row by row:
// the columnar Batches against rowBatches (Rows), with the columns outside
// opts.Columns NULL in Batches.
func compareBatches(t *testing.T, tb *Table, opts ScanOptions, what string) int {
	t.Helper()
	ctx := context.Background()
	s, err := tb.NewScan(ctx, opts)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer func() { _ = s.Close(ctx) }()
	schema, err := types.ArrowSchema(s.Schema(), false)
	if err != nil {
		t.Fatal(err)
	}
	want, err := recordsOf(t, s.rowBatches(ctx), schema)
	if err != nil {
		t.Fatalf("%s: rowBatches: %v", what, err)
	}
	got, err := recordsOf(t, s.Batches(ctx), schema)
	if err != nil {
		t.Fatalf("%s: Batches: %v", what, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: Batches %d rows, Rows %d", what, len(got), len(want))
	}
	for i := range got {
		for c := range got[i] {
			w := want[i][c]
			if opts.Columns != nil && !slices.Contains(opts.Columns, c) {
				w = nil // Rows may carry the columns the merge engine or TTL read
			}
			if !batchValueEqual(got[i][c], w) {
				t.Fatalf("%s: row %d column %q: Batches %v (%T), Rows %v (%T)\nBatches %v\nRows    %v",
					what, i, s.Schema().Fields[c].Name, got[i][c], got[i][c], w, w, got[i], want[i])
			}
		}
	}
	return len(got)
}

// TestBatchesMatchRows writes random changelogs (every merge engine,
// NULLs, deletes, several runs and row groups, partitioned or not, record
// TTL, then an ALTER that widens and adds columns) and compares the
// columnar Batches with Rows row for row, under random projections and at
// past snapshots.
func TestBatchesMatchRows(t *testing.T) {
	engines := []string{"deduplicate", "deduplicate+seq", "first-row", "first-row+seq", "partial-update", "aggregation"}
	for _, seed := range testkit.Seeds(t, 2) {
		for _, engine := range engines {
			t.Run(fmt.Sprintf("%d/%s", seed, engine), func(t *testing.T) {
				testkit.LogSeed(t, seed)
				rng := rand.New(rand.NewPCG(seed, uint64(len(engine))))
				runBatchModel(t, rng, engine)
			})
		}
	}
}

func runBatchModel(t *testing.T, rng *rand.Rand, engine string) {
	ctx := context.Background()
	store := objstore.NewMem()
	v1 := batchSchemaV1(engine, rng)
	loader := &batchSchemas{byID: map[int64]*types.Schema{}}
	env := Env{Now: func() time.Time { return batchTestNow }, Schemas: loader}
	keys := 10 + rng.IntN(80)
	var snaps []int64
	total := 0
	for phase, schema := range []*types.Schema{v1, batchSchemaV2(v1)} {
		loader.byID[schema.ID], loader.latest = schema, schema
		tb, err := Open("db.t", store, "t/", schema, env)
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < 2+rng.IntN(4); c++ {
			w := tb.NewWriter("w")
			for i := rng.IntN(150); i > 0; i-- {
				kind := types.Insert
				switch p := rng.IntN(10); {
				case p < 2:
					kind = types.Delete
				case p < 3:
					kind = types.UpdateBefore
				case p < 5:
					kind = types.UpdateAfter
				}
				if err := w.Write(ctx, kind, randBatchRow(rng, schema, keys)); err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			snap, err := w.Commit(ctx, fmt.Sprint(phase, c))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if snap != nil {
				snaps = append(snaps, snap.ID)
			}
		}
		n := len(schema.Fields)
		for try := 0; try < 6; try++ {
			opts := ScanOptions{}
			if try > 0 && rng.IntN(3) > 0 {
				opts.Columns = []int{}
				for c := 0; c < n; c++ {
					if rng.IntN(3) == 0 {
						opts.Columns = append(opts.Columns, c)
					}
				}
			}
			if try == 5 { // a point lookup (through Rows)
				r := randBatchRow(rng, schema, keys)
				opts.Equals = map[int]types.Value{0: r[0], 1: r[1]}
			}
			if try > 0 && len(snaps) > 0 && rng.IntN(3) == 0 {
				opts.SnapshotID = snaps[rng.IntN(len(snaps))]
				// time travel with the schema the snapshot was written
				// with (v1 before the ALTER)
				opts.SnapshotSchema = rng.IntN(2) == 0 && opts.Columns == nil
			}
			total += compareBatches(t, tb, opts, fmt.Sprintf("phase %d try %d (snapshot %d, snapshot schema %v, columns %v)", phase, try, opts.SnapshotID, opts.SnapshotSchema, opts.Columns))
		}
	}
	if total == 0 {
		t.Log("no rows compared")
	}
}

// TestBatchesStopAndCancel stops a columnar scan after its first batch
// and cancels one mid-way: both end promptly, the second with the
// context's error.
func TestBatchesStopAndCancel(t *testing.T) {
	ctx := context.Background()
	s := batchSchemaV1("deduplicate", rand.New(rand.NewPCG(1, 1)))
	s.Options[OptBucket] = "4"
	tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	w := tb.NewWriter("w")
	for range 2000 {
		if err := w.Write(ctx, types.Insert, randBatchRow(rng, s, 5000)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	scan, err := tb.NewScan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range scan.Batches(ctx) {
		break
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last error
	n := 0
	for _, err := range scan.Batches(cctx) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 1 {
			cancel()
		}
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("cancelled scan ended with %v, want context.Canceled", last)
	}
}

// TestBatchesCorruptFile damages one data file of a 4-bucket table (a
// byte flipped in each row group's range): Batches, reading buckets in
// parallel, ends with an error wrapping types.ErrCorruption, as Rows
// does, never a panic or a hang.
func TestBatchesCorruptFile(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	s := batchSchemaV1("deduplicate", rand.New(rand.NewPCG(3, 3)))
	s.Options[OptBucket] = "4"
	tb, err := Open("db.t", mem, "t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	w := tb.NewWriter("w")
	for range 400 {
		if err := w.Write(ctx, types.Insert, randBatchRow(rng, s, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	latest, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tb.Meta().Files(ctx, latest)
	if err != nil || len(files) < 2 {
		t.Fatalf("want several data files: %d, %v", len(files), err)
	}
	victim := files[len(files)/2]
	data, _, err := mem.Get(ctx, tb.Root()+victim.Path)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Clone(data)
	for i := 100; i < len(data)/2; i += 97 {
		data[i] ^= 0x20
	}
	if _, err := mem.Put(ctx, tb.Root()+victim.Path, data); err != nil {
		t.Fatal(err)
	}
	scan, err := tb.NewScan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for _, err := range scan.Batches(ctx) {
		if err != nil {
			last = err
		}
	}
	if !errors.Is(last, types.ErrCorruption) {
		t.Fatalf("Batches over a damaged file ended with %v, want ErrCorruption", last)
	}
}
