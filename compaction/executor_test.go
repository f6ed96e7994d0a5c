package compaction

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func testSchema() *types.Schema {
	return &types.Schema{
		ID: 3,
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "v", Type: types.TString},
			{ID: 2, Name: "ts", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 2,
	}
}

// lastWins is a deduplicate merge engine without Dropper.
type lastWins struct{}

func (lastWins) Merge(recs []lsm.Record) lsm.Record {
	r := recs[len(recs)-1]
	if !r.Kind.IsAdd() {
		r.Kind = types.Delete
	}
	return r
}

// droppingLastWins may drop every tombstone.
type droppingLastWins struct{ lastWins }

func (droppingLastWins) CanDrop(*lsm.Record) bool { return true }

type row struct {
	id   int64
	kind types.RowKind
	v    string
	ts   any // nil or int64 microseconds
}

func record(t testing.TB, r row, seq int64) lsm.Record {
	t.Helper()
	var ts types.Value
	if r.ts != nil {
		ts = types.Timestamp(r.ts.(int64))
	}
	vals := types.Row{r.id, r.v, ts}
	if !r.kind.IsAdd() {
		vals = types.Row{r.id, nil, ts}
	}
	key, err := types.EncodeRowKey(nil, vals, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	return lsm.Record{Key: key, Seq: seq, Kind: r.kind, Row: vals, Merged: true}
}

type fixture struct {
	t     *testing.T
	store *objstore.Mem
	root  string
	n     int
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, store: objstore.NewMem(), root: "wh/db.db/t/"}
}

