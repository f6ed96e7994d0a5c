package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestHiddenRowsOracle writes random histories (inserts, updates, -U/-D,
// several commits giving overlapping sorted runs, compactions, partitions,
// several buckets, record TTL with a moving clock, sequence.field, and
// ALTERs that widen, add, rename and drop columns) to deduplicate and
// first-row tables. At every snapshot, every record of every data file
// read by position, minus HiddenRows' positions, must be exactly the
// scan's rows at that snapshot (as a multiset, through Rows and Batches).
func TestHiddenRowsOracle(t *testing.T) {
	engines := []string{"deduplicate", "deduplicate+seq", "first-row", "first-row+seq"}
	for _, seed := range testkit.Seeds(t, 2) {
		for _, engine := range engines {
			t.Run(fmt.Sprintf("%d/%s", seed, engine), func(t *testing.T) {
				testkit.LogSeed(t, seed)
				rng := rand.New(rand.NewPCG(seed, uint64(len(engine))))
				runHiddenModel(t, rng, engine)
			})
		}
	}
}

// hiddenSchemaV3 is v2 after a second ALTER: a column renamed (same field
// id) and two dropped.
func hiddenSchemaV3(v2 *types.Schema) *types.Schema {
	s := engineSchemaLike(v2)
	var fields []types.Field
	for _, f := range s.Fields {
		switch f.Name {
		case "note":
			f.Name = "remark"
		case "d", "blob":
			continue
		}
		fields = append(fields, f)
	}
	s.Fields = fields
	return s
}

// hiddenClock is the moving clock of the TTL cases.
type hiddenClock struct{ now time.Time }

func (c *hiddenClock) Now() time.Time { return c.now }

func runHiddenModel(t *testing.T, rng *rand.Rand, engine string) {
	ctx := context.Background()
	store := objstore.NewMem()
	v1 := batchSchemaV1(engine, rng)
	if rng.IntN(2) == 0 {
		v1.Options[OptBucket] = fmt.Sprint(2 + rng.IntN(3))
	}
	v2 := batchSchemaV2(v1)
	v3 := hiddenSchemaV3(v2)
	loader := &batchSchemas{byID: map[int64]*types.Schema{}}
	clock := &hiddenClock{now: batchTestNow}
	env := Env{Now: clock.Now, Schemas: loader}
	keys := 5 + rng.IntN(60)
	var snaps []*manifest.Snapshot
	var tb *Table
	checked := 0
	for phase, schema := range []*types.Schema{v1, v2, v3} {
		loader.byID[schema.ID], loader.latest = schema, schema
		var err error
		if tb, err = Open("db.t", store, "t/", schema, env); err != nil {
			t.Fatal(err)
		}
		for c := 0; c < 2+rng.IntN(4); c++ {
			w := tb.NewWriter("w")
			for i := rng.IntN(120); i > 0; i-- {
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
			if _, err := w.Commit(ctx, fmt.Sprint(phase, c)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(4) == 0 {
				if _, err := tb.Compact(ctx, CompactOptions{Full: rng.IntN(2) == 0}); err != nil {
					t.Fatalf("compact: %v", err)
				}
			}
			latest, err := tb.Latest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if latest != nil && (len(snaps) == 0 || snaps[len(snaps)-1].ID != latest.ID) {
				snaps = append(snaps, latest)
			}
			// The latest and a random earlier snapshot, now and (TTL)
			// a little later: the cache must re-judge the TTL.
			for _, s := range pickSnapshots(rng, snaps) {
				checked += checkHiddenRows(t, tb, s, fmt.Sprintf("phase %d commit %d snapshot %d", phase, c, s.ID))
			}
			clock.now = clock.now.Add(time.Duration(rng.IntN(30)) * time.Minute)
		}
	}
	for _, s := range snaps { // every snapshot with the newest schema
		checked += checkHiddenRows(t, tb, s, fmt.Sprintf("final snapshot %d", s.ID))
	}
	if checked == 0 {
		t.Log("no rows compared")
	}
}

func pickSnapshots(rng *rand.Rand, snaps []*manifest.Snapshot) []*manifest.Snapshot {
	if len(snaps) == 0 {
		return nil
	}
	out := []*manifest.Snapshot{snaps[len(snaps)-1]}
	if len(snaps) > 1 {
		out = append(out, snaps[rng.IntN(len(snaps)-1)])
	}
	return out
}

// checkHiddenRows compares the data files of snap minus HiddenRows with
// the scan of snap; it returns the number of rows compared.
func checkHiddenRows(t *testing.T, tb *Table, snap *manifest.Snapshot, what string) int {
	t.Helper()
	ctx := context.Background()
	hidden, err := tb.HiddenRows(ctx, snap)
	if err != nil {
		t.Fatalf("%s: HiddenRows: %v", what, err)
	}
	files, err := tb.Meta().Files(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	inSnap := map[string]bool{}
	var got []string
	for _, f := range files {
		inSnap[f.Path] = true
		pos := hidden[f.Path]
		if hp, ok := hidden[f.Path]; ok && len(hp) == 0 {
			t.Fatalf("%s: file %s listed with no positions", what, f.Path)
		}
		fr, err := tb.openFile(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(pos); i++ {
			if pos[i] <= pos[i-1] {
				t.Fatalf("%s: file %s: positions not ascending: %v", what, f.Path, pos)
			}
		}
		if len(pos) > 0 && (pos[0] < 0 || pos[len(pos)-1] >= fr.RowCount()) {
			t.Fatalf("%s: file %s of %d rows: positions out of range: %v", what, f.Path, fr.RowCount(), pos)
		}
		var i int64
		for rec, err := range fr.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if len(pos) > 0 && pos[0] == i {
				pos = pos[1:]
			} else {
				got = append(got, hiddenRowString(rec.Row))
			}
			i++
		}
	}
	for p := range hidden {
		if !inSnap[p] {
			t.Fatalf("%s: HiddenRows names %s, which is not a data file of the snapshot", what, p)
		}
	}
	s, err := tb.NewScan(ctx, ScanOptions{SnapshotID: snap.ID})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close(ctx) }()
	var want []string
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatalf("%s: scan: %v", what, err)
		}
		want = append(want, hiddenRowString(row))
	}
	var batches []string
	for rec, err := range s.Batches(ctx) {
		if err != nil {
			t.Fatalf("%s: Batches: %v", what, err)
		}
		for _, row := range types.RecordRows(rec) {
			batches = append(batches, hiddenRowString(row))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	slices.Sort(batches)
	if d := diffMultisets(got, want); d != "" {
		t.Fatalf("%s: data files minus hidden rows differ from the scan (%d rows vs %d):\n%s", what, len(got), len(want), d)
	}
	if d := diffMultisets(batches, want); d != "" {
		t.Fatalf("%s: Batches differ from Rows:\n%s", what, d)
	}
	return len(want)
}

func hiddenRowString(r types.Row) string {
	var b strings.Builder
	for i, v := range r {
		if i > 0 {
			b.WriteString(" | ")
		}
		fmt.Fprintf(&b, "%T:%v", v, v)
	}
	return b.String()
}

// diffMultisets describes how two sorted lists differ ("" when equal).
func diffMultisets(got, want []string) string {
	var d []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			d = append(d, "extra   "+got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			d = append(d, "missing "+want[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("… %d more", len(d)-10))
	}
	return strings.Join(d, "\n")
}

// TestHiddenRowsEngines: the engines that merge columns across records
// have no single stored record per row and are refused.
func TestHiddenRowsEngines(t *testing.T) {
	for _, engine := range []string{"partial-update", "aggregation"} {
		s := batchSchemaV1(engine, rand.New(rand.NewPCG(1, 1)))
		tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tb.HiddenRows(context.Background(), &manifest.Snapshot{ID: 1})
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), engine) {
			t.Fatalf("%s: HiddenRows = %v, want ErrInvalid naming the engine", engine, err)
		}
	}
}

// TestHiddenRowsCache: a second call for the same files reads no data
// file, and after a commit to one bucket only that bucket's files are
// read again.
func TestHiddenRowsCache(t *testing.T) {
	ctx := context.Background()
	fault := objstore.NewFault(objstore.NewMem())
	const buckets = 4
	tb, err := Open("db.t", fault, "t/", simpleSchema(buckets), Env{})
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 2; c++ {
		w := tb.NewWriter("w")
		for i := int64(0); i < 200; i++ {
			mustWrite(t, w, types.Insert, types.Row{i, fmt.Sprint(c)})
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := tb.HiddenRows(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	if n := countPositions(first); n != 200 {
		t.Fatalf("%d hidden rows, want the 200 overwritten ones", n)
	}
	fault.Add(objstore.Rule{KeyContains: "/data/", Err: objstore.ErrInjected}) // every data file read fails
	again, err := tb.HiddenRows(ctx, snap)
	if err != nil {
		t.Fatalf("second call read data files: %v", err)
	}
	if !hiddenEqual(first, again) {
		t.Fatalf("cached answer %v differs from the first %v", again, first)
	}
	fault.Clear()

	w := tb.NewWriter("w")
	mustWrite(t, w, types.Delete, types.Row{int64(7), nil})
	next, err := w.Commit(ctx, "delete")
	if err != nil {
		t.Fatal(err)
	}
	before, err := tb.Meta().Files(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	after, err := tb.Meta().Files(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	changed := map[int]bool{}
	for _, f := range after {
		if !slices.ContainsFunc(before, func(g manifest.DataFile) bool { return g.Path == f.Path }) {
			changed[f.Bucket] = true
		}
	}
	if len(changed) != 1 {
		t.Fatalf("the delete changed buckets %v, want one", changed)
	}
	for b := range buckets {
		if !changed[b] {
			fault.Add(objstore.Rule{KeyContains: fmt.Sprintf("/data/bucket-%d/", b), Err: objstore.ErrInjected})
		}
	}
	if _, err := tb.HiddenRows(ctx, next); err != nil {
		t.Fatalf("unchanged buckets were read again: %v", err)
	}
	fault.Clear()
	checkHiddenRows(t, tb, next, "after the delete")
}

// TestHiddenCacheBound: the cache evicts the least recently used answers
// beyond its budget and refuses answers larger than it.
func TestHiddenCacheBound(t *testing.T) {
	c := newHiddenCache(1000)
	res := func(n int64) *bucketResult { return &bucketResult{bytes: n} }
	a, b, d := [32]byte{1}, [32]byte{2}, [32]byte{3}
	c.put(a, res(400))
	c.put(b, res(400))
	if c.get(a, nil) == nil { // a is now the most recently used
		t.Fatal("a evicted early")
	}
	c.put(d, res(400))
	if c.get(b, nil) != nil || c.get(a, nil) == nil || c.get(d, nil) == nil {
		t.Fatal("want b (least recently used) evicted, a and d kept")
	}
	c.put([32]byte{4}, res(2000))
	if c.get([32]byte{4}, nil) != nil || c.used > c.budget {
		t.Fatalf("an answer over the budget was cached (used %d)", c.used)
	}
	ordered := &bucketResult{bytes: 10, order: []string{"x", "y"}}
	c.put(a, ordered)
	if c.get(a, []manifest.DataFile{{Path: "y"}, {Path: "x"}}) != nil {
		t.Fatal("an order-dependent answer was returned for another file order")
	}
	if c.get(a, []manifest.DataFile{{Path: "x"}, {Path: "y"}}) == nil {
		t.Fatal("an order-dependent answer was not returned for its order")
	}
}

func countPositions(m map[string][]int64) int {
	n := 0
	for _, p := range m {
		n += len(p)
	}
	return n
}

func hiddenEqual(a, b map[string][]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
