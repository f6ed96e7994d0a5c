package lsm

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// fastPickLast is deduplicate without a sequence field: the last record,
// a tombstone unless +I/+U, Reset cleared (as the table's engine).
type fastPickLast struct{}

func (fastPickLast) PickRule() PickRule { return PickLast }
func (fastPickLast) Merge(recs []Record) Record {
	r := recs[len(recs)-1]
	if !r.Kind.IsAdd() {
		r.Kind = types.Delete
	}
	r.Reset = false
	return r
}

// fastPickFirst is first-row without a sequence field.
type fastPickFirst struct{}

func (fastPickFirst) PickRule() PickRule { return PickFirstAdd }
func (fastPickFirst) Merge(recs []Record) Record {
	for _, r := range recs {
		if r.Kind.IsAdd() {
			r.Reset = false
			return r
		}
	}
	r := recs[len(recs)-1]
	r.Kind, r.Reset = types.Delete, false
	return r
}

// fastConcat builds a new row from every record: no Picker, so every key
// goes through Merge.
type fastConcat struct{}

func (fastConcat) Merge(recs []Record) Record {
	r := recs[len(recs)-1]
	var s string
	for _, x := range recs {
		s += fmt.Sprintf("%v/%d/%d;", x.Row[1], x.Seq, x.Kind)
	}
	r.Row = types.Row{recs[0].Row[0], s}
	return r
}

// referenceMerge is the merge without any fast path: every record of
// every source sorted by (key, seq, source), each key's records merged
// with Merge.
func referenceMerge(srcs [][]Record, merger Merger, keepDeletes bool) []Record {
	type at struct {
		r   Record
		src int
	}
	var all []at
	for i, s := range srcs {
		for _, r := range s {
			all = append(all, at{r, i})
		}
	}
	slices.SortStableFunc(all, func(a, b at) int {
		if c := compareRecords(&a.r, &b.r); c != 0 {
			return c
		}
		return cmp.Compare(a.src, b.src)
	})
	var out []Record
	for i := 0; i < len(all); {
		j := i
		var group []Record
		for ; j < len(all) && bytes.Equal(all[j].r.Key, all[i].r.Key); j++ {
			group = append(group, all[j].r)
		}
		i = j
		r := mergeKey(merger, group)
		if keepDeletes || r.Kind.IsAdd() {
			out = append(out, r)
		}
	}
	return out
}

// TestMergeSourcesFastPaths compares mergeSources (which keeps the top
// cursor without sifting, ends a key's group without comparing keys when
// the top stays, and takes a Picker's single records without Merge) with
// referenceMerge over random sorted runs: runs of very different sizes,
// keys in several runs, several records of a key in one run, equal
// sequence numbers across runs, tombstones, Reset and unmerged records,
// for picking and non-picking mergers.
func TestMergeSourcesFastPaths(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 48))
			for round := range 20 {
				keys := 1 + rng.IntN(300)
				srcs := make([][]Record, 1+rng.IntN(6))
				for i := range srcs {
					n := rng.IntN(1 + []int{5, 50, 500}[rng.IntN(3)])
					seq := int64(rng.IntN(3))
					var ids []int64
					for range n {
						ids = append(ids, rng.Int64N(int64(keys)))
					}
					slices.Sort(ids)
					for _, id := range ids {
						if rng.IntN(3) > 0 {
							seq += int64(rng.IntN(3)) // equal seqs too
						}
						row := types.Row{id, fmt.Sprintf("v%d-%d", i, rng.IntN(100))}
						key, err := types.EncodeRowKey(nil, row, []int{0})
						if err != nil {
							t.Fatal(err)
						}
						kind := []types.RowKind{types.Insert, types.UpdateAfter, types.UpdateAfter, types.UpdateAfter, types.UpdateBefore, types.Delete}[rng.IntN(6)]
						srcs[i] = append(srcs[i], Record{Key: key, Seq: seq, Kind: kind, Row: row,
							Merged: rng.IntN(10) > 0, Reset: rng.IntN(8) == 0})
					}
					// A run's records are sorted by (key, seq).
					slices.SortStableFunc(srcs[i], func(a, b Record) int { return compareRecords(&a, &b) })
				}
				merger := []Merger{fastPickLast{}, fastPickFirst{}, fastConcat{}}[rng.IntN(3)]
				keepDeletes := rng.IntN(2) == 0
				want := referenceMerge(srcs, merger, keepDeletes)
				sources := make([]RecordSource, len(srcs))
				for i, s := range srcs {
					sources[i] = func() (Record, bool, error) {
						if len(s) == 0 {
							return Record{}, false, nil
						}
						r := s[0]
						s = s[1:]
						return r, true, nil
					}
				}
				var got []Record
				for r, err := range MergeSources(context.Background(), sources, merger, keepDeletes) {
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					got = append(got, r)
				}
				if len(got) != len(want) {
					t.Fatalf("round %d (%T, %d runs): %d records, want %d", round, merger, len(srcs), len(got), len(want))
				}
				for i := range got {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("round %d (%T, %d runs): record %d is\n%+v\nwant\n%+v", round, merger, len(srcs), i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestMergeSourcesUnsortedFastPath: a run out of order is reported when
// its cursor stays on top without a sift too.
func TestMergeSourcesUnsortedFastPath(t *testing.T) {
	rec := func(id, seq int64) Record {
		row := types.Row{id, "v"}
		key, err := types.EncodeRowKey(nil, row, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		return Record{Key: key, Seq: seq, Kind: types.Insert, Row: row, Merged: true}
	}
	for _, bad := range [][]Record{
		{rec(1, 1), rec(2, 1), rec(3, 5), rec(3, 4)}, // seq backwards within a key
		{rec(1, 1), rec(3, 1), rec(2, 1)},            // key backwards
	} {
		srcs := [][]Record{bad, {rec(100, 1)}}
		sources := make([]RecordSource, len(srcs))
		for i, s := range srcs {
			sources[i] = func() (Record, bool, error) {
				if len(s) == 0 {
					return Record{}, false, nil
				}
				r := s[0]
				s = s[1:]
				return r, true, nil
			}
		}
		var err error
		for _, e := range MergeSources(context.Background(), sources, fastPickLast{}, true) {
			if e != nil {
				err = e
			}
		}
		if !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("unsorted run merged without ErrInvalid: %v", err)
		}
	}
}