// run writes rows (sorted by id, one per key) as a sorted run at level
// with sequence numbers seqBase+i; the files store commit-local sequence
// numbers when local is set, as writers do.
func (fx *fixture) run(level int, seqBase int64, local bool, target int64, rows []row) []manifest.DataFile {
	t := fx.t
	recs := make([]lsm.Record, len(rows))
	for i, r := range rows {
		recs[i] = record(t, r, seqBase+int64(i))
		if local {
			recs[i].Seq = int64(i)
		}
	}
	enc, err := lsm.WriteFiles(recs, testSchema(), lsm.WriterOptions{TargetFileSize: target, RowGroupRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	var out []manifest.DataFile
	for _, f := range enc {
		fx.n++
		path := DataFilePath("", 0, fmt.Sprintf("in-%d", fx.n))
		if _, err := fx.store.Put(context.Background(), fx.root+path, f.Data); err != nil {
			t.Fatal(err)
		}
		df := manifest.DataFile{Path: path, Level: level, RowCount: f.RowCount, DeleteCount: f.DeleteCount,
			Size: int64(len(f.Data)), MinKey: f.MinKey, MaxKey: f.MaxKey, MinSeq: f.MinSeq, MaxSeq: f.MaxSeq, SchemaID: 3}
		if local {
			df.SeqBase = seqBase
			df.MinSeq += seqBase
			df.MaxSeq += seqBase
		}
		out = append(out, df)
	}
	return out
}

func (fx *fixture) executor(m lsm.Merger, o Options) *Executor {
	n := 0
	return &Executor{Store: fx.store, Root: fx.root, Schema: testSchema(), Merger: m, Options: o,
		Now:   func() time.Time { return time.UnixMilli(1_700_000_000_000) },
		NewID: func() string { n++; return fmt.Sprintf("out-%d", n) }}
}

// contents reads files (one LSM tree) and renders every merged record.
func (fx *fixture) contents(files []manifest.DataFile) map[int64]string {
	t := fx.t
	ctx := context.Background()
	var srcs []iter.Seq2[lsm.Record, error]
	for _, f := range files {
		data, _, err := fx.store.Get(ctx, fx.root+f.Path)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := lsm.OpenFile(ctx, bytes.NewReader(data), f.Size, testSchema(), f.SeqBase)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, fr.All(ctx))
	}
	out := map[int64]string{}
	for r, err := range lsm.MergeRuns(ctx, srcs, lastWins{}, true) {
		if err != nil {
			t.Fatal(err)
		}
		id := r.Row[0].(int64)
		if r.Kind.IsAdd() {
			out[id] = r.Row[1].(string)
		} else {
			out[id] = "<deleted>"
		}
	}
	return out
}

func seqRows(from, to int64, v string) []row {
	var out []row
	for i := from; i < to; i++ {
		out = append(out, row{id: i, kind: types.Insert, v: v})
	}
	return out
}

// TestExecuteMergesAndUpgrades: overlapping inputs are merged in sequence
// order, a file that overlaps nothing is upgraded without rewriting, and
// tombstones are kept unless the plan may drop deletes and the merge
// engine allows it.
func TestExecuteMergesAndUpgrades(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		drop        bool
		merger      lsm.Merger
		wantDeleted bool
	}{
		{"keep deletes", false, droppingLastWins{}, true},
		{"drop deletes", true, droppingLastWins{}, false},
		{"engine without Dropper", true, lastWins{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			a := seqRows(0, 50, "a")
			a[10] = row{id: 10, kind: types.Delete}
			runA := fx.run(0, 300, false, 1<<20, a)
			runB := fx.run(0, 200, true, 1<<20, seqRows(25, 75, "b"))
			runC := fx.run(0, 100, true, 1<<20, seqRows(1000, 2000, "c"))
			runD := fx.run(2, 0, false, 1<<20, seqRows(0, 100, "d"))
			p := Plan{Inputs: []Run{{0, runA}, {0, runB}, {0, runC}, {2, runD}}, OutputLevel: 5, DropDeletes: tc.drop}
			ex := fx.executor(tc.merger, Options{UpgradeMinSize: 1})
			res, err := ex.Execute(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Upgrades) != 1 || res.Upgrades[0] != (manifest.Upgrade{Path: runC[0].Path, FromLevel: 0, Level: 5}) {
				t.Errorf("upgrades: %+v", res.Upgrades)
			}
			if got := len(res.Deleted); got != 3 {
				t.Errorf("%d files deleted, want A, B and D", got)
			}
			for _, f := range res.Added {
				if f.Level != 5 || f.SeqBase != 0 || f.SchemaID != 3 || f.MaxSeq >= 350 {
					t.Errorf("output file %+v", f)
				}
			}
			got := fx.contents(res.Added)
			want := map[int64]string{}
			for i := int64(0); i < 100; i++ {
				switch {
				case i < 50:
					want[i] = "a"
				case i < 75:
					want[i] = "b"
				default:
					want[i] = "d"
				}
			}
			if tc.wantDeleted {
				want[10] = "<deleted>"
			} else {
				delete(want, 10)
			}
			if d := diffMaps(got, want); d != "" {
				t.Errorf("merged output:\n%s", d)
			}
			if tc.wantDeleted == (res.Stats.DeletesDropped != 0) {
				t.Errorf("DeletesDropped = %d", res.Stats.DeletesDropped)
			}
			if res.Stats.FilesRead != 3 || res.Stats.FilesUpgraded != 1 || res.Stats.RecordsWritten != int64(len(want)) {
				t.Errorf("stats %+v", res.Stats)
			}
		})
	}
}

// noise is an incompressible 64-character string.
func noise(i int64) string {
	var b strings.Builder
	x := uint64(i)*0x9e3779b97f4a7c15 + 1
	for b.Len() < 64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&b, "%016x", x)
	}
	return b.String()
}

func diffMaps(got, want map[int64]string) string {
	var d []string
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			d = append(d, fmt.Sprintf("key %d: got %q want %q", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("key %d: extra %q", k, g))
		}
	}
	if len(d) > 10 {
		d = d[:10]
	}
	return strings.Join(d, "\n")
}

