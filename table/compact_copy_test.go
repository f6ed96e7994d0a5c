package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestCompactionRowGroupCopy: for every merge engine, a table whose
// compactions copy row groups reads the same as one whose compactions
// decode everything and as one that never compacts, after every commit
// and compaction of a random changelog whose batches cover partly
// overlapping key intervals; and row groups are copied.
func TestCompactionRowGroupCopy(t *testing.T) {
	ctx := context.Background()
	seed := testSeed(t)
	for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow} {
		t.Run(engine, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 41))
			open := func(name string, opts map[string]string) *Table {
				s := modelSchema(engine, 1, false)
				s.Options[OptWriteBufferSize] = "64kb"
				s.Options[OptCompactionTrigger] = "3"
				s.Options[OptWriteOnly] = "true"
				// Picks must not depend on file sizes: a copied row group
				// keeps its original encoding, so the two tables' files
				// differ in size, and size-based picks would let their
				// compaction histories (and the records they read)
				// diverge. With these bounds every triggered compaction
				// merges all runs, in both tables alike.
				s.Options[OptSizeRatio] = "100000"
				s.Options[OptMaxSizeAmp] = "1000000"
				// One codec at every level: a row group is copied only
				// into a file of its own codec, and this test is about
				// copying (TestCompressionPerLevelModel covers row groups
				// re-encoded across codecs, as level 0's default SNAPPY
				// ones are).
				s.Options[OptCompressionPerLevel] = ""
				for k, v := range opts {
					s.Options[k] = v
				}
				tb, err := Open("db."+name, objstore.NewMem(), name+"/", s, Env{})
				if err != nil {
					t.Fatal(err)
				}
				return tb
			}
			withCopy := open("copy", nil)
			noCopy := open("nocopy", map[string]string{OptCopyRowGroups: "false"})
			ref := open("ref", map[string]string{OptCompactionTrigger: "1000"})
			var copied, decoded compaction.Stats
			// step writes batch to the three tables, compacts two of them
			// and compares all three.
			step := func(c int, batch []func(w *Writer), full bool) {
				for _, tb := range []*Table{withCopy, noCopy, ref} {
					w := tb.NewWriter("w")
					for _, b := range batch {
						b(w)
					}
					if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
						t.Fatal(err)
					}
				}
				for _, tb := range []*Table{withCopy, noCopy} {
					rep, err := tb.Compact(ctx, CompactOptions{Full: full})
					if err != nil {
						t.Fatal(err)
					}
					if tb == withCopy {
						copied.Add(rep.Stats)
					} else {
						decoded.Add(rep.Stats)
					}
				}
				want := scanAll(t, ref)
				if got := scanAll(t, withCopy); got != want {
					t.Fatalf("commit %d (full %t), with row-group copying:\n got  %s\n want %s", c, full, got, want)
				}
				if got := scanAll(t, noCopy); got != want {
					t.Fatalf("commit %d (full %t), without row-group copying:\n got  %s\n want %s", c, full, got, want)
				}
			}
			for c := range 14 {
				from := rng.IntN(900)
				n := 20 + rng.IntN(300)
				var batch []func(w *Writer)
				changes := rng.IntN(3) == 0 // this batch deletes and retracts
				for id := from; id < from+n; id++ {
					if rng.IntN(6) == 0 {
						continue
					}
					r := randRow(rng, 1)
					r[0], r[1] = "eu", int32(id)
					kind := types.Insert
					switch x := rng.IntN(10); {
					case changes && x == 0:
						kind, r[3] = types.Delete, nil
					case changes && x == 1:
						kind = types.UpdateBefore
					case x == 2:
						kind = types.UpdateAfter
					}
					batch = append(batch, put(kind, r...))
				}
				step(c, batch, rng.IntN(4) == 0)
			}
			// Whatever the random commits overlapped, the data ends with a
			// compacted range of fresh keys and then a commit of another
			// fresh range: the first range's row groups overlap nothing the
			// second compaction merges, so they are copied (with every
			// engine: they hold merged records).
			for c, from := range []int{5000, 6000} {
				var batch []func(w *Writer)
				for id := from; id < from+300; id++ {
					r := randRow(rng, 1)
					r[0], r[1] = "eu", int32(id)
					batch = append(batch, put(types.Insert, r...))
				}
				step(14+c, batch, true)
			}
			t.Logf("with copying: %d row groups copied (%d rows), %d merged; without: %d merged",
				copied.RowGroupsCopied, copied.RowsCopied, copied.RowGroupsMerged, decoded.RowGroupsMerged)
			if copied.RowGroupsCopied == 0 || decoded.RowGroupsCopied != 0 || copied.RecordsRead != decoded.RecordsRead {
				t.Errorf("with copying %+v\nwithout %+v", copied, decoded)
			}
		})
	}
}
