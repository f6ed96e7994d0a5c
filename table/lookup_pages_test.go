package table

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestPagedLookupOracle: random writes, deletes, commits and compactions
// for every merge engine, with NULLs, long values (many pages per row
// group) and small row groups; after each commit every key (present,
// deleted, absent) is looked up by Get and GetMany through the metadata
// cache, whose cached footers make them read single pages by ranged
// reads, and compared with a full scan of the same snapshot (which reads
// whole row groups). Between lookups the metadata cache is wiped, or a
// byte of a data file is flipped in the store: a lookup must then answer
// as the scan did or fail with an error wrapping types.ErrCorruption.
func TestPagedLookupOracle(t *testing.T) {
	seed := testSeed(t)
	for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow} {
		t.Run(engine, func(t *testing.T) {
			h := fnv.New64a()
			h.Write([]byte(engine))
			runPagedLookup(t, rand.New(rand.NewPCG(seed, h.Sum64())), engine)
		})
	}
}

func runPagedLookup(t *testing.T, rng *rand.Rand, engine string) {
	ctx := context.Background()
	const keys = 200
	schema := modelSchema(engine, 1, false)
	schema.Options[OptRowGroupRows] = fmt.Sprint(40 + rng.IntN(300))
	schema.Options[OptWriteBufferSize] = "1mb"
	mem := objstore.NewMem()
	open := func() *Table {
		tb, err := Open("db.t", mem, "wh/db.db/t/", schema, Env{Meta: NewMetaCache(64 << 20)})
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	tb := open()
	corrupted, detected := 0, 0
	for commit := 0; commit < 4; commit++ {
		w := tb.NewWriter("w")
		for n := 50 + rng.IntN(300); n > 0; n-- {
			row := types.Row{[]string{"eu", "us"}[rng.IntN(2)], int32(rng.IntN(keys))}
			row = append(row, nil, nil, nil)
			if rng.IntN(4) > 0 {
				row[2] = rng.Int64N(1000)
			}
			if rng.IntN(4) > 0 {
				row[3] = strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(400))
			}
			if rng.IntN(4) > 0 {
				row[4] = types.Decimal(rng.Int64N(100000))
			}
			kind := types.Insert
			if rng.IntN(8) == 0 && engine != EngineAggregation && engine != EnginePartialUpdate {
				kind = types.Delete
			}
			mustWrite(t, w, kind, row)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(commit)); err != nil {
			t.Fatal(err)
		}
		w.Close(ctx)
		if rng.IntN(3) == 0 {
			if _, err := tb.Compact(ctx, CompactOptions{Full: rng.IntN(2) == 0}); err != nil {
				t.Fatal(err)
			}
		}
		snap, err := tb.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := scanState(t, tb, snap.ID)
		lookupAll := func(what string, tolerate bool) bool {
			t.Helper()
			var ks [][]types.Value
			for id := int32(-2); id < keys+2; id++ {
				for _, region := range []string{"eu", "us"} {
					ks = append(ks, []types.Value{region, id})
				}
			}
			rows, found, err := tb.GetMany(ctx, snap.ID, ks)
			if err != nil {
				if tolerate && errors.Is(err, types.ErrCorruption) {
					return true
				}
				t.Fatalf("%s: GetMany at %d: %v", what, snap.ID, err)
			}
			failed := false
			for i, k := range ks {
				w, wok := want[fmt.Sprint(k)]
				if found[i] != wok || wok && !rowsEqual(rows[i], w) {
					t.Fatalf("%s: GetMany %v at %d = %v,%v; the scan read %v,%v", what, k, snap.ID, rows[i], found[i], w, wok)
				}
				if rng.IntN(8) != 0 {
					continue // Get for a sample: each is a lookup of its own
				}
				row, ok, err := tb.Get(ctx, snap.ID, k...)
				if err != nil {
					if tolerate && errors.Is(err, types.ErrCorruption) {
						failed = true
						continue
					}
					t.Fatalf("%s: Get %v at %d: %v", what, k, snap.ID, err)
				}
				if ok != wok || ok && !rowsEqual(row, w) {
					t.Fatalf("%s: Get %v at %d = %v,%v; the scan read %v,%v", what, k, snap.ID, row, ok, w, wok)
				}
			}
			return failed
		}
		lookupAll(fmt.Sprintf("commit %d", commit), false)
		// A fresh metadata cache: footers read again, pages by ranged reads.
		tb = open()
		lookupAll(fmt.Sprintf("commit %d, cache wiped", commit), false)
		// A flipped byte in a data file: corruption or the right answer.
		_, files, err := tb.DataFiles(ctx, snap.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			f := files[rng.IntN(len(files))]
			key := tb.Root() + f.Path
			data, _, err := mem.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			bad := append([]byte(nil), data...)
			pos := 4 + rng.IntN(len(bad)*3/4)
			bad[pos] ^= byte(1 << rng.IntN(8))
			if _, err := mem.Put(ctx, key, bad); err != nil {
				t.Fatal(err)
			}
			corrupted++
			if lookupAll(fmt.Sprintf("commit %d, byte %d of %s flipped", commit, pos, f.Path), true) {
				detected++
			}
			if _, err := mem.Put(ctx, key, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d flips, %d detected by a lookup (the others outside what lookups read)", corrupted, detected)
}

// scanState returns the rows of a full scan at snapshot id by key.
func scanState(t *testing.T, tb *Table, id int64) map[string]types.Row {
	t.Helper()
	ctx := context.Background()
	s, err := tb.NewScan(ctx, ScanOptions{SnapshotID: id})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.Row{}
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint([]types.Value{row[0], row[1]})] = row
	}
	return out
}
