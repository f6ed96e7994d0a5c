package table

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestGetManyOracle: random writes, deletes, commits and compactions
// (several sorted runs, buckets and partitions); after each commit,
// GetMany of a random key set (present, absent, deleted and repeated
// keys) at the latest snapshot and at random older ones must answer each
// key as Get and the model do: through the lookup index, without it, and
// with a staleness bound. Between lookups the index directory is wiped or
// its files corrupted.
func TestGetManyOracle(t *testing.T) {
	seed := testSeed(t)
	for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow} {
		for _, buckets := range []int{1, 3} {
			name := fmt.Sprintf("%s/buckets=%d", engine, buckets)
			t.Run(name, func(t *testing.T) {
				h := fnv.New64a()
				h.Write([]byte(name))
				runGetManyModel(t, rand.New(rand.NewPCG(seed, h.Sum64())), engine, buckets, 10)
			})
		}
	}
}

func runGetManyModel(t *testing.T, rng *rand.Rand, engine string, buckets, commits int) {
	ctx := context.Background()
	const keys = 30
	schema := modelSchema(engine, buckets, buckets > 1)
	schema.Options[OptWriteOnly] = "true"
	schema.Options[OptStopTrigger] = "10000"
	store := objstore.NewMem()
	localDir := t.TempDir()
	reg := NewLookupIndexes()
	defer func() { reg.Close() }()
	tb := indexedTable(t, store, schema, localDir, reg)
	plain, err := Open("db.t", store, "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	dir := tb.lk.dir("")
	m := &model{engine: engine, state: map[modelKey]types.Row{}}
	history := map[int64]map[modelKey]types.Row{}
	var ids []int64
	var fromIndex, fromFiles int

	randKeys := func() ([][]types.Value, []modelKey) {
		n := rng.IntN(40)
		var ks [][]types.Value
		var mk []modelKey
		for range n {
			k := modelKey{[]string{"eu", "us", "ap", "a/b c"}[rng.IntN(4)], int32(rng.IntN(keys + 3))}
			if len(mk) > 0 && rng.IntN(5) == 0 {
				k = mk[rng.IntN(len(mk))] // a duplicate
			}
			mk = append(mk, k)
			ks = append(ks, []types.Value{k.region, k.id})
		}
		return ks, mk
	}
	check := func(name string, view *Table, id int64, want map[modelKey]types.Row) {
		t.Helper()
		ks, mk := randKeys()
		rows, found, st, err := view.GetManyStats(ctx, id, ks)
		if err != nil {
			t.Fatalf("%s: GetMany at %d: %v", name, id, err)
		}
		if len(rows) != len(ks) || len(found) != len(ks) {
			t.Fatalf("%s: GetMany at %d: %d rows, %d found for %d keys", name, id, len(rows), len(found), len(ks))
		}
		fromIndex += st.FromIndex
		fromFiles += st.Distinct - st.FromIndex
		for i, k := range mk {
			w, wok := want[k]
			if found[i] != wok || (wok && !rowsEqual(rows[i], w)) {
				t.Fatalf("%s: GetMany key %d %v at snapshot %d: got %v,%v want %v,%v", name, i, k, id, rows[i], found[i], w, wok)
			}
			row, ok, err := plain.Get(ctx, id, k.region, k.id)
			if err != nil {
				t.Fatal(err)
			}
			if ok != found[i] || (ok && !rowsEqual(row, rows[i])) {
				t.Fatalf("%s: key %v at %d: GetMany %v,%v, Get %v,%v", name, k, id, rows[i], found[i], row, ok)
			}
		}
	}

	// checkBounded: with a staleness bound, GetMany at latest answers
	// every key as of one snapshot that was the latest within the bound
	// (here: any of the run, all keys from the same one).
	checkBounded := func(view *Table) {
		t.Helper()
		ks, mk := randKeys()
		rows, found, err := view.GetMany(ctx, 0, ks)
		if err != nil {
			t.Fatalf("bounded: GetMany: %v", err)
		}
		for _, id := range ids {
			ok := true
			for i, k := range mk {
				w, wok := history[id][k]
				if found[i] != wok || (wok && !rowsEqual(rows[i], w)) {
					ok = false
					break
				}
			}
			if ok {
				return
			}
		}
		t.Fatalf("bounded: GetMany of %v at latest matches no snapshot of the run: %v %v", mk, rows, found)
	}

	w := tb.NewWriter("model")
	for c := 1; c <= commits; c++ {
		for range rng.IntN(60) {
			r := randRow(rng, keys)
			kind := types.Insert
			switch p := rng.IntN(10); {
			case p < 3:
				kind = types.Delete
			case p < 5:
				kind = types.UpdateAfter
			}
			if err := w.Write(ctx, kind, r); err != nil {
				t.Fatal(err)
			}
			m.apply(kind, r)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(4) == 0 {
			if _, err := tb.Compact(ctx, CompactOptions{Full: rng.IntN(2) == 0}); err != nil {
				t.Fatal(err)
			}
		}
		latest, err := tb.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if latest == nil {
			continue
		}
		if _, seen := history[latest.ID]; !seen {
			ids = append(ids, latest.ID)
		}
		history[latest.ID] = m.clone()

		check("indexed", tb, 0, m.state)
		check("plain", plain, 0, m.state)
		checkBounded(tb.WithMaxStaleness(time.Hour))
		for range 3 {
			id := ids[rng.IntN(len(ids))]
			check("indexed", tb, id, history[id])
			check("plain", plain, id, history[id])
			check("bounded", tb.WithMaxStaleness(time.Hour), id, history[id])
		}
		switch rng.IntN(4) {
		case 0: // wiped while the process runs, between lookups
			if err := reg.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			reg = NewLookupIndexes()
			tb = indexedTable(t, store, schema, localDir, reg)
			w = tb.NewWriter("model")
		case 1: // corrupted on disk, found by the next process
			if err := reg.Close(); err != nil {
				t.Fatal(err)
			}
			corruptDir(t, rng, filepath.Join(dir, "db"))
			reg = NewLookupIndexes()
			tb = indexedTable(t, store, schema, localDir, reg)
			w = tb.NewWriter("model")
		}
		check("indexed after chaos", tb, 0, m.state)
	}
	t.Logf("%d snapshots; distinct keys from the index %d, from files %d", len(ids), fromIndex, fromFiles)
	if fromIndex == 0 || fromFiles == 0 {
		t.Fatalf("one path never answered: index %d, files %d", fromIndex, fromFiles)
	}
}

// TestGetManyReadsRowGroupsOnce: without the index, GetMany of every key
// of a compacted table reads each page at most once (at most one GET per
// distinct page touched, plus the footers), far fewer than one Get per
// key.
func TestGetManyReadsRowGroupsOnce(t *testing.T) {
	for _, n := range []int{2000, 40000} { // small files are read whole; large ones by row group
		t.Run(fmt.Sprint(n), func(t *testing.T) { testGetManyReads(t, n) })
	}
}

func testGetManyReads(t *testing.T, n int) {
	ctx := context.Background()
	schema := modelSchema(EngineDeduplicate, 1, false)
	schema.Options[OptWriteBufferSize] = "256mb"
	schema.Options[OptRowGroupRows] = fmt.Sprint(n / 40)
	base := objstore.NewMem()
	cs := &getCountingStore{Store: base}
	tb, err := Open("db.t", cs, "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	var ks [][]types.Value
	rng := rand.New(rand.NewPCG(1, 2))
	pad := make([]byte, 256)
	for i := range n {
		for j := range pad {
			pad[j] = byte('a' + rng.IntN(26)) // incompressible enough
		}
		r := types.Row{"eu", int32(i), int64(i), string(pad), nil}
		if err := w.Write(ctx, types.Insert, r); err != nil {
			t.Fatal(err)
		}
		if i%37 == 0 {
			ks = append(ks, []types.Value{"eu", int32(i)})
		}
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	ks = append(ks, []types.Value{"eu", int32(n + 5)}, ks[0]) // absent, duplicate
	_, files, err := tb.DataFiles(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Logf("data file of %d bytes", f.Size)
	}
	cs.dataGets.Store(0)
	rows, found, st, err := tb.GetManyStats(ctx, 0, ks)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range ks {
		id := k[1].(int32)
		if found[i] != (int(id) < n) || (found[i] && rows[i][2] != int64(id)) {
			t.Fatalf("key %v: %v,%v", k, rows[i], found[i])
		}
	}
	gets := int(cs.dataGets.Load())
	t.Logf("%d keys: %+v, %d data-file GETs", len(ks), st, gets)
	if st.RowGroups == 0 || st.Pages == 0 || gets > st.Pages+2*st.FilesOpened || gets != st.Reads {
		t.Fatalf("%d data GETs for %d distinct pages of %d row groups in %d files (stats say %d reads)", gets, st.Pages, st.RowGroups, st.FilesOpened, st.Reads)
	}
	if st.RowGroups > 40+2*st.FilesOpened {
		t.Fatalf("%d row groups read, the table has about 40", st.RowGroups)
	}
	if n > 10000 && gets < 10 {
		t.Fatalf("%d GETs: the large file was read whole", gets)
	}
}

// TestGetManyBadKeys: a malformed key fails the call with ErrInvalid
// naming it; an empty key list answers nothing.
func TestGetManyBadKeys(t *testing.T) {
	ctx := context.Background()
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", modelSchema(EngineDeduplicate, 1, false), Env{})
	if err != nil {
		t.Fatal(err)
	}
	rows, found, err := tb.GetMany(ctx, 0, nil)
	if err != nil || len(rows) != 0 || len(found) != 0 {
		t.Fatalf("empty: %v %v %v", rows, found, err)
	}
	for _, ks := range [][][]types.Value{{{"eu"}}, {{"eu", 1}, {"eu", "x"}}, {{nil, 1}}} {
		if _, _, err := tb.GetMany(ctx, 0, ks); err == nil {
			t.Fatalf("%v: no error", ks)
		} else {
			t.Log(err)
		}
	}
	if _, _, err := tb.GetMany(ctx, -1, [][]types.Value{{"eu", 1}}); err == nil {
		t.Fatal("negative snapshot id: no error")
	}
}