// TestExecuteTargetFileSize: outputs are split near the target size, have
// disjoint increasing key ranges, and small inputs are rewritten rather
// than upgraded; a tiny buffer limit still produces a correct output.
func TestExecuteTargetFileSize(t *testing.T) {
	ctx := context.Background()
	for _, maxBuf := range []int64{0, 32 << 10} {
		t.Run(fmt.Sprintf("maxBuffer=%d", maxBuf), func(t *testing.T) {
			fx := newFixture(t)
			var r1, r2 []row
			for i := int64(0); i < 3000; i++ {
				r1 = append(r1, row{id: i, kind: types.Insert, v: noise(i)})
				if i%3 == 0 {
					r2 = append(r2, row{id: i, kind: types.Insert, v: fmt.Sprintf("new-%d", i)})
				}
			}
			old := fx.run(1, 0, false, 1<<30, r1)
			newer := fx.run(0, 5000, true, 1<<30, r2)
			small := fx.run(0, 9000, true, 1<<30, seqRows(10000, 10010, "s")) // disjoint but small
			const target = 16 << 10
			ex := fx.executor(lastWins{}, Options{TargetFileSize: target, MaxBufferBytes: maxBuf})
			res, err := ex.Execute(ctx, Plan{Inputs: []Run{{0, small}, {0, newer}, {1, old}}, OutputLevel: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Upgrades) != 0 {
				t.Errorf("a file below UpgradeMinSize was upgraded: %+v", res.Upgrades)
			}
			if len(res.Added) < 3 {
				t.Fatalf("%d output files for ~%d bytes at target %d", len(res.Added), res.Stats.BytesWritten, target)
			}
			for i, f := range res.Added {
				if i > 0 && bytes.Compare(res.Added[i-1].MaxKey, f.MinKey) >= 0 {
					t.Errorf("output files %d and %d overlap", i-1, i)
				}
				if maxBuf == 0 && i < len(res.Added)-2 && f.Size < target/2 {
					t.Errorf("output file %d has %d bytes, target %d", i, f.Size, target)
				}
			}
			got := fx.contents(res.Added)
			if len(got) != 3010 {
				t.Fatalf("%d keys, want 3010", len(got))
			}
			for i := int64(0); i < 3000; i += 3 {
				if got[i] != fmt.Sprintf("new-%d", i) {
					t.Fatalf("key %d = %q", i, got[i])
				}
			}
			if got[1] != r1[1].v || got[10005] != "s" {
				t.Errorf("keys 1, 10005 = %q, %q", got[1], got[10005])
			}
		})
	}
}

// TestExecuteExpire: with a TTL, a compaction that may drop deletes drops
// rows older than the TTL (NULL times never expire); others keep them.
func TestExecuteExpire(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_000)
	old, fresh := now.Add(-2*time.Hour).UnixMicro(), now.Add(-time.Minute).UnixMicro()
	for _, drop := range []bool{false, true} {
		fx := newFixture(t)
		in := fx.run(0, 0, false, 1<<20, []row{
			{id: 1, kind: types.Insert, v: "old", ts: old},
			{id: 2, kind: types.Insert, v: "fresh", ts: fresh},
			{id: 3, kind: types.Insert, v: "null"},
		})
		ex := fx.executor(droppingLastWins{}, Options{Expire: &Expire{Field: 2, After: time.Hour}})
		res, err := ex.Execute(ctx, Plan{Inputs: []Run{{0, in}}, OutputLevel: 5, DropDeletes: drop})
		if err != nil {
			t.Fatal(err)
		}
		got := fx.contents(res.Added)
		_, hasOld := got[1]
		if hasOld == drop || got[2] != "fresh" || got[3] != "null" || (res.Stats.Expired == 1) != drop {
			t.Errorf("drop=%v: %v, stats %+v", drop, got, res.Stats)
		}
	}
	if err := (&Options{Expire: &Expire{Field: 1, After: time.Hour}}).Validate(testSchema()); !errors.Is(err, types.ErrInvalid) {
		t.Errorf("TTL on a STRING column: %v", err)
	}
}

// TestExecuteFailureCleansUp: a corrupt input fails the execution and
// every output file written before the failure is deleted again.
func TestExecuteFailureCleansUp(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	long := strings.Repeat("y", 100)
	var rs []row
	for i := int64(0); i < 8000; i++ {
		rs = append(rs, row{id: i, kind: types.Insert, v: long})
	}
	run := fx.run(1, 0, false, 32<<10, rs)
	if len(run) < 3 {
		t.Fatalf("want a multi-file run, got %d files", len(run))
	}
	newer := fx.run(0, 10000, true, 1<<30, seqRows(0, 10, "n"))
	last := run[len(run)-1]
	data, _, _ := fx.store.Get(ctx, fx.root+last.Path)
	data[len(data)/2] ^= 0xff
	if _, err := fx.store.Put(ctx, fx.root+last.Path, data); err != nil {
		t.Fatal(err)
	}
	before, _ := fx.store.List(ctx, "")
	ex := fx.executor(lastWins{}, Options{TargetFileSize: 8 << 10, MaxBufferBytes: 64 << 10, UpgradeMinSize: 1 << 40})
	_, err := ex.Execute(ctx, Plan{Inputs: []Run{{0, newer}, {1, run}}, OutputLevel: 1})
	if !errors.Is(err, types.ErrCorruption) {
		t.Fatalf("Execute = %v, want ErrCorruption", err)
	}
	after, _ := fx.store.List(ctx, "")
	if len(after) != len(before) {
		t.Errorf("%d objects after a failed compaction, %d before: outputs were left behind", len(after), len(before))
	}
}

// TestExecuteNewerSchema: inputs written with a newer schema (the table was
// altered by another process) are merged with that schema, so the added
// column survives; without a way to load it the plan fails.
func TestExecuteNewerSchema(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	newer := testSchema()
	newer.ID = 4
	newer.Fields = append(newer.Fields, types.Field{ID: 3, Name: "extra", Type: types.TBigInt})
	newer.HighestFieldID = 3
	rec := record(t, row{id: 1, kind: types.Insert, v: "x"}, 7)
	rec.Row = append(rec.Row, int64(42))
	enc, err := lsm.WriteFiles([]lsm.Record{rec}, newer, lsm.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := DataFilePath("", 0, "newer")
	fx.store.Put(ctx, fx.root+path, enc[0].Data)
	in := []manifest.DataFile{{Path: path, Size: int64(len(enc[0].Data)), RowCount: 1, MinKey: enc[0].MinKey, MaxKey: enc[0].MaxKey,
		MinSeq: 7, MaxSeq: 7, SchemaID: 4}}
	old := fx.run(0, 0, false, 1<<20, seqRows(0, 3, "old"))
	plan := Plan{Inputs: []Run{{0, in}, {0, old}}, OutputLevel: 5}

	ex := fx.executor(lastWins{}, Options{})
	if _, err := ex.Execute(ctx, plan); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "schema 4") {
		t.Fatalf("Execute without ForSchema = %v", err)
	}
	ex = fx.executor(lastWins{}, Options{})
	ex.ForSchema = func(_ context.Context, id int64) (*types.Schema, lsm.Merger, error) {
		if id != 4 {
			t.Errorf("ForSchema(%d)", id)
		}
		return newer, lastWins{}, nil
	}
	res, err := ex.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Added[0]
	if f.SchemaID != 4 {
		t.Errorf("output schema %d, want 4", f.SchemaID)
	}
	data, _, _ := fx.store.Get(ctx, fx.root+f.Path)
	fr, err := lsm.OpenFile(ctx, bytes.NewReader(data), f.Size, newer, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for r, err := range fr.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(r.Row))
	}
	if strings.Join(got, " ") != "[0 old <nil> <nil>] [1 x <nil> 42] [2 old <nil> <nil>]" {
		t.Errorf("output rows %v", got)
	}
}
